import { STATUSES, type CheckReport } from '../checks/report.js';
import type { CheckResult } from '../checks/types.js';

/** Views of a check report that several renderers share. */

/** "35 checks: 20 pass, 3 fail, …" — zero counts left out. */
export function summaryLine(report: CheckReport): string {
  const parts = STATUSES.filter((s) => report.summary[s] > 0).map((s) => `${report.summary[s]} ${s}`);
  return `${report.summary.total} checks: ${parts.join(', ') || 'none run'}`;
}

/** Sections in first-seen order (the catalogue's order). */
export function bySection(results: CheckResult[]): Array<[string, CheckResult[]]> {
  const m = new Map<string, CheckResult[]>();
  for (const r of results) m.set(r.section, [...(m.get(r.section) ?? []), r]);
  return [...m.entries()];
}

/** Evidence values as one line of text (objects as compact JSON). */
export function valueText(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}
