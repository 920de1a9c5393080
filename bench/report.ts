import { MiB } from './shape.js';

export interface CaseResult {
  case: string;
  engine: 'postgres' | 'sqlite';
  targetBytes: number;
  dbBytes: number;
  rows: Record<string, number>;
  generateMs: number;
  reusedDb: boolean;
  /** Plaintext bytes of the database artifact (the pg_dump -Fc stream, or the SQLite copy). */
  dumpBytes: number;
  /** Ciphertext bytes of the database artifact barysafe stored. */
  storedBytes: number;
  barysafe: {
    runs: Array<{
      wallMs: number;
      cpuSeconds: number | null;
      loadBefore: number;
      peakRssKiB: number | null;
      childPeakRssKiB: number | null;
      code: number | null;
      snapshotDurationMs?: number;
    }>;
    wallMs: number;
    cpuSeconds: number | null;
    peakRssKiB: number | null;
    childPeakRssKiB: number | null;
    rssSamples: Array<[number, number]>;
  };
  shell: {
    runs: Array<{
      wallMs: number;
      cpuSeconds: number | null;
      loadBefore: number;
      code: number | null;
      outputBytes: number;
    }>;
    wallMs: number;
    cpuSeconds: number | null;
    outputBytes: number;
  };
  ratio: number;
  /** Database on-disk MiB per barysafe wall second. */
  dbMiBps: number;
  /** Plaintext MiB through barysafe's encrypt → hash → store stream per wall second. */
  streamMiBps: number;
  /** Random blobs rather than Barycenter-shaped rows. */
  blobs: boolean;
  /** `sqlite3 db "PRAGMA integrity_check"` alone (SQLite cases). */
  integrityCheckMs?: number;
  /** SQLite cases: Node's start-up plus the encryption path alone (bench/floor.ts). */
  backupFloor?: { nodeStartMs: number; encryptPathMs: number; floorMs: number };
  /** `barysafe restore --to` vs `age -d` of the shell pipeline's file. */
  restore?: {
    barysafeMs: number;
    shellMs: number;
    /** `age -d` followed by an fsync of its output (shellDecryptDurable). */
    durableShellMs: number;
    peakRssKiB: number | null;
    ratio: number;
  };
  /** `barysafe restore --verify` of the snapshot: wall time and the scratch instance's boot step. */
  drill?: {
    wallMs: number;
    bootMs: number;
    exceptBootMs: number;
    /**
     * `restore --to --check-integrity` of the same snapshot: the restore that does the drill's
     * integrity_check too (a plain restore relies on the backup's), so the two compare like for like.
     */
    checkedRestoreMs: number;
    verdict: string;
    steps: Array<{ name: string; duration_ms: number }>;
    peakRssKiB: number | null;
  };
}

export const mib = (b: number) => b / MiB;
export const fmtMiB = (b: number) =>
  b >= 1024 * MiB ? `${(b / 1024 / MiB).toFixed(2)} GiB` : `${(b / MiB).toFixed(0)} MiB`;
export const fmtKiB = (k: number | null) => (k === null ? 'n/a' : `${(k / 1024).toFixed(0)} MiB`);

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function table(results: CaseResult[]): string {
  const head = [
    'case',
    'DB size',
    'dump',
    'barysafe',
    'shell',
    'ratio',
    'MiB/s (DB)',
    'MiB/s (stream)',
    'peak RSS',
    'pg_dump RSS',
    'CPU s barysafe/shell',
    'load',
  ];
  const rows = results.map((r) => [
    r.case,
    fmtMiB(r.dbBytes),
    fmtMiB(r.dumpBytes),
    `${(r.barysafe.wallMs / 1000).toFixed(1)} s`,
    `${(r.shell.wallMs / 1000).toFixed(1)} s`,
    `${r.ratio.toFixed(2)}×`,
    r.dbMiBps.toFixed(1),
    r.streamMiBps.toFixed(1),
    fmtKiB(r.barysafe.peakRssKiB),
    r.engine === 'postgres' ? fmtKiB(r.barysafe.childPeakRssKiB) : '-',
    `${r.barysafe.cpuSeconds?.toFixed(1) ?? 'n/a'} / ${r.shell.cpuSeconds?.toFixed(1) ?? 'n/a'}`,
    Math.max(...r.barysafe.runs.map((x) => x.loadBefore), ...r.shell.runs.map((x) => x.loadBefore)).toFixed(1),
  ]);
  return markdownTable(head, rows);
}

/** A Markdown table, first column left-aligned, the others right-aligned (numbers). */
export function markdownTable(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  return [
    line(head),
    '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|',
    ...rows.map(line),
  ].join('\n');
}

/**
 * "peak RSS at 64 MiB vs 256 MiB: 95 MiB vs 96 MiB" for each engine with two sizes, and whether
 * that is growth: more than 32 MiB and 25 % above the smaller case (noise between runs of the same
 * size is a few MiB).
 */
export function rssComparison(results: CaseResult[]): Array<{ engine: string; line: string; grows: boolean }> {
  const out: Array<{ engine: string; line: string; grows: boolean }> = [];
  for (const engine of ['sqlite', 'postgres'] as const) {
    const rs = results
      .filter((r) => r.engine === engine && r.barysafe.peakRssKiB !== null)
      .sort((a, b) => a.dbBytes - b.dbBytes);
    if (rs.length < 2) continue;
    const small = rs[0]!;
    const big = rs[rs.length - 1]!;
    const a = small.barysafe.peakRssKiB! / 1024;
    const b = big.barysafe.peakRssKiB! / 1024;
    const grows = b - a > 32 && b > a * 1.25;
    out.push({
      engine,
      grows,
      line:
        `${engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'} peak RSS at ${fmtMiB(small.dbBytes)} vs ${fmtMiB(big.dbBytes)}: ` +
        `${a.toFixed(0)} MiB vs ${b.toFixed(0)} MiB — ${grows ? `GROWS with database size (+${(b - a).toFixed(0)} MiB for ${(big.dbBytes / small.dbBytes).toFixed(1)}× the data)` : 'flat (does not grow with database size)'}`,
    });
  }
  return out;
}
