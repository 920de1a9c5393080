import { ExitCode, errorText, isBarysafeError } from '../errors.js';
import { redactText } from '../redact.js';
import type { StepName, StepResult, Verdict } from './types.js';

/** What a step function returns when it finishes on its own terms. */
export interface StepOutcome {
  verdict: Verdict;
  detail: string;
  evidence?: Record<string, unknown>;
  /** What the operator should know although it does not change the verdict (an unknown migration, a different build). */
  warnings?: string[];
}

/** A step result plus the exit code of the error behind an `error` verdict (kept out of the record). */
export type RanStep = StepResult & { exitCode?: number };

/**
 * Times a step and turns what it throws into a verdict. An INTEGRITY error (bad signature, corrupt
 * object) is a finding about the backup, so `fail`; any other error means the drill could not do
 * its work (wrong identity, missing tool), so `error` with that error's exit code.
 */
export async function runStep(name: StepName, fn: () => Promise<StepOutcome>): Promise<RanStep> {
  const t0 = performance.now();
  try {
    const out = await fn();
    return {
      name,
      verdict: out.verdict,
      duration_ms: elapsed(t0),
      detail: redactText(out.detail),
      ...(out.evidence !== undefined ? { evidence: out.evidence } : {}),
      ...(out.warnings?.length ? { warnings: out.warnings.map(redactText) } : {}),
    };
  } catch (e) {
    const integrity = isBarysafeError(e) && e.exitCode === ExitCode.INTEGRITY;
    const message = redactText(errorText(e) + (isBarysafeError(e) && e.hint ? ` (hint: ${e.hint})` : ''));
    return {
      name,
      verdict: integrity ? 'fail' : 'error',
      duration_ms: elapsed(t0),
      detail: message,
      // A rollback is a failure with the integrity exit code (13), not the generic 3 of a failed step.
      ...(integrity
        ? isBarysafeError(e) && e.kind === 'rollback'
          ? { exitCode: ExitCode.INTEGRITY }
          : {}
        : { exitCode: isBarysafeError(e) ? e.exitCode : ExitCode.FAILURE }),
    };
  }
}

/** A step that could not run because an earlier one did not leave what it needs. */
export function notRun(name: StepName, why: string): RanStep {
  return { name, verdict: 'inconclusive', duration_ms: 0, detail: `not run: ${why}` };
}

export const pass = (detail: string, evidence?: Record<string, unknown>): StepOutcome => ({
  verdict: 'pass',
  detail,
  evidence,
});
export const fail = (detail: string, evidence?: Record<string, unknown>): StepOutcome => ({
  verdict: 'fail',
  detail,
  evidence,
});
export const inconclusive = (detail: string, evidence?: Record<string, unknown>): StepOutcome => ({
  verdict: 'inconclusive',
  detail,
  evidence,
});

function elapsed(t0: number): number {
  return Math.round(performance.now() - t0);
}

/** error > fail > inconclusive > pass (Borg-style precedence). */
export function worst(verdicts: Verdict[]): Verdict {
  const rank: Record<Verdict, number> = { pass: 0, inconclusive: 1, fail: 2, error: 3 };
  return verdicts.reduce<Verdict>((a, v) => (rank[v] > rank[a] ? v : a), 'pass');
}
