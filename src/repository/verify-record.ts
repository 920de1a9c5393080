/**
 * The stored result of `barysafe verify` (docs/FORMAT.md, "Verify records"): what was checked,
 * of which snapshot and object, at which tier, and what was found. `snapshots`, `check` and
 * reports read these records to say what was verified and when, instead of trusting a manifest
 * signature alone.
 */
import * as z from 'zod';
import { ARTIFACT_KINDS } from './manifest.js';
import type { SignedDocumentRef, SnapshotEntry } from './repository.js';

export const VERIFY_RECORD_FORMAT = 'barysafe.verify/v1';

/** inventory: no bodies (stat, ranged header read); read-data: every artifact downloaded and parsed; read-data-subset: one slice of them. */
export const VERIFY_TIERS = ['inventory', 'read-data', 'read-data-subset'] as const;
export type VerifyTier = (typeof VERIFY_TIERS)[number];

/** What was looked at for one object, cheapest first. `data` implies the others. */
export const OBJECT_CHECKS = ['present', 'size', 'header', 'data'] as const;
export type ObjectCheck = (typeof OBJECT_CHECKS)[number];

const check = z.looseObject({ ok: z.boolean(), detail: z.string() });

export const verifiedObjectSchema = z.looseObject({
  /** Storage key. */
  object: z.string(),
  /** Artifact name, or "manifest". */
  name: z.string(),
  kind: z.enum([...ARTIFACT_KINDS, 'manifest']),
  checks: z.array(z.enum(OBJECT_CHECKS)),
  ok: z.boolean(),
  /** What is wrong, one line, naming nothing secret. */
  problem: z.string().optional(),
  /** Bytes downloaded for it. */
  bytes_read: z.number().nonnegative(),
});
export type VerifiedObject = z.infer<typeof verifiedObjectSchema>;

export const verifiedSnapshotSchema = z.looseObject({
  id: z.string(),
  created_at: z.string().nullable(),
  /** SHA-256 of the manifest's stored bytes when it was read; results apply to exactly those bytes. */
  manifest_sha256: z.string().nullable(),
  signature: z.enum(['ok', 'invalid']),
  chain: check,
  sequence: check.optional(),
  objects: z.array(verifiedObjectSchema),
  ok: z.boolean(),
  problems: z.array(z.string()),
});
export type VerifiedSnapshot = z.infer<typeof verifiedSnapshotSchema>;

export const liveResultSchema = z.looseObject({
  url: z.string().nullable(),
  /** pass: checked and sound; fail: a key mismatch (problems); inconclusive: production could not be read. */
  verdict: z.enum(['pass', 'fail', 'inconclusive']),
  detail: z.string(),
  served: z.array(z.looseObject({ kid: z.string().nullable(), thumbprint: z.string(), backed_up: z.boolean() })),
  newest_snapshot: z.string().nullable(),
  newest_key: z.looseObject({ kid: z.string().nullable(), thumbprint: z.string() }).nullable(),
  problems: z.array(z.string()),
});
export type LiveResult = z.infer<typeof liveResultSchema>;

export const verifyRecordSchema = z.looseObject({
  format: z.literal(VERIFY_RECORD_FORMAT),
  id: z.string(),
  started_at: z.string(),
  finished_at: z.string(),
  host: z.string(),
  tool: z.looseObject({ name: z.literal('barysafe'), version: z.string() }),
  repository: z.string(),
  tier: z.enum(VERIFY_TIERS),
  subset: z.looseObject({ n: z.number().int(), t: z.number().int(), auto: z.boolean() }).optional(),
  /** "all", or the one snapshot id asked for. */
  scope: z.string(),
  verdict: z.enum(['pass', 'fail', 'inconclusive']),
  exit_code: z.number().int(),
  rpo: z
    .looseObject({
      target: z.string(),
      newest: z.string().nullable(),
      age_ms: z.number().nullable(),
      ok: z.boolean(),
    })
    .optional(),
  live: liveResultSchema.optional(),
  egress: z.looseObject({
    budget_bytes: z.number().nullable(),
    bytes_read: z.number(),
    /** True when --max-egress stopped the run before every selected object was read. */
    stopped: z.boolean(),
    left_objects: z.number().int(),
    left_bytes: z.number(),
  }),
  snapshots: z.array(verifiedSnapshotSchema),
  /** Every problem, each naming its snapshot and object (or kid). */
  problems: z.array(z.string()),
  /** What could not be decided (production unreachable, a tool missing): no finding either way. */
  inconclusive: z.array(z.string()),
});
export type VerifyRecord = z.infer<typeof verifyRecordSchema>;

/** What `snapshots` shows for one snapshot. */
export type HealthState = 'damaged' | 'data verified' | 'signature ok' | 'INVALID' | 'unchecked';

export interface SnapshotHealth {
  state: HealthState;
  /** When every artifact had last passed a data check: the oldest of those per-object dates. */
  data_verified_at?: string;
  /** The latest verify record that looked at this snapshot at all. */
  last_verified_at?: string;
  /** For damaged: the problems of the latest findings, and the record that found them. */
  problems?: string[];
  record?: string;
}

/** A verify record whose signature holds (or that no key could check), as `usableVerifyRecords` returns them. */
export interface UsableVerifyRecord {
  key: string;
  record: VerifyRecord;
}

/** Verify records whose signature holds (or could not be checked), oldest first. */
export function usableVerifyRecords(refs: ReadonlyArray<SignedDocumentRef<VerifyRecord>>): UsableVerifyRecord[] {
  const out: UsableVerifyRecord[] = [];
  for (const r of refs)
    if (r.verified !== false && !Number.isNaN(Date.parse(r.record.finished_at)))
      out.push({ key: r.key, record: r.record });
  return out.sort((a, b) => Date.parse(a.record.finished_at) - Date.parse(b.record.finished_at));
}

/**
 * A snapshot's health from the records (oldest first). Only results about the manifest bytes the
 * snapshot has now count: a record about other bytes under the same id says nothing about these.
 * Each object's latest result wins; an object whose latest result failed makes the snapshot
 * damaged. "data verified" needs a passing data check of every artifact (over one or many runs).
 */
export function healthOf(entry: SnapshotEntry, records: readonly UsableVerifyRecord[]): SnapshotHealth {
  if (entry.verified === false) return { state: 'INVALID', problems: entry.error ? [entry.error] : [] };
  const latest = new Map<string, { ok: boolean; problem?: string; at: string; record: string }>();
  const latestData = new Map<string, string>();
  let lastAt: string | undefined;
  let signatureBad: { at: string; record: string; problem: string } | undefined;
  for (const ref of records) {
    const s = ref.record.snapshots.find((x) => x.id === entry.id && x.manifest_sha256 === entry.sha256);
    if (!s) continue;
    const at = ref.record.finished_at;
    lastAt = at;
    signatureBad =
      s.signature === 'invalid' ? { at, record: ref.key, problem: s.problems[0] ?? 'signature invalid' } : undefined;
    for (const o of s.objects) {
      latest.set(o.object, { ok: o.ok, ...(o.problem ? { problem: o.problem } : {}), at, record: ref.key });
      if (o.checks.includes('data')) {
        if (o.ok) latestData.set(o.object, at);
        else latestData.delete(o.object);
      }
    }
  }
  const bad = [...latest.entries()].filter(([, v]) => !v.ok);
  if (signatureBad || bad.length) {
    const newest = [...bad.map(([, v]) => v), ...(signatureBad ? [signatureBad] : [])].sort((a, b) =>
      b.at.localeCompare(a.at),
    )[0]!;
    return {
      state: 'damaged',
      problems: [
        ...(signatureBad ? [signatureBad.problem] : []),
        ...bad.map(([k, v]) => `${k}: ${v.problem ?? 'failed'}`),
      ],
      record: newest.record,
      ...(lastAt ? { last_verified_at: lastAt } : {}),
    };
  }
  const artifacts = entry.manifest.artifacts;
  const dataDates = artifacts.map((a) => latestData.get(a.object));
  if (artifacts.length && dataDates.every((d): d is string => d !== undefined)) {
    return {
      state: 'data verified',
      data_verified_at: dataDates.sort()[0]!,
      ...(lastAt ? { last_verified_at: lastAt } : {}),
    };
  }
  return {
    state: entry.verified === true ? 'signature ok' : 'unchecked',
    ...(lastAt ? { last_verified_at: lastAt } : {}),
  };
}
