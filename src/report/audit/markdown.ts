import type { AuditReport } from './model.js';
import { bytes, duration, frameworksText, met, pct } from './text.js';

/** The same content as the HTML report, as Markdown tables (charts become their numbers). */
export const MD_ATTESTATION = /<!-- barysafe-attestation: ([A-Za-z0-9+/=]*) -->\n$/;
const PLACEHOLDER = '<!-- barysafe-attestation:  -->\n';

const cell = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
const tbl = (head: string[], rows: string[][]) => [
  `| ${head.join(' | ')} |`,
  `|${head.map(() => '---').join('|')}|`,
  ...(rows.length ? rows.map((r) => `| ${r.map(cell).join(' | ')} |`) : [`| ${head.map(() => '—').join(' | ')} |`]),
  '',
];

export function renderAuditMarkdown(r: AuditReport): string {
  const o: string[] = [];
  o.push(`# Barycenter backup, recovery and hardening — evidence report`, '');
  o.push(
    `**${r.summary.status.toUpperCase()}** — period ${r.period.since.slice(0, 10)} – ${r.period.until.slice(0, 10)} (${r.period.days} days), generated ${r.generated_at} by barysafe ${r.tool.version}, report \`${r.id}\``,
    '',
  );
  o.push(
    `## Summary`,
    '',
    ...tbl(
      ['Section', 'Status', 'Detail'],
      r.summary.sections.map((s) => [s.name, s.status, s.detail]),
    ),
  );
  if (r.summary.checks)
    o.push(
      `Checks by status: ${Object.entries(r.summary.checks)
        .filter(([, n]) => n > 0)
        .map(([s, n]) => `${n} ${s}`)
        .join(', ')}`,
      '',
    );
  o.push(
    `Open fails: ${r.summary.open_fails.length ? r.summary.open_fails.map((x) => `\`${x}\``).join(', ') : 'none'}`,
    '',
  );

  o.push(`## Control matrix`, '');
  o.push(
    r.controls.report
      ? `From the check run of ${r.controls.generated_at} (\`${r.controls.report.name}\`, sha256 \`${r.controls.report.digest.sha256}\`).`
      : 'No check run in the period.',
    '',
  );
  o.push(
    ...tbl(
      ['Check', 'Status', 'Severity', 'Finding and evidence', 'Remediation', 'Waiver', 'Framework controls'],
      r.controls.rows.map((c) => [
        `\`${c.id}\` ${c.title}`,
        c.status,
        c.severity,
        [c.summary, ...c.evidence].join('\n'),
        c.remediation,
        c.waiver ? `${c.waiver.reason} (until ${c.waiver.expires}${c.waiver.expired ? ', expired' : ''})` : '',
        frameworksText(c.frameworks),
      ]),
    ),
  );

  const b = r.backups;
  o.push(`## Backup history`, '');
  o.push(
    `${b.succeeded} backups succeeded, ${b.failed} failed; RPO target ${duration(b.rpo_target_ms)}; latest size ${bytes(b.bytes_last)}.`,
    '',
  );
  o.push(
    `### Per day`,
    '',
    ...tbl(
      ['Date', 'Backups', 'Size'],
      b.per_day.map((d) => [d.date, String(d.count), bytes(d.bytes)]),
    ),
  );
  o.push(
    `### Gaps longer than the RPO`,
    '',
    ...tbl(
      ['From', 'To', 'Hours'],
      b.gaps.map((g) => [g.from, g.to, String(g.hours)]),
    ),
  );
  o.push(
    `### Recipients`,
    '',
    ...tbl(
      ['Recipient fingerprint', 'Snapshots'],
      b.recipients.map((x) => [x.fingerprint, String(x.snapshots)]),
    ),
  );
  o.push(
    `### Runs`,
    '',
    ...tbl(
      ['#', 'Finished', 'Outcome', 'Snapshot', 'Size', 'Summary'],
      b.runs.map((x) => [
        String(x.sequence),
        x.finished_at,
        x.outcome,
        x.snapshot_id ?? '—',
        bytes(x.bytes),
        x.summary,
      ]),
    ),
  );

  const v = r.verification;
  o.push(
    `## Verification coverage`,
    '',
    `${v.drilled} of ${v.snapshots} snapshots drilled, ${v.verified} verified; coverage ${pct(v.coverage_ratio)}.`,
    '',
    ...tbl(
      ['#', 'Finished', 'Outcome', 'Summary'],
      v.runs.map((x) => [String(x.sequence), x.finished_at, x.outcome, x.summary]),
    ),
  );

  const d = r.drills;
  o.push(
    `## Drill history`,
    '',
    `${d.count} drills, ${d.passed} passed, ${d.failed} failed; last pass ${d.last_pass ?? 'never'}; RTO target ${duration(d.rto_target_ms)}, RPO target ${duration(d.rpo_target_ms)}.`,
    '',
    ...tbl(
      ['#', 'Finished', 'Snapshot', 'Verdict', 'RTO', 'RPO', 'Failed steps', 'Barycenter booted'],
      d.runs.map((x) => [
        String(x.sequence),
        x.finished_at,
        x.snapshot_id ?? '—',
        x.verdict,
        `${duration(x.rto_ms)} ${met(x.rto_met)}`.trim(),
        `${duration(x.rpo_ms)} ${met(x.rpo_met)}`.trim(),
        x.failed_steps.join(', '),
        x.barycenter ?? '—',
      ]),
    ),
  );

  const k = r.keys;
  o.push(`## Key continuity`, '');
  o.push(
    k.current
      ? `Current signing key kid \`${k.current.kid ?? '—'}\`, thumbprint \`${k.current.thumbprint}\`, first seen ${k.current.first_seen} (${k.current.age_days} days); ${k.rotations.length} rotation(s) in the period.`
      : 'No backup in the period.',
    '',
  );
  o.push(
    `### Rotations`,
    '',
    ...tbl(
      ['At', 'Snapshot', 'From kid', 'To kid'],
      k.rotations.map((x) => [x.at, x.snapshot_id ?? '—', x.from ?? '—', x.to ?? '—']),
    ),
  );
  o.push(
    `### Per snapshot`,
    '',
    ...tbl(
      ['Snapshot', 'Created', 'kid', 'Thumbprint'],
      k.snapshots.map((x) => [x.snapshot_id ?? '—', x.created_at, x.kid ?? '—', x.thumbprint ?? '—']),
    ),
  );

  const e = r.environment;
  o.push(
    `## Environment`,
    '',
    ...tbl(
      ['', ''],
      [
        ['Host', e.host],
        ['Deployment', e.deployment ?? '—'],
        ['Issuer', e.issuer ?? '—'],
        ['Repository', e.repository],
        ['Config digest (secrets removed)', e.config_digest ?? '—'],
        ['Evidence signing key', e.signing_key],
        ['barysafe', r.tool.version],
      ],
    ),
  );

  const ev = r.evidence;
  o.push(
    `## Evidence chain`,
    '',
    `**${ev.ok ? 'PASS' : 'FAIL'}** — ${ev.records} record(s); head ${ev.head ? `#${ev.head.sequence} \`${ev.head.key}\` sha256 \`${ev.head.sha256}\`` : '—'}; ${ev.runs_in_period} run(s) in the period; this report cites ${r.cites.length} record(s) and document(s) by digest.`,
    '',
    ...tbl(
      ['Run', 'pass', 'fail', 'inconclusive', 'error'],
      Object.entries(ev.by_run).map(([run, c]) => [
        run,
        String(c.pass),
        String(c.fail),
        String(c.inconclusive),
        String(c.error),
      ]),
    ),
  );
  if (ev.problems.length)
    o.push(
      ...tbl(
        ['Record', 'Problem'],
        ev.problems.map((p) => [p.key, p.problem]),
      ),
    );
  else o.push('No problem found.', '');
  for (const n of ev.notes) o.push(`> ${cell(n)}`, '');
  o.push(
    'Verify this file with `barysafe verify-report FILE`: it is signed, and it names every record it relies on by SHA-256.',
    '',
  );
  return o.join('\n') + PLACEHOLDER;
}
