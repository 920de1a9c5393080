/**
 * Inline SVG charts for the HTML report: no script, no font, no external asset, so the file is
 * self-contained and prints as vectors. Hand-written because a chart library would bring a
 * runtime (or a DOM) for three small pictures.
 */
export const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export const COLOURS: Record<string, string> = {
  pass: '#2e7d32',
  fail: '#c62828',
  error: '#6a1b9a',
  warn: '#ef6c00',
  inconclusive: '#ef6c00',
  manual: '#0277bd',
  skip: '#9e9e9e',
  waived: '#5c6bc0',
  none: '#bdbdbd',
};

/** Bars per day (e.g. backup size), zero days shown as gaps. */
export function barChart(points: Array<{ label: string; value: number; count: number }>, title: string): string {
  const w = 720;
  const h = 160;
  const pad = 30;
  const max = Math.max(1, ...points.map((p) => p.value));
  const bw = points.length ? (w - pad * 2) / points.length : 0;
  const bars = points
    .map((p, i) => {
      const bh = ((h - pad * 2) * p.value) / max;
      const x = pad + i * bw;
      const fill = p.count ? COLOURS.pass : COLOURS.fail;
      const mark = p.count
        ? ''
        : `<rect x="${x.toFixed(1)}" y="${h - pad - 3}" width="${Math.max(1, bw - 1).toFixed(1)}" height="3" fill="${fill}"/>`;
      return `<rect x="${x.toFixed(1)}" y="${(h - pad - bh).toFixed(1)}" width="${Math.max(1, bw - 1).toFixed(1)}" height="${bh.toFixed(1)}" fill="${fill}"><title>${esc(p.label)}: ${p.count} backup(s), ${p.value} bytes</title></rect>${mark}`;
    })
    .join('');
  const first = points[0]?.label ?? '';
  const last = points[points.length - 1]?.label ?? '';
  return `<svg class="chart" role="img" aria-label="${esc(title)}" viewBox="0 0 ${w} ${h}" width="100%" xmlns="http://www.w3.org/2000/svg"><title>${esc(title)}</title><line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#777"/>${bars}<text x="${pad}" y="${h - 10}" font-size="11">${esc(first)}</text><text x="${w - pad}" y="${h - 10}" font-size="11" text-anchor="end">${esc(last)}</text><text x="${pad}" y="16" font-size="11">max ${max} bytes; red marks: no backup that day</text></svg>`;
}

/** One point per drill (RTO in seconds), coloured by verdict, with the target as a dashed line. */
export function rtoChart(
  points: Array<{ label: string; ms: number | null; verdict: string }>,
  targetMs: number | null,
): string {
  const w = 720;
  const h = 160;
  const pad = 30;
  const values = points.map((p) => p.ms ?? 0);
  const max = Math.max(1, targetMs ?? 0, ...values) * 1.1;
  const step = points.length > 1 ? (w - pad * 2) / (points.length - 1) : 0;
  const y = (ms: number) => h - pad - ((h - pad * 2) * ms) / max;
  const dots = points
    .map((p, i) => {
      const x = points.length > 1 ? pad + i * step : w / 2;
      return p.ms === null
        ? `<text x="${x.toFixed(1)}" y="${h - pad - 4}" font-size="12" text-anchor="middle" fill="${COLOURS[p.verdict] ?? '#000'}">×<title>${esc(p.label)}: ${esc(p.verdict)}, no RTO</title></text>`
        : `<circle cx="${x.toFixed(1)}" cy="${y(p.ms).toFixed(1)}" r="4" fill="${COLOURS[p.verdict] ?? '#000'}"><title>${esc(p.label)}: ${esc(p.verdict)}, RTO ${(p.ms / 1000).toFixed(1)} s</title></circle>`;
    })
    .join('');
  const target =
    targetMs !== null
      ? `<line x1="${pad}" x2="${w - pad}" y1="${y(targetMs).toFixed(1)}" y2="${y(targetMs).toFixed(1)}" stroke="${COLOURS.fail}" stroke-dasharray="4 3"/><text x="${w - pad}" y="${(y(targetMs) - 4).toFixed(1)}" font-size="11" text-anchor="end">target ${(targetMs / 1000).toFixed(0)} s</text>`
      : '';
  return `<svg class="chart" role="img" aria-label="Drill RTO over time" viewBox="0 0 ${w} ${h}" width="100%" xmlns="http://www.w3.org/2000/svg"><title>Drill RTO over time</title><line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#777"/>${target}${dots}<text x="${pad}" y="16" font-size="11">RTO per drill (max ${(max / 1000).toFixed(1)} s)</text></svg>`;
}

/** A stacked bar of counts by status. */
export function statusBar(counts: Record<string, number>, label: string): string {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const w = 720;
  let x = 0;
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => {
      const width = (w * n) / Math.max(1, total);
      const r = `<rect x="${x.toFixed(1)}" y="0" width="${width.toFixed(1)}" height="18" fill="${COLOURS[status] ?? '#999'}"><title>${n} ${esc(status)}</title></rect>`;
      x += width;
      return r;
    })
    .join('');
  return `<svg class="bar" role="img" aria-label="${esc(label)}" viewBox="0 0 ${w} 18" width="100%" height="18" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg"><title>${esc(label)}</title>${parts || `<rect width="${w}" height="18" fill="${COLOURS.none}"/>`}</svg>`;
}
