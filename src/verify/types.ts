/**
 * The drill's vocabulary. Four verdicts (prior-art §6.C.13): `pass` proved, `fail` proved broken,
 * `inconclusive` could not decide (production JWKS unreachable, a step not run because an earlier
 * one failed), `error` the drill itself could not run (wrong identity, no launcher).
 */
export type Verdict = 'pass' | 'fail' | 'inconclusive' | 'error';

/** The eight steps of issue 3, in the order they run. */
export const STEP_NAMES = ['integrity', 'key', 'database', 'boot', 'discovery', 'jwks', 'token', 'teardown'] as const;
export type StepName = (typeof STEP_NAMES)[number];

export interface StepResult {
  name: StepName;
  verdict: Verdict;
  duration_ms: number;
  /** One line (or a few, for a log tail) that names the cause; never a secret. */
  detail: string;
  evidence?: Record<string, unknown>;
}

export interface DrillResult {
  format: 'barysafe.drill-result/v1';
  verdict: Verdict;
  /** The process exit code this result maps to (drillExitCode). */
  exit_code: number;
  drill_id: string;
  snapshot_id: string | null;
  snapshot_sha256: string | null;
  started_at: string;
  finished_at: string;
  steps: StepResult[];
  /** Drill start until the scratch instance was verified working (token verified); null if it never was. */
  rto_ms: number | null;
  /** Drill start minus the snapshot's creation time. */
  rpo_ms: number | null;
  rto_target_ms?: number;
  rpo_target_ms?: number;
  /** Present when the matching target is set; false also when the value is unknown. */
  rto_met?: boolean;
  rpo_met?: boolean;
  /** How the scratch instance was started (binary, docker image, command template). */
  launcher: string | null;
  /** drills/<id>.json in the repository, or null when it could not be stored (see record_error). */
  record_key: string | null;
  record_error?: string;
}
