import { stateOf, type AgentView } from './view.js';

/**
 * The status page at / of the listener: server-rendered, one self-contained document (inline CSS,
 * no script, no font, no image), so it works on an air-gapped host and its Content-Security-Policy
 * can forbid every external load.
 */
export const STATUS_PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function ageText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

function when(view: AgentView, iso: string | undefined): string {
  if (!iso) return '<span class="muted">never</span>';
  const t = Date.parse(iso);
  const d = (view.now.getTime() - t) / 1000;
  const rel = d >= 0 ? `${ageText(d)} ago` : `in ${ageText(-d)}`;
  return `<time datetime="${esc(iso)}" title="${esc(iso)}">${esc(rel)}</time>`;
}

function badge(kind: 'ok' | 'bad' | 'warn' | 'muted', text: string): string {
  return `<span class="badge ${kind}">${esc(text)}</span>`;
}

function vsTarget(value: number | null | undefined, target: number | undefined): string {
  if (value === null || value === undefined) return '<span class="muted">unknown</span>';
  const v = esc(ageText(value));
  if (target === undefined) return `${v} <span class="muted">(no target)</span>`;
  return `${v} ${value <= target ? badge('ok', `≤ ${ageText(target)}`) : badge('bad', `> ${ageText(target)}`)}`;
}

export function renderStatusPage(view: AgentView): string {
  const rows = view.jobs
    .map((j) => {
      const s = j.state;
      const result = j.running
        ? badge('warn', 'running')
        : !s.last_run
          ? badge('muted', 'not run yet')
          : s.last_run.success
            ? badge('ok', 'success')
            : badge('bad', `failed (exit ${s.last_run.exit_code})`);
      const skip = s.last_skip
        ? `<div class="muted small">skipped ${when(view, s.last_skip.at)}: ${esc(s.last_skip.reason)}</div>`
        : '';
      return `<tr>
  <th scope="row">${esc(j.job)}</th>
  <td><code>${esc(j.schedule?.expression ?? 'not scheduled')}</code></td>
  <td>${when(view, s.last_run?.finished_at)} ${result}${s.last_run ? `<div class="small">${esc(s.last_run.summary)}</div>` : ''}${skip}</td>
  <td>${when(view, s.last_success?.finished_at)}</td>
  <td>${j.nextRun ? when(view, j.nextRun.toISOString()) : '<span class="muted">—</span>'}</td>
</tr>`;
    })
    .join('\n');

  const backup = stateOf(view, 'backup')?.backup;
  const snapshotAge = backup ? (view.now.getTime() - Date.parse(backup.created_at)) / 1000 : undefined;
  const drill = stateOf(view, 'drill')?.drill;
  const check = stateOf(view, 'check')?.check;
  const counts = check
    ? Object.entries(check.counts)
        .filter(([k, n]) => k !== 'total' && n > 0)
        .map(([k, n]) =>
          badge(
            k === 'fail' || k === 'error' ? 'bad' : k === 'warn' ? 'warn' : k === 'pass' ? 'ok' : 'muted',
            `${n} ${k}`,
          ),
        )
        .join(' ')
    : '<span class="muted">no check run yet</span>';
  const keyAge = backup ? (view.now.getTime() - Date.parse(backup.key_first_seen_at)) / 1000 : undefined;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>barysafe agent on ${esc(view.host)}</title>
<style>
  :root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #6e7781; }
  body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; }
  h1 { font-size: 1.4rem; margin-bottom: .2rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
  table { border-collapse: collapse; width: 100%; } th, td { text-align: left; vertical-align: top; padding: .45rem .6rem; border-bottom: 1px solid #d0d7de; }
  thead th { font-weight: 600; border-bottom-width: 2px; }
  .badge { display: inline-block; padding: 0 .45rem; border-radius: .6rem; font-size: .82rem; font-weight: 600; color: #fff; }
  .ok { background: var(--ok); } .bad { background: var(--bad); } .warn { background: var(--warn); } .badge.muted { background: var(--muted); color: #fff; }
  .muted { color: var(--muted); } .small { font-size: .85rem; } code { font-size: .9rem; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1.2rem; } dt { font-weight: 600; }
</style>
</head>
<body>
<header>
<h1>barysafe agent on ${esc(view.host)}</h1>
<p class="muted">barysafe ${esc(view.version)} · schedules in ${esc(view.timezone)} · page rendered <time datetime="${view.now.toISOString()}">${esc(view.now.toISOString())}</time></p>
</header>
<main>
<h2>Jobs</h2>
<table>
<thead><tr><th scope="col">job</th><th scope="col">schedule</th><th scope="col">last run</th><th scope="col">last success</th><th scope="col">next run</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>

<h2>Last snapshot</h2>
${
  backup
    ? `<dl>
<dt>snapshot</dt><dd><code>${esc(backup.snapshot_id)}</code></dd>
<dt>created</dt><dd>${when(view, backup.created_at)} ${snapshotAge !== undefined && snapshotAge <= view.rpoTargetSeconds ? badge('ok', `within RPO ${ageText(view.rpoTargetSeconds)}`) : badge('bad', `older than RPO ${ageText(view.rpoTargetSeconds)}`)}</dd>
<dt>size</dt><dd>${esc(String(backup.bytes))} bytes encrypted</dd>
</dl>`
    : '<p class="muted">no snapshot known yet</p>'
}

<h2>Last drill</h2>
${
  drill
    ? `<dl>
<dt>verdict</dt><dd>${badge(drill.verdict === 'pass' ? 'ok' : 'bad', drill.verdict)} ${when(view, drill.finished_at)}</dd>
<dt>snapshot</dt><dd><code>${esc(drill.snapshot_id ?? '(none)')}</code></dd>
<dt>RTO</dt><dd>${vsTarget(drill.rto_seconds, drill.rto_target_seconds ?? view.rtoTargetSeconds)}</dd>
<dt>RPO</dt><dd>${vsTarget(drill.rpo_seconds, drill.rpo_target_seconds ?? view.drillRpoTargetSeconds)}</dd>
</dl>`
    : '<p class="muted">no drill run yet</p>'
}

<h2>Checks</h2>
<p>${counts}${check ? ` <span class="muted small">(${when(view, check.finished_at)})</span>` : ''}</p>

<h2>Signing key</h2>
${
  backup
    ? `<dl>
<dt>kid</dt><dd><code>${esc(backup.key_kid ?? '(none)')}</code></dd>
<dt>thumbprint</dt><dd><code>${esc(backup.key_thumbprint)}</code></dd>
<dt>age</dt><dd>${esc(ageText(keyAge!))} <span class="muted small">(first snapshot holding it: ${esc(backup.key_first_seen_at)})</span></dd>
</dl>`
    : '<p class="muted">no snapshot known yet</p>'
}
</main>
</body>
</html>
`;
}
