import type { CheckReport } from '../checks/report.js';
import { bySection, summaryLine, valueText } from './views.js';

const cell = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
const ICON: Record<string, string> = {
  pass: '✅ pass',
  fail: '❌ fail',
  warn: '⚠️ warn',
  manual: '👁 manual',
  skip: '⏭ skip',
  error: '⛔ error',
  waived: '📝 waived',
};

/** The auditor's report: summary, control matrix, then every check's evidence (Markdown, self-contained). */
export function renderMarkdown(report: CheckReport): string {
  const o: string[] = [];
  o.push(`# Barycenter production checklist — evidence report`, '');
  o.push(`| | |`, `|---|---|`);
  o.push(`| Issuer | ${cell(report.barycenter.issuer)} |`);
  o.push(`| Public URL | ${cell(report.barycenter.public_url ?? '(not set)')} |`);
  o.push(`| Deployment | ${report.deployment.type} (${cell(report.deployment.reason)}) |`);
  o.push(`| Host | ${cell(report.host)} |`);
  o.push(`| Generated | ${report.generated_at} by barysafe ${report.tool.version} |`);
  o.push(`| Result | ${cell(summaryLine(report))} — exit code ${report.exit_code} |`, '');
  o.push(`## Control matrix`, '', `| Check | Title | Severity | Status | Finding |`, `|---|---|---|---|---|`);
  for (const r of report.results)
    o.push(
      `| [\`${r.id}\`](#${anchor(r.id)}) | ${cell(r.title)} | ${r.severity} | ${ICON[r.status]} | ${cell(r.summary)} |`,
    );
  for (const w of report.warnings) o.push('', `> Warning: ${cell(w)}`);
  o.push('', `## Evidence`);
  for (const [section, results] of bySection(report.results)) {
    o.push('', `### ${section}`);
    for (const r of results) {
      o.push(
        '',
        `#### ${r.id}`,
        '',
        `**${cell(r.title)}** — ${ICON[r.status]}${r.status === 'waived' ? ` (raw status: ${r.raw_status})` : ''}, severity ${r.severity}`,
        '',
      );
      o.push(`- Finding: ${r.summary}`, `- Why: ${r.rationale}`);
      if (r.waiver)
        o.push(
          `- Waiver: ${r.waiver.reason}, expires ${r.waiver.expires}${r.waiver.expired ? ' (**expired**, not applied)' : ''}`,
        );
      if (r.status !== 'pass' && r.remediation) o.push(`- Remediation: ${r.remediation}`);
      if (r.evidence.length) {
        o.push('', `| Source | Observed | Expected | Note |`, `|---|---|---|---|`);
        for (const e of r.evidence)
          o.push(
            `| ${cell(e.source)} | ${cell(valueText(e.observed))} | ${cell(valueText(e.expected))} | ${cell(e.note ?? '')} |`,
          );
      }
    }
  }
  return o.join('\n') + '\n';
}

function anchor(id: string): string {
  return id
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');
}
