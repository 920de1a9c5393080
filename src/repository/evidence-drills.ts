import { checkSignatures, parseEnvelope, payloadBytes } from '../crypto/dsse.js';
import type { Verifier } from '../crypto/signing.js';
import { DRILL_RECORD_FORMAT, type DrillRecord, type StepName, type Verdict } from './drill-record.js';
import { listEvidence, readObject, PREDICATE_TYPES, type Statement } from './evidence.js';
import type { DrillRecordRef } from './repository.js';
import type { Storage } from './storage.js';
import { sha256Hex } from './signed-document.js';

/**
 * Drills as the evidence chain records them (in-toto test-result), in the shape of the stored
 * drill record, so that readers (the restore-tested check) take the chain first and fall back to
 * drills/<id>.json only for drills that predate it. Each record's signature is checked here; the
 * chain itself (gaps, forks) is verify-evidence's job.
 */
export async function drillsFromEvidence(
  storage: Storage,
  verifier?: Verifier,
): Promise<{ refs: DrillRecordRef[]; cited: Set<string> }> {
  const refs: DrillRecordRef[] = [];
  const cited = new Set<string>();
  for (const { key } of await listEvidence(storage)) {
    const bytes = await readObject(storage, key);
    const sha256 = sha256Hex(bytes);
    const envelope = parseEnvelope(bytes);
    if (!envelope) continue;
    let statement: Statement;
    try {
      statement = JSON.parse(payloadBytes(envelope).toString('utf8')) as Statement;
    } catch {
      continue;
    }
    if (statement.predicateType !== PREDICATE_TYPES.drill || statement.predicate?.barysafe?.run !== 'drill') continue;
    const info = statement.predicate.barysafe;
    for (const c of info.cites ?? []) cited.add(c.name);
    if (verifier) {
      const own = checkSignatures(envelope, [verifier]).find((s) => s.keyid === verifier.keyId);
      if (own?.status !== 'valid') {
        refs.push({
          key,
          verified: false,
          error: own ? 'invalid signature' : `not signed by ${verifier.keyId}`,
          sha256,
        });
        continue;
      }
    }
    const d = (statement.predicate.barysafeDrill ?? {}) as Record<string, unknown>;
    const steps = (Array.isArray(d.steps) ? d.steps : []) as Array<Record<string, unknown>>;
    const record: DrillRecord = {
      format: DRILL_RECORD_FORMAT,
      id: String(d.drillId ?? key),
      snapshot_id: (d.snapshotId as string | null) ?? null,
      snapshot_sha256: statement.subject[0]?.digest.sha256 ?? null,
      started_at: info.startedAt,
      finished_at: info.finishedAt,
      verdict: (d.verdict as Verdict) ?? info.outcome,
      steps: steps.map((s) => ({
        name: s.name as StepName,
        verdict: s.verdict as Verdict,
        duration_ms: Number(s.durationMs ?? 0),
        detail: String(s.detail ?? ''),
      })),
      rto_ms: (d.rtoMs as number | null) ?? null,
      rpo_ms: (d.rpoMs as number | null) ?? null,
      ...(typeof d.rtoTargetMs === 'number' ? { rto_target_ms: d.rtoTargetMs } : {}),
      ...(typeof d.rpoTargetMs === 'number' ? { rpo_target_ms: d.rpoTargetMs } : {}),
      host: info.host,
      tool: info.tool,
    };
    refs.push({ key, record, verified: verifier ? true : null, sha256 });
  }
  return { refs, cited };
}
