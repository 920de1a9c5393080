import {
  checkSignatures,
  IN_TOTO_PAYLOAD_TYPE,
  parseEnvelope,
  payloadBytes,
  type DsseEnvelope,
} from '../crypto/dsse.js';
import type { Verifier } from '../crypto/signing.js';
import { evidenceKey, EVIDENCE_PREFIX, parseEvidenceKey, parseReviewKey } from './layout.js';
import { findUncited } from './evidence-orphans.js';
import { readObject, RUN_KINDS, STATEMENT_TYPE, type RunInfo, type Statement } from './evidence.js';
import { repoError } from './repository.js';
import { sha256Hex } from './signed-document.js';
import { StorageNotFoundError, type Storage } from './storage.js';

/**
 * verify-evidence: proves the population. Every record is signed by the trusted key, numbered
 * 1…N without a gap, chained to its predecessor's exact bytes (no fork, no edit, no reorder), and
 * every document a record in the window cites exists with the digest it names. Documents that a
 * `forget` record says it removed are reported as removed, not as missing.
 */
export interface ReviewSignature {
  key: string;
  keyid: string;
  status: 'valid' | 'invalid' | 'unknown-key';
}

export interface EvidenceEntry {
  key: string;
  sequence: number;
  sha256: string;
  statement: Statement;
  info: RunInfo;
  reviews: ReviewSignature[];
}

export interface Problem {
  /** The record (or document) at fault. */
  key: string;
  problem: string;
}

export interface EvidenceVerification {
  ok: boolean;
  repository: string;
  keyId: string;
  since: string | null;
  /** Records in the chain (all of them, whatever the window). */
  total: number;
  head: { sequence: number; key: string; sha256: string } | null;
  /** Valid records whose run finished within the window, in chain order. */
  runs: EvidenceEntry[];
  problems: Problem[];
  notes: string[];
}

export interface VerifyOptions {
  since?: Date;
  reviewerKeys?: Verifier[];
  /** A head the verifier saw before (from an earlier run or a report): the chain must still hold it. */
  expectHead?: { sequence: number; sha256?: string };
}

interface Loaded {
  key: string;
  sequence: number;
  bytes: Buffer;
  sha256: string;
  envelope: DsseEnvelope | null;
  entry: EvidenceEntry | null;
}

export async function verifyEvidence(
  storage: Storage,
  verifier: Verifier,
  opts: VerifyOptions = {},
): Promise<EvidenceVerification> {
  const problems: Problem[] = [];
  const notes: string[] = [];
  const { records, reviews } = await listAll(storage);
  const loaded: Loaded[] = [];
  for (const r of records) loaded.push(await load(storage, r.key, r.sequence, verifier, problems));
  const bySeq = new Map(loaded.map((l) => [l.sequence, l]));
  const removed = removedDocuments(loaded);

  checkLinks(loaded, bySeq, removed, problems);
  await checkReviews(storage, reviews, bySeq, opts.reviewerKeys ?? [], problems);

  const since = opts.since?.getTime() ?? -Infinity;
  const runs = loaded
    .map((l) => l.entry)
    .filter((e): e is EvidenceEntry => !!e && Date.parse(e.info.finishedAt) >= since);
  await checkCitations(storage, runs, removed, problems, notes);
  const first = loaded.find((l) => l.entry)?.entry;
  const last = loaded[loaded.length - 1];
  const head = last ? { sequence: last.sequence, key: last.key, sha256: last.sha256 } : null;
  if (first) {
    const uncited = await findUncited(storage, loaded, Date.parse(first.info.startedAt));
    for (const u of uncited.after)
      problems.push(
        head && u.time > Date.parse(last!.entry?.info.finishedAt ?? first.info.startedAt)
          ? {
              key: evidenceKey(head.sequence + 1),
              problem: `missing: ${u.key} (from ${new Date(u.time).toISOString()}, after the last record #${head.sequence}) is cited by no record — a record after the head was deleted, or appending it failed`,
            }
          : {
              key: u.key,
              problem: `cited by no evidence record although it is newer than the chain's first record: its record was deleted, or appending it failed`,
            },
      );
    if (uncited.before) notes.push(`${uncited.before} document(s) predate the evidence chain and are not part of it`);
  }
  if (opts.expectHead) {
    const want = opts.expectHead;
    const got = bySeq.get(want.sequence);
    if (!got)
      problems.push({
        key: evidenceKey(want.sequence),
        problem: `the expected head #${want.sequence} is missing: the chain was truncated`,
      });
    else if (want.sha256 && got.sha256 !== want.sha256)
      problems.push({
        key: got.key,
        problem: `differs from the expected head (sha256 ${got.sha256} ≠ ${want.sha256})`,
      });
  }
  return {
    ok: problems.length === 0,
    repository: storage.displayUrl,
    keyId: verifier.keyId,
    since: opts.since ? opts.since.toISOString() : null,
    total: loaded.length,
    head,
    runs,
    problems,
    notes,
  };
}

async function listAll(storage: Storage) {
  const records: Array<{ key: string; sequence: number }> = [];
  const reviews: Array<{ key: string; sequence: number }> = [];
  try {
    for await (const o of storage.list(EVIDENCE_PREFIX)) {
      const seq = parseEvidenceKey(o.key);
      if (seq !== null) records.push({ key: o.key, sequence: seq });
      const rev = parseReviewKey(o.key);
      if (rev !== null) reviews.push({ key: o.key, sequence: rev });
    }
  } catch (e) {
    throw repoError(storage, e);
  }
  records.sort((a, b) => a.sequence - b.sequence);
  return { records, reviews };
}

async function load(
  storage: Storage,
  key: string,
  sequence: number,
  verifier: Verifier,
  problems: Problem[],
): Promise<Loaded> {
  const bytes = await readObject(storage, key);
  const base: Loaded = { key, sequence, bytes, sha256: sha256Hex(bytes), envelope: null, entry: null };
  const fail = (problem: string) => (problems.push({ key, problem }), base);
  const envelope = parseEnvelope(bytes);
  if (!envelope) return fail('is not a DSSE envelope (corrupt or replaced)');
  base.envelope = envelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) return fail(`has payloadType ${envelope.payloadType}`);
  const own = checkSignatures(envelope, [verifier]).filter((s) => s.keyid === verifier.keyId);
  if (own.length === 0) return fail(`is not signed by the trusted key ${verifier.keyId}`);
  if (own.some((s) => s.status !== 'valid'))
    return fail('has an invalid signature: its content was altered after signing');
  let statement: Statement;
  try {
    statement = JSON.parse(payloadBytes(envelope).toString('utf8')) as Statement;
  } catch {
    return fail('holds a signed payload that is not JSON');
  }
  const info = statement?.predicate?.barysafe;
  if (statement._type !== STATEMENT_TYPE || !info || !RUN_KINDS.includes(info.run))
    return fail('is not a barysafe in-toto Statement v1');
  if (info.sequence !== sequence)
    return fail(`holds record #${info.sequence}, not #${sequence}: records were reordered or renamed`);
  base.entry = { key, sequence, sha256: base.sha256, statement, info, reviews: [] };
  return base;
}

/** Names (with digests) that forget records say they removed: documents and evidence records. */
function removedDocuments(loaded: Loaded[]): Map<string, { digest: string; by: number }> {
  const out = new Map<string, { digest: string; by: number }>();
  for (const l of loaded) {
    if (l.entry?.info.run !== 'forget') continue;
    const list = (l.entry.statement.predicate as { removed?: Array<{ name: string; digest?: { sha256?: string } }> })
      .removed;
    for (const r of Array.isArray(list) ? list : [])
      if (r && typeof r.name === 'string') out.set(r.name, { digest: r.digest?.sha256 ?? '', by: l.sequence });
  }
  return out;
}

function checkLinks(
  loaded: Loaded[],
  bySeq: Map<number, Loaded>,
  removed: Map<string, { digest: string; by: number }>,
  problems: Problem[],
): void {
  const last = loaded[loaded.length - 1]?.sequence ?? 0;
  for (let seq = 1; seq <= last; seq++) {
    if (bySeq.has(seq)) continue;
    const key = evidenceKey(seq);
    if (!removed.has(key))
      problems.push({ key, problem: `missing from the chain (deleted?); record #${seq + 1} and later depend on it` });
  }
  for (const l of loaded) {
    const info = l.entry?.info;
    if (!info) continue;
    const prev = info.previous;
    if (l.sequence === 1) {
      if (prev) problems.push({ key: l.key, problem: 'is record #1 but names a previous record' });
      continue;
    }
    if (!prev) {
      problems.push({ key: l.key, problem: 'names no previous record: a second chain was started (a fork)' });
      continue;
    }
    if (prev.sequence !== l.sequence - 1) {
      problems.push({
        key: l.key,
        problem: `chains to #${prev.sequence}, not to #${l.sequence - 1}: a fork, or records were reordered`,
      });
      continue;
    }
    const before = bySeq.get(prev.sequence);
    if (!before) {
      const r = removed.get(evidenceKey(prev.sequence));
      if (r && r.digest && r.digest !== prev.sha256)
        problems.push({
          key: l.key,
          problem: `chains to #${prev.sequence}, which a forget removed with another digest`,
        });
      continue; // reported above as missing, or removed by forget
    }
    if (before.sha256 !== prev.sha256)
      problems.push({
        key: before.key,
        problem: `changed after record #${l.sequence} chained to it (sha256 ${before.sha256.slice(0, 16)}… ≠ ${prev.sha256.slice(0, 16)}…)`,
      });
  }
}

async function checkReviews(
  storage: Storage,
  reviews: Array<{ key: string; sequence: number }>,
  bySeq: Map<number, Loaded>,
  reviewerKeys: Verifier[],
  problems: Problem[],
): Promise<void> {
  for (const r of reviews) {
    const target = bySeq.get(r.sequence);
    if (!target?.envelope || !target.entry) {
      problems.push({ key: r.key, problem: `countersigns record #${r.sequence}, which is missing or invalid` });
      continue;
    }
    const env = parseEnvelope(await readObject(storage, r.key));
    if (!env || env.payload !== target.envelope.payload || env.payloadType !== target.envelope.payloadType) {
      problems.push({ key: r.key, problem: `does not hold the same payload as record #${r.sequence}` });
      continue;
    }
    const original = new Set(target.envelope.signatures.map((s) => `${s.keyid} ${s.sig}`));
    const extra = env.signatures.filter((s) => !original.has(`${s.keyid} ${s.sig}`));
    const checked = checkSignatures({ ...env, signatures: extra }, reviewerKeys);
    for (const c of checked) {
      target.entry.reviews.push({ key: r.key, keyid: c.keyid, status: c.status });
      if (c.status === 'invalid') problems.push({ key: r.key, problem: `the signature of ${c.keyid} is invalid` });
    }
  }
}

async function checkCitations(
  storage: Storage,
  runs: EvidenceEntry[],
  removed: Map<string, { digest: string; by: number }>,
  problems: Problem[],
  notes: string[],
): Promise<void> {
  const digests = new Map<string, string | null>();
  const digestOf = async (key: string): Promise<string | null> => {
    if (!digests.has(key)) {
      try {
        digests.set(key, sha256Hex(await readObject(storage, key)));
      } catch (e) {
        if (!(e instanceof StorageNotFoundError)) throw e;
        digests.set(key, null);
      }
    }
    return digests.get(key)!;
  };
  for (const run of runs) {
    for (const c of Array.isArray(run.info.cites) ? run.info.cites : []) {
      const want = c?.digest?.sha256;
      if (typeof c?.name !== 'string' || typeof want !== 'string') {
        problems.push({ key: run.key, problem: 'cites a document without a name or sha256' });
        continue;
      }
      const got = await digestOf(c.name);
      if (got === want) continue;
      const gone = removed.get(c.name);
      if (got === null && gone && gone.digest === want) {
        notes.push(`${c.name} (cited by #${run.sequence}) was removed by forget record #${gone.by}`);
        continue;
      }
      problems.push({
        key: run.key,
        problem:
          got === null
            ? `cites ${c.name}, which is missing from the repository`
            : `cites ${c.name} with sha256 ${want.slice(0, 16)}…, but it is ${got.slice(0, 16)}… (changed after the record)`,
      });
    }
  }
}
