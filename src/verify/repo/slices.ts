import { createHash } from 'node:crypto';
import { BarysafeError, ExitCode } from '../../errors.js';

/**
 * `--read-data-subset n/t`: the objects of slice n of t. An object's slice follows from a hash of
 * its key, so it never moves when snapshots are added or pruned: t runs, one per slice, read every
 * object that existed throughout exactly once (restic's subsets are by pack id for the same reason).
 */
export interface SubsetSpec {
  /** 1…t, or 'auto': the next slice after the one the cursor in the state directory names. */
  n: number | 'auto';
  t: number;
}

const MAX_SLICES = 10_000;

export function parseSubset(text: string): SubsetSpec {
  const m = /^(auto|\d+)\/(\d+)$/.exec(text.trim());
  const t = m ? Number(m[2]) : NaN;
  const n = m?.[1] === 'auto' ? 'auto' : Number(m?.[1]);
  if (!m || !(t >= 1 && t <= MAX_SLICES) || (n !== 'auto' && !(n >= 1 && n <= t))) {
    throw new BarysafeError('usage', `--read-data-subset ${JSON.stringify(text)} is not n/t (1 ≤ n ≤ t) or auto/t`, {
      exitCode: ExitCode.USAGE,
      hint: 'e.g. --read-data-subset 2/7 reads the second of seven slices; auto/7 reads the next one each run',
    });
  }
  return { n, t };
}

/** The slice (1…t) an object key belongs to. */
export function sliceOf(objectKey: string, t: number): number {
  const h = createHash('sha256').update(objectKey).digest();
  return (h.readUIntBE(0, 6) % t) + 1;
}
