import { BarysafeError, ExitCode } from '../../errors.js';

/**
 * `--max-egress`: a download budget. Every read (manifests, ranged header reads, bodies) is
 * counted; a body is started only when it fits in what is left, so the run stops before the
 * budget is exceeded, never after, and says what it did not read.
 */
const UNITS: Record<string, number> = {
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

export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new BarysafeError('usage', `${JSON.stringify(text)} is not a size`, {
      exitCode: ExitCode.USAGE,
      hint: 'write it as 500MB, 2GiB, 1.5GB or a number of bytes',
    });
  }
  return Math.floor(Number(m[1]) * unit);
}

export class EgressBudget {
  used = 0;
  constructor(readonly limit: number | null) {}

  /** Takes `bytes` from the budget if they fit (before the read starts); false, and nothing taken, if not. */
  reserve(bytes: number): boolean {
    if (this.limit !== null && this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  /** Corrects a reservation by what was really read (a ranged read can return fewer bytes). */
  settle(reserved: number, actual: number): void {
    this.used += actual - reserved;
  }

  /** Counts a read that is not optional (a manifest: without it nothing can be checked). */
  add(bytes: number): void {
    this.used += bytes;
  }
}
