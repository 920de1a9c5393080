import type { CheckContext, CheckDefinition, CheckOutcome } from './types.js';
import { freeSpace, nearestExisting } from './evidence/filesystem.js';
import { dataDirOf } from './permissions.js';

/** Free space on the file system holding the data directory (statfs(2)). */
async function diskUsage(ctx: CheckContext): Promise<CheckOutcome> {
  const min = ctx.config.checks.disk_free_min_percent;
  const dir = dataDirOf(ctx);
  const existing = await nearestExisting(dir);
  if (existing === '/' && dir !== '/' && (ctx.deployment === 'docker' || ctx.deployment === 'kubernetes')) {
    return {
      status: 'error',
      summary: `${dir} is not visible from this host (container path); run barysafe where the data volume is mounted`,
      evidence: [],
    };
  }
  try {
    const s = await freeSpace(existing);
    const pct = Math.round(s.freePercent * 10) / 10;
    const ev = {
      source: `statfs(${existing})${existing !== dir ? ` (nearest existing parent of ${dir})` : ''}`,
      observed: `${pct}% free (${(s.freeBytes / 2 ** 30).toFixed(1)} GiB of ${(s.totalBytes / 2 ** 30).toFixed(1)} GiB)`,
      expected: `≥ ${min}% free (checks.disk_free_min_percent)`,
    };
    return pct >= min
      ? { status: 'pass', summary: `${pct}% free on the data volume`, evidence: [ev] }
      : { status: 'fail', summary: `only ${pct}% free on the data volume (minimum ${min}%)`, evidence: [ev] };
  } catch (e) {
    return { status: 'error', summary: `statfs(${existing}) failed: ${(e as Error).message}`, evidence: [] };
  }
}

export const checks: CheckDefinition[] = [
  {
    id: 'monitoring.disk-usage',
    section: 'monitoring',
    title: 'Free space on the data volume is above the threshold',
    rationale: 'SQLite fails writes when the disk fills; logins and token issuance then stop.',
    severity: 'medium',
    remediation: {
      kubernetes: 'Grow the PVC (persistence.size) or clean up; alert on kubelet_volume_stats_available_bytes.',
      default: 'Free or add space on the file system holding the data directory, and alert before it fills.',
    },
    run: diskUsage,
  },
];
