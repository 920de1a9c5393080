import type { CheckStatus } from '../checks/types.js';
import type { CheckReport } from '../checks/report.js';
import { bySection, summaryLine, valueText } from './views.js';

const COLOURS: Record<CheckStatus, string> = {
  pass: '32',
  fail: '31',
  error: '35',
  warn: '33',
  manual: '36',
  skip: '90',
  waived: '34',
};

/** Terminal report grouped by section. Colour only when asked (the caller passes stdout.isTTY). */
export function renderText(
  report: CheckReport,
  opts: { colour: boolean; verbose?: boolean } = { colour: false },
): string {
  const paint = (s: CheckStatus, text: string) => (opts.colour ? `\x1b[${COLOURS[s]}m${text}\x1b[0m` : text);
  const out: string[] = [];
  out.push(`barysafe check — ${report.barycenter.issuer} (${report.deployment.type}: ${report.deployment.reason})`);
  for (const [section, results] of bySection(report.results)) {
    out.push('', section);
    for (const r of results) {
      out.push(`  ${paint(r.status, `[${r.status.toUpperCase()}]`.padEnd(9))} ${r.id}  ${r.summary}`);
      const notable = r.status !== 'pass' && r.status !== 'skip';
      if (notable || opts.verbose) {
        for (const e of r.evidence) {
          const obs = e.observed === undefined ? '' : ` → ${valueText(e.observed)}`;
          const exp = e.expected === undefined ? '' : ` (expected ${valueText(e.expected)})`;
          out.push(`             ${e.source}${obs}${exp}${e.note ? ` — ${e.note}` : ''}`);
        }
      }
      if (r.status === 'waived' && r.waiver)
        out.push(`             waived until ${r.waiver.expires}: ${r.waiver.reason} (would be ${r.raw_status})`);
      else if (r.waiver?.expired) out.push(`             waiver expired ${r.waiver.expires}: ${r.waiver.reason}`);
      if (notable && r.status !== 'waived' && r.remediation) out.push(`             fix: ${r.remediation}`);
    }
  }
  for (const w of report.warnings) out.push('', `warning: ${w}`);
  out.push('', summaryLine(report));
  return out.join('\n') + '\n';
}
