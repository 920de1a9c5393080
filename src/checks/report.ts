import { hostname } from 'node:os';
import { ExitCode } from '../errors.js';
import { VERSION } from '../version.js';
import type { CheckResult, CheckStatus, DeploymentType } from './types.js';

/** The JSON report, versioned: docs/schemas/check-report.v1.json describes exactly this shape. */
export const CHECK_REPORT_FORMAT = 'barysafe.check-report/v1';

export const STATUSES: CheckStatus[] = ['pass', 'fail', 'warn', 'manual', 'skip', 'error', 'waived'];

export interface CheckReport {
  format: typeof CHECK_REPORT_FORMAT;
  generated_at: string;
  tool: { name: 'barysafe'; version: string };
  host: string;
  config_path: string;
  deployment: { type: DeploymentType; reason: string };
  barycenter: { config_path: string; issuer: string; public_url: string | null };
  summary: Record<CheckStatus, number> & { total: number };
  /** The process exit code this report leads to (0, 3 = CHECK_FAILED, or 13 = INTEGRITY for a rolled-back repository). */
  exit_code: number;
  /** Problems with the run itself (e.g. a waiver naming no known check). */
  warnings: string[];
  results: CheckResult[];
}

export function summarize(results: CheckResult[]): CheckReport['summary'] {
  const s = Object.fromEntries(STATUSES.map((k) => [k, 0])) as Record<CheckStatus, number>;
  for (const r of results) s[r.status]++;
  return { total: results.length, ...s };
}

/** Checks whose failure means the repository cannot be trusted: the run exits 13, not 3. */
const INTEGRITY_CHECKS: ReadonlySet<string> = new Set(['backup.rollback']);

/**
 * fail and error always fail the run; warn only with checks.warn_exit_nonzero. Waived results never
 * do. A failed integrity check (the repository was rolled back) is exit 13, as in restore and drills.
 */
export function exitCodeFor(results: CheckResult[], warnExitNonzero: boolean): number {
  if (results.some((r) => r.status === 'fail' && INTEGRITY_CHECKS.has(r.id))) return ExitCode.INTEGRITY;
  const bad = results.some(
    (r) => r.status === 'fail' || r.status === 'error' || (warnExitNonzero && r.status === 'warn'),
  );
  return bad ? ExitCode.CHECK_FAILED : ExitCode.OK;
}

export function buildReport(input: {
  results: CheckResult[];
  configPath: string;
  deployment: { type: DeploymentType; reason: string };
  barycenter: { config_path: string; issuer: string; public_url: string | null };
  warnExitNonzero: boolean;
  warnings?: string[];
  now?: Date;
}): CheckReport {
  return {
    format: CHECK_REPORT_FORMAT,
    generated_at: (input.now ?? new Date()).toISOString(),
    tool: { name: 'barysafe', version: VERSION },
    host: hostname(),
    config_path: input.configPath,
    deployment: input.deployment,
    barycenter: input.barycenter,
    summary: summarize(input.results),
    exit_code: exitCodeFor(input.results, input.warnExitNonzero),
    warnings: input.warnings ?? [],
    results: input.results,
  };
}
