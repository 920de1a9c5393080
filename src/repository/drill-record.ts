import * as z from 'zod';
import { buildIdentitySchema } from './manifest.js';
/**
 * The stored drill record (docs/DRILL.md) and the vocabulary it is written in. The format is part of
 * the repository, like the manifest: the drill writes it, checks and reports read it.
 */
/**
 * The drill's vocabulary. Four verdicts: `pass` proved, `fail` proved broken,
 * `inconclusive` could not decide (production JWKS unreachable, a step not run because an earlier
 * one failed), `error` the drill itself could not run (wrong identity, no launcher).
 */
export type Verdict = 'pass' | 'fail' | 'inconclusive' | 'error';

/**
 * The drill's nine steps, in the order they run. Records of drills before `config` existed have
 * the other eight and stay readable: a name is only ever added here.
 */
export const STEP_NAMES = [
  'integrity',
  'key',
  'database',
  'config',
  'boot',
  'discovery',
  'jwks',
  'token',
  'teardown',
] as const;
export type StepName = (typeof STEP_NAMES)[number];

export interface StepResult {
  name: StepName;
  verdict: Verdict;
  duration_ms: number;
  /** One line (or a few, for a log tail) that names the cause; never a secret. */
  detail: string;
  evidence?: Record<string, unknown>;
  /** Findings that do not change the verdict (an unknown migration, a build that differs from production's). */
  warnings?: string[];
}

/** Which Barycenter build production runs and which one the drill booted (see barycenter/identity.ts). */
export const buildComparisonSchema = z.looseObject({
  production: buildIdentitySchema.nullable(),
  production_reason: z.string().optional(),
  drill: buildIdentitySchema.nullable(),
  drill_reason: z.string().optional(),
  comparison: z.enum(['same', 'different', 'not comparable']),
  detail: z.string(),
});
export type BuildComparison = z.infer<typeof buildComparisonSchema>;

export const DRILL_RECORD_FORMAT = 'barysafe.drill/v1';

const VERDICTS = ['pass', 'fail', 'inconclusive', 'error'] as const;

/** The schema a stored drill record is parsed with (loose: newer members pass through). */
export const drillRecordSchema = z.looseObject({
  format: z.literal(DRILL_RECORD_FORMAT),
  id: z.string(),
  snapshot_id: z.string().nullable(),
  snapshot_sha256: z.string().nullable(),
  started_at: z.iso.datetime(),
  finished_at: z.iso.datetime(),
  verdict: z.enum(VERDICTS),
  steps: z.array(
    z.looseObject({
      name: z.enum(STEP_NAMES),
      verdict: z.enum(VERDICTS),
      duration_ms: z.number().nonnegative(),
      detail: z.string(),
      evidence: z.record(z.string(), z.unknown()).optional(),
      warnings: z.array(z.string()).optional(),
    }),
  ),
  rto_ms: z.number().nonnegative().nullable(),
  rpo_ms: z.number().nonnegative().nullable(),
  rto_target_ms: z.number().nonnegative().optional(),
  rpo_target_ms: z.number().nonnegative().optional(),
  /** Absent in records of drills before builds were compared. */
  barycenter_build: buildComparisonSchema.optional(),
  host: z.string(),
  tool: z.looseObject({ name: z.literal('barysafe'), version: z.string() }),
});

export interface DrillRecord {
  format: typeof DRILL_RECORD_FORMAT;
  id: string;
  snapshot_id: string | null;
  snapshot_sha256: string | null;
  started_at: string;
  finished_at: string;
  verdict: Verdict;
  steps: StepResult[];
  rto_ms: number | null;
  rpo_ms: number | null;
  rto_target_ms?: number;
  rpo_target_ms?: number;
  barycenter_build?: BuildComparison;
  host: string;
  tool: { name: 'barysafe'; version: string };
}

export { drillRecordKey } from './layout.js';
