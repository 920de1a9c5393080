import { ExitCode } from '../errors.js';
import type { Verdict } from './types.js';

/**
 * Exit 0 only when every step passed (docs/EXIT_CODES.md): fail → 3, inconclusive → 4, error →
 * the exit code of the first step's error (e.g. 12 for a wrong identity), else 1.
 */
export function drillExitCode(
  verdict: Verdict,
  steps: ReadonlyArray<{ verdict: Verdict; exitCode?: number }> = [],
): number {
  switch (verdict) {
    case 'pass':
      return ExitCode.OK;
    case 'fail':
      return steps.find((s) => s.verdict === 'fail' && s.exitCode !== undefined)?.exitCode ?? ExitCode.CHECK_FAILED;
    case 'inconclusive':
      return ExitCode.INCONCLUSIVE;
    case 'error':
      return steps.find((s) => s.verdict === 'error' && s.exitCode !== undefined)?.exitCode ?? ExitCode.FAILURE;
  }
}
