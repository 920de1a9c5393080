import type { BuildComparison, StepResult, Verdict } from '../repository/drill-record.js';

export type { StepName, StepResult, Verdict } from '../repository/drill-record.js';
export { STEP_NAMES } from '../repository/drill-record.js';

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
  /** Production's build (from the manifest) and the drill's (from the launcher), compared. */
  barycenter_build: BuildComparison;
  /** drills/<id>.json in the repository, or null when it could not be stored (see record_error). */
  record_key: string | null;
  record_error?: string;
  /** The drill's record in the evidence chain (evidence/<n>.intoto.jsonl). */
  evidence?: { key: string; sequence: number };
}

/**
 * A phase of the drill starting or ending, for progress on stderr: each step (integrity, key, …,
 * teardown) and the parts of the long ones ("integrity: extract", "boot: sync-users", "boot: start",
 * "boot: discovery"). `outcome` is a step's verdict or a part's short result.
 */
export type DrillPhaseEvent =
  | { phase: string; state: 'start' }
  | { phase: string; state: 'end'; outcome: string; ms: number }
  | { phase: string; state: 'bytes'; artifact: string; bytes: number; total: number };
