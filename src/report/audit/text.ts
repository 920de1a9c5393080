import { formatBytes } from '../../units.js';
/** Number formats shared by the HTML and Markdown renderers, so both say exactly the same. */
export function duration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 2 * 3600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 3 * 86400_000) return `${(ms / 3600_000).toFixed(1)} h`;
  return `${(ms / 86400_000).toFixed(1)} d`;
}

export const bytes = formatBytes;

export const pct = (r: number | null) => (r === null ? '—' : `${Math.round(r * 1000) / 10} %`);

export const met = (v: boolean | null) => (v === null ? '' : v ? 'met' : 'MISSED');

export const FRAMEWORK_LABELS: Record<string, string> = {
  soc2: 'SOC 2',
  iso27001: 'ISO 27001',
  'nist-800-53': 'NIST 800-53',
  'pci-dss': 'PCI DSS',
};

export function frameworksText(f: Record<string, string[]>): string {
  return Object.entries(FRAMEWORK_LABELS)
    .filter(([k]) => f[k]?.length)
    .map(([k, label]) => `${label} ${f[k]!.join(', ')}`)
    .join('; ');
}
