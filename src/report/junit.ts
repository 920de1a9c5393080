import type { CheckResult } from '../checks/types.js';
import type { CheckReport } from '../checks/report.js';
import { bySection, valueText } from './views.js';

const xml = (s: string) =>
  s
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!)
    // eslint-disable-next-line no-control-regex -- XML 1.0 forbids these characters
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

function details(r: CheckResult): string {
  const ev = r.evidence.map(
    (e) =>
      `${e.source}${e.observed === undefined ? '' : ` → ${valueText(e.observed)}`}${e.expected === undefined ? '' : ` (expected ${valueText(e.expected)})`}${e.note ? ` — ${e.note}` : ''}`,
  );
  return [r.summary, ...ev, r.remediation ? `Remediation: ${r.remediation}` : ''].filter(Boolean).join('\n');
}

/**
 * JUnit XML for CI dashboards: one suite per section, one case per check. fail → <failure>,
 * error → <error>, skip/manual/waived → <skipped> (a person or a waiver decides), warn passes
 * with its finding in <system-out>.
 */
export function renderJunit(report: CheckReport): string {
  const s = report.summary;
  const out = [`<?xml version="1.0" encoding="UTF-8"?>`];
  out.push(
    `<testsuites name="barysafe check" tests="${s.total}" failures="${s.fail}" errors="${s.error}" skipped="${s.skip + s.manual + s.waived}" timestamp="${report.generated_at}">`,
  );
  for (const [section, results] of bySection(report.results)) {
    const count = (st: string) => results.filter((r) => r.status === st).length;
    const time = results.reduce((t, r) => t + r.duration_ms, 0) / 1000;
    out.push(
      `  <testsuite name="${xml(section)}" tests="${results.length}" failures="${count('fail')}" errors="${count('error')}" skipped="${count('skip') + count('manual') + count('waived')}" time="${time.toFixed(3)}" timestamp="${report.generated_at}" hostname="${xml(report.host)}">`,
    );
    for (const r of results) {
      out.push(
        `    <testcase classname="barysafe.${xml(section)}" name="${xml(`${r.id}: ${r.title}`)}" time="${(r.duration_ms / 1000).toFixed(3)}">`,
      );
      const body = xml(details(r));
      if (r.status === 'fail')
        out.push(`      <failure message="${xml(r.summary)}" type="${r.severity}">${body}</failure>`);
      else if (r.status === 'error') out.push(`      <error message="${xml(r.summary)}" type="error">${body}</error>`);
      else if (r.status === 'skip') out.push(`      <skipped message="${xml(`not applicable: ${r.summary}`)}"/>`);
      else if (r.status === 'manual')
        out.push(
          `      <skipped message="${xml(`manual review: ${r.summary}`)}"/>`,
          `      <system-out>${body}</system-out>`,
        );
      else if (r.status === 'waived')
        out.push(
          `      <skipped message="${xml(`waived until ${r.waiver?.expires}: ${r.waiver?.reason} (raw status ${r.raw_status})`)}"/>`,
        );
      else if (r.status === 'warn') out.push(`      <system-out>${xml('WARN: ')}${body}</system-out>`);
      out.push(`    </testcase>`);
    }
    out.push(`  </testsuite>`);
  }
  out.push(`</testsuites>`);
  return out.join('\n') + '\n';
}
