import type { AuditReport } from './model.js';
import { barChart, COLOURS, esc, rtoChart, statusBar } from './svg.js';
import { bytes, duration, frameworksText, met, pct } from './text.js';

/** Where the signed attestation goes; verify-report empties it again to recompute the digest. */
export const HTML_ATTESTATION =
  /<script type="application\/vnd\.in-toto\+json" id="barysafe-attestation">([^<]*)<\/script>/;
const PLACEHOLDER = '<script type="application/vnd.in-toto+json" id="barysafe-attestation"></script>';

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1b1b;max-width:1100px;margin:2em auto;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.8em;break-after:avoid}
table{border-collapse:collapse;width:100%;margin:.6em 0;font-size:.92em}th,td{border:1px solid #ddd;padding:4px 6px;vertical-align:top;text-align:left}
th{background:#f4f4f4}tr{break-inside:avoid}.s{font-weight:600;white-space:nowrap}.mono{font-family:ui-monospace,monospace;font-size:.9em;word-break:break-all}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:600}.muted{color:#666}
svg.chart{max-width:720px;display:block;margin:.4em 0}svg.bar{max-width:720px;display:block}
@media print{body{margin:0;max-width:none;font-size:11px}a{color:inherit;text-decoration:none}h2{break-before:auto}}
`;

const status = (s: string) => `<span class="s" style="color:${COLOURS[s] ?? '#000'}">${esc(s)}</span>`;
const badge = (s: string) =>
  `<span class="badge" style="background:${COLOURS[s] ?? '#555'}">${esc(s.toUpperCase())}</span>`;
const row = (cells: string[]) => `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
const table = (head: string[], rows: string[]) =>
  `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('') || `<tr><td colspan="${head.length}" class="muted">none</td></tr>`}</tbody></table>`;

/** One self-contained HTML file: inline CSS and SVG, no script that runs, no external asset. */
export function renderAuditHtml(r: AuditReport): string {
  const o: string[] = [];
  o.push(
    `<!doctype html>`,
    `<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">`,
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>barysafe evidence report — ${esc(r.environment.issuer ?? r.environment.host)}</title><style>${CSS}</style></head><body>`,
  );
  o.push(
    `<h1>Barycenter backup, recovery and hardening — evidence report</h1>`,
    `<p>${badge(r.summary.status)} &nbsp;Period ${esc(r.period.since.slice(0, 10))} – ${esc(r.period.until.slice(0, 10))} (${r.period.days} days) · generated ${esc(r.generated_at)} by barysafe ${esc(r.tool.version)} · report <span class="mono">${esc(r.id)}</span></p>`,
  );

  o.push(`<h2 id="summary">Summary</h2>`);
  o.push(
    table(
      ['Section', 'Status', 'Detail'],
      r.summary.sections.map((s) => row([esc(s.name), status(s.status), esc(s.detail)])),
    ),
  );
  if (r.summary.checks) o.push(`<p>Checks by status</p>`, statusBar(r.summary.checks, 'checks by status'));
  o.push(
    `<p>Open fails: ${r.summary.open_fails.length ? r.summary.open_fails.map((id) => `<a href="#c-${esc(id)}" class="mono">${esc(id)}</a>`).join(', ') : 'none'}</p>`,
  );

  o.push(`<h2 id="controls">Control matrix</h2>`);
  o.push(
    r.controls.report
      ? `<p class="muted">From the check run of ${esc(r.controls.generated_at ?? '')} (<span class="mono">${esc(r.controls.report.name)}</span>, sha256 <span class="mono">${esc(r.controls.report.digest.sha256)}</span>).</p>`
      : `<p>No check run in the period.</p>`,
  );
  o.push(
    table(
      ['Check', 'Status', 'Severity', 'Finding and evidence', 'Remediation', 'Waiver', 'Framework controls'],
      r.controls.rows.map(
        (c) =>
          `<tr id="c-${esc(c.id)}">` +
          [
            `<span class="mono">${esc(c.id)}</span><br>${esc(c.title)}`,
            status(c.status),
            esc(c.severity),
            `${esc(c.summary)}${c.evidence.length ? `<br><span class="muted">${c.evidence.map(esc).join('<br>')}</span>` : ''}`,
            esc(c.remediation),
            c.waiver
              ? `${esc(c.waiver.reason)}<br>until ${esc(c.waiver.expires)}${c.waiver.expired ? ' (expired)' : ''}`
              : '',
            esc(frameworksText(c.frameworks)),
          ]
            .map((x) => `<td>${x}</td>`)
            .join('') +
          `</tr>`,
      ),
    ),
  );

  const b = r.backups;
  o.push(`<h2 id="backups">Backup history</h2>`);
  o.push(
    `<p>${b.succeeded} backups succeeded, ${b.failed} failed; RPO target ${esc(duration(b.rpo_target_ms))}; latest size ${esc(bytes(b.bytes_last))}.</p>`,
    barChart(
      b.per_day.map((d) => ({ label: d.date, value: d.bytes, count: d.count })),
      'Backup size per day',
    ),
  );
  o.push(
    `<h3>Gaps longer than the RPO</h3>`,
    table(
      ['From', 'To', 'Hours'],
      b.gaps.map((g) => row([esc(g.from), esc(g.to), String(g.hours)])),
    ),
  );
  o.push(
    `<h3>Recipients</h3>`,
    table(
      ['Recipient fingerprint', 'Snapshots'],
      b.recipients.map((x) => row([`<span class="mono">${esc(x.fingerprint)}</span>`, String(x.snapshots)])),
    ),
  );
  o.push(
    `<h3>Runs</h3>`,
    table(
      ['#', 'Finished', 'Outcome', 'Snapshot', 'Size', 'Summary'],
      b.runs.map((x) =>
        row([
          String(x.sequence),
          esc(x.finished_at),
          status(x.outcome),
          `<span class="mono">${esc(x.snapshot_id ?? '—')}</span>`,
          esc(bytes(x.bytes)),
          esc(x.summary),
        ]),
      ),
    ),
  );

  const v = r.verification;
  o.push(
    `<h2 id="verification">Verification coverage</h2>`,
    `<p>${v.drilled} of ${v.snapshots} snapshots drilled, ${v.verified} verified; coverage ${esc(pct(v.coverage_ratio))}.</p>`,
    table(
      ['#', 'Finished', 'Outcome', 'Summary'],
      v.runs.map((x) => row([String(x.sequence), esc(x.finished_at), status(x.outcome), esc(x.summary)])),
    ),
  );

  const d = r.drills;
  o.push(
    `<h2 id="drills">Drill history</h2>`,
    `<p>${d.count} drills, ${d.passed} passed, ${d.failed} failed; last pass ${esc(d.last_pass ?? 'never')}; RTO target ${esc(duration(d.rto_target_ms))}, RPO target ${esc(duration(d.rpo_target_ms))}.</p>`,
    rtoChart(
      d.runs.map((x) => ({ label: x.finished_at, ms: x.rto_ms, verdict: x.verdict })),
      d.rto_target_ms,
    ),
    table(
      ['#', 'Finished', 'Snapshot', 'Verdict', 'RTO', 'RPO', 'Failed steps', 'Barycenter booted'],
      d.runs.map((x) =>
        row([
          String(x.sequence),
          esc(x.finished_at),
          `<span class="mono">${esc(x.snapshot_id ?? '—')}</span>`,
          status(x.verdict),
          `${esc(duration(x.rto_ms))} ${esc(met(x.rto_met))}`,
          `${esc(duration(x.rpo_ms))} ${esc(met(x.rpo_met))}`,
          esc(x.failed_steps.join(', ')),
          `<span class="mono">${esc(x.barycenter ?? '—')}</span>`,
        ]),
      ),
    ),
  );

  const k = r.keys;
  o.push(
    `<h2 id="keys">Key continuity</h2>`,
    k.current
      ? `<p>Current signing key kid <span class="mono">${esc(k.current.kid ?? '—')}</span>, thumbprint <span class="mono">${esc(k.current.thumbprint)}</span>, first seen ${esc(k.current.first_seen)} (${k.current.age_days} days); ${k.rotations.length} rotation(s) in the period.</p>`
      : `<p>No backup in the period.</p>`,
    `<h3>Rotations</h3>`,
    table(
      ['At', 'Snapshot', 'From kid', 'To kid'],
      k.rotations.map((x) =>
        row([
          esc(x.at),
          `<span class="mono">${esc(x.snapshot_id ?? '—')}</span>`,
          esc(x.from ?? '—'),
          esc(x.to ?? '—'),
        ]),
      ),
    ),
    `<h3>Per snapshot</h3>`,
    table(
      ['Snapshot', 'Created', 'kid', 'Thumbprint'],
      k.snapshots.map((x) =>
        row([
          `<span class="mono">${esc(x.snapshot_id ?? '—')}</span>`,
          esc(x.created_at),
          `<span class="mono">${esc(x.kid ?? '—')}</span>`,
          `<span class="mono">${esc(x.thumbprint ?? '—')}</span>`,
        ]),
      ),
    ),
  );

  const e = r.environment;
  o.push(
    `<h2 id="environment">Environment</h2>`,
    table(
      ['', ''],
      [
        row(['Host', esc(e.host)]),
        row(['Deployment', esc(e.deployment ?? '—')]),
        row(['Issuer', esc(e.issuer ?? '—')]),
        row(['Repository', `<span class="mono">${esc(e.repository)}</span>`]),
        row(['Config digest (secrets removed)', `<span class="mono">${esc(e.config_digest ?? '—')}</span>`]),
        row(['Evidence signing key', `<span class="mono">${esc(e.signing_key)}</span>`]),
        row(['barysafe', esc(r.tool.version)]),
      ],
    ),
  );

  const ev = r.evidence;
  o.push(
    `<h2 id="evidence">Evidence chain</h2>`,
    `<p>${badge(ev.ok ? 'pass' : 'fail')} ${ev.records} record(s); head ${ev.head ? `#${ev.head.sequence} <span class="mono">${esc(ev.head.key)}</span> sha256 <span class="mono">${esc(ev.head.sha256)}</span>` : '—'}; ${ev.runs_in_period} run(s) in the period; this report cites ${r.cites.length} record(s) and document(s) by digest.</p>`,
    table(
      ['Run', 'pass', 'fail', 'inconclusive', 'error'],
      Object.entries(ev.by_run).map(([run, c]) =>
        row([esc(run), String(c.pass), String(c.fail), String(c.inconclusive), String(c.error)]),
      ),
    ),
    ev.problems.length
      ? table(
          ['Record', 'Problem'],
          ev.problems.map((p) => row([`<span class="mono">${esc(p.key)}</span>`, esc(p.problem)])),
        )
      : '<p>No problem found.</p>',
    ...ev.notes.map((n) => `<p class="muted">${esc(n)}</p>`),
  );
  o.push(
    `<p class="muted">Verify this file with <span class="mono">barysafe verify-report FILE</span>: it is signed, and it names every record it relies on by SHA-256.</p>`,
    PLACEHOLDER,
    `</body></html>`,
  );
  return o.join('\n') + '\n';
}
