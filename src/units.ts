import { BarysafeError, ExitCode } from './errors.js';

/**
 * Durations and byte sizes as people write them in barysafe.toml and on the command line, and
 * byte counts as barysafe prints them: one parser and one printer for every command and check.
 */

/** "90m", "26h", "7d", "2w", "30s" (a decimal number, optional space, one unit). */
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/;
const DURATION_UNITS = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 } as const;

/** Milliseconds of a duration such as "90m" / "26h" / "7d". */
export function parseDuration(text: string): number {
  const m = DURATION_PATTERN.exec(text.trim());
  if (!m) {
    throw new BarysafeError('usage', `${JSON.stringify(text)} is not a duration`, {
      exitCode: ExitCode.USAGE,
      hint: 'write it as a number and one of s, m, h, d, w: "90m", "26h", "7d"',
    });
  }
  return Number(m[1]) * DURATION_UNITS[m[2] as keyof typeof DURATION_UNITS];
}

export function isDuration(text: string): boolean {
  return DURATION_PATTERN.test(text.trim());
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** Bytes of a size such as "500MB", "2GiB", "1.5GB" or a plain number. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new BarysafeError('usage', `${JSON.stringify(text)} is not a size`, {
      exitCode: ExitCode.USAGE,
      hint: 'write it as 500MB, 2GiB, 1.5GB or a number of bytes',
    });
  }
  return Math.floor(Number(m[1]) * unit);
}

/** 1536 -> "1.5 KiB"; null (unknown) -> "—". */
export function formatBytes(n: number | null): string {
  if (n === null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
