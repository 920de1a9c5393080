import type { CheckReport } from '../checks/report.js';

/** The versioned JSON report (docs/schemas/check-report.v1.json). */
export function renderJson(report: CheckReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}
