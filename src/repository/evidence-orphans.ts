import type { Statement } from './evidence.js';
import { readObject } from './evidence.js';
import { CHECKS_PREFIX, DRILLS_PREFIX, REPORTS_PREFIX, SNAPSHOTS_PREFIX, snapshotIdOfManifestKey } from './layout.js';
import { repoError } from './repository.js';
import type { Storage } from './storage.js';

/**
 * The other direction of completeness: a document a run leaves behind (a manifest, a drill record,
 * a stored check or audit report) must be cited by some record once the chain exists. A document
 * nobody cites is a run whose record was deleted (or whose append failed) — the one deletion a
 * hash chain alone cannot see when it is the last record.
 */
const jsonUnder = (prefix: string) => (key: string) =>
  key.startsWith(prefix) && /^[^/]+\.json$/.test(key.slice(prefix.length));
const DOCUMENTS: Array<{
  prefix: string;
  is: (key: string) => boolean;
  time: (doc: Record<string, unknown>) => unknown;
}> = [
  { prefix: SNAPSHOTS_PREFIX, is: (k) => snapshotIdOfManifestKey(k) !== undefined, time: (d) => d.created_at },
  { prefix: DRILLS_PREFIX, is: jsonUnder(DRILLS_PREFIX), time: (d) => d.finished_at },
  { prefix: CHECKS_PREFIX, is: jsonUnder(CHECKS_PREFIX), time: (d) => d.generated_at },
  { prefix: REPORTS_PREFIX, is: jsonUnder(REPORTS_PREFIX), time: (d) => d.generated_at },
];

export async function findUncited(
  storage: Storage,
  records: Array<{ entry: { statement: Statement } | null }>,
  chainStart: number,
): Promise<{ after: Array<{ key: string; time: number }>; before: number }> {
  const cited = new Set<string>();
  for (const r of records)
    for (const c of r.entry?.statement.predicate.barysafe.cites ?? [])
      if (typeof c?.name === 'string') cited.add(c.name);
  const after: Array<{ key: string; time: number }> = [];
  let before = 0;
  for (const d of DOCUMENTS) {
    const keys: string[] = [];
    try {
      for await (const o of storage.list(d.prefix)) if (d.is(o.key) && !cited.has(o.key)) keys.push(o.key);
    } catch (e) {
      throw repoError(storage, e);
    }
    for (const key of keys.sort()) {
      let time = NaN;
      try {
        time = Date.parse(String(d.time(JSON.parse((await readObject(storage, key)).toString('utf8')))));
      } catch {
        /* unreadable: treat as after the chain start, so it is looked at */
      }
      if (Number.isFinite(time) && time < chainStart) before++;
      else after.push({ key, time: Number.isFinite(time) ? time : Infinity });
    }
  }
  return { after, before };
}
