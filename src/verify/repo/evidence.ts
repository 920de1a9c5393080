import type { Signer } from '../../crypto/signing.js';
import { appendEvidence, type AppendedEvidence, type DocumentRef, type Outcome } from '../../repository/evidence.js';
import { manifestKey } from '../../repository/layout.js';
import type { GoodSnapshot } from '../../repository/repository.js';
import type { Storage } from '../../repository/storage.js';
import type { VerifyTier } from '../../repository/verify-record.js';
import type { VerifyResult } from './types.js';

/** The evidence chain's names for the tiers (docs/EVIDENCE.md). */
const TIER: Record<VerifyTier, 'inventory' | 'sample' | 'full'> = {
  inventory: 'inventory',
  'read-data-subset': 'sample',
  'read-data': 'full',
};

const OUTCOME: Record<VerifyResult['verdict'], Outcome> = { pass: 'pass', fail: 'fail', inconclusive: 'inconclusive' };

/**
 * One evidence record per verify run: about the manifests it verified (subject), citing them and
 * the signed verify record, with the per-snapshot counts the predicate type defines.
 */
export async function appendVerifyEvidence(
  storage: Storage,
  signer: Signer,
  r: VerifyResult,
  record: { key: string; sha256: string },
  entries: readonly GoodSnapshot[],
  startedAt: Date,
  finishedAt: Date,
): Promise<AppendedEvidence> {
  const doc = (name: string, sha256: string): DocumentRef => ({
    name,
    digest: { sha256 },
    mediaType: 'application/json',
  });
  const manifests = entries.map((e) => doc(manifestKey(e.id), e.sha256));
  const snapshots = r.snapshots.map((s) => {
    const artifacts = s.objects.filter((o) => o.kind !== 'manifest');
    const checked = artifacts.filter((o) => (r.tier === 'inventory' ? o.checks.length > 0 : o.checks.includes('data')));
    return {
      id: s.id,
      manifest: s.manifest_sha256 ? doc(manifestKey(s.id), s.manifest_sha256) : null,
      ok: s.ok,
      objectsChecked: checked.length,
      objectsTotal: artifacts.length,
      bytesRead: s.objects.reduce((n, o) => n + o.bytes_read, 0),
      problems: s.problems,
    };
  });
  const objectsChecked = snapshots.reduce((n, s) => n + s.objectsChecked, 0);
  const objectsTotal = snapshots.reduce((n, s) => n + s.objectsTotal, 0);
  const summary =
    `${r.snapshots.length} snapshot(s), ${TIER[r.tier]}${r.subset ? ` slice ${r.subset.n}/${r.subset.t}` : ''}: ` +
    (r.problems.length ? `${r.problems.length} problem(s), first: ${r.problems[0]}` : 'sound') +
    (r.egress.stopped ? `; ${r.egress.left_objects} object(s) left by --max-egress` : '');
  return appendEvidence(storage, signer, {
    run: 'verify',
    outcome: OUTCOME[r.verdict],
    exitCode: r.exit_code,
    summary,
    startedAt,
    finishedAt,
    subject: manifests,
    cites: [...manifests, doc(record.key, record.sha256)],
    predicate: {
      tier: TIER[r.tier],
      record: record.key,
      snapshots,
      coverage: { objectsChecked, objectsTotal, ratio: objectsTotal ? objectsChecked / objectsTotal : 0 },
      ...(r.subset ? { cursor: { slice: r.subset.n, of: r.subset.t, auto: r.subset.auto } } : {}),
      ...(r.live ? { live: { verdict: r.live.verdict, url: r.live.url, problems: r.live.problems } } : {}),
      egress: r.egress,
    },
  });
}
