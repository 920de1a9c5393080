import { parseDuration } from '../units.js';

/**
 * Time-based retention (grandfather-father-son) exactly as restic's `forget` defines it:
 *
 * - `keep_last n`: the n newest snapshots.
 * - `keep_within d`: every snapshot younger than d, measured from the NEWEST SNAPSHOT (not from
 *   now), so a host that stopped backing up does not lose its history to the clock.
 * - `keep_daily/weekly/monthly/yearly n`: walking from the newest snapshot to the oldest, the first
 *   (newest) snapshot of each day / ISO week / month / year is kept, for the n most recent such
 *   periods that hold a snapshot; -1 means every period.
 *
 * A snapshot is kept when any rule keeps it. Periods are UTC calendar periods (restic uses the
 * host's local time; a repository can be pruned from any host, so barysafe fixes one zone).
 * With no rule at all nothing is removed: that is the caller's "no policy" error, not a policy.
 */
export interface RetentionPolicy {
  keep_within?: string;
  keep_last?: number;
  keep_daily?: number;
  keep_weekly?: number;
  keep_monthly?: number;
  keep_yearly?: number;
}

export const KEEP_RULES = ['keep_last', 'keep_daily', 'keep_weekly', 'keep_monthly', 'keep_yearly'] as const;

export interface Dated {
  id: string;
  /** Creation time, ms since the epoch. */
  time: number;
}

export interface Decision {
  id: string;
  keep: boolean;
  /** Why it is kept ("daily snapshot", "within 7d of the newest"); empty when removed. */
  reasons: string[];
}

export function hasRule(p: RetentionPolicy): boolean {
  return p.keep_within !== undefined || KEEP_RULES.some((r) => p[r] !== undefined && p[r] !== 0);
}

/** The policy in words, for tombstones and output: "keep 14 daily, 8 weekly, within 7d". */
export function policyText(p: RetentionPolicy): string {
  const parts: string[] = [];
  const n = (v: number) => (v === -1 ? 'all' : String(v));
  if (p.keep_last !== undefined) parts.push(`${n(p.keep_last)} last`);
  if (p.keep_daily !== undefined) parts.push(`${n(p.keep_daily)} daily`);
  if (p.keep_weekly !== undefined) parts.push(`${n(p.keep_weekly)} weekly`);
  if (p.keep_monthly !== undefined) parts.push(`${n(p.keep_monthly)} monthly`);
  if (p.keep_yearly !== undefined) parts.push(`${n(p.keep_yearly)} yearly`);
  if (p.keep_within !== undefined) parts.push(`all within ${p.keep_within} of the newest`);
  return parts.length ? `keep ${parts.join(', ')}` : 'no rule';
}

/** ISO 8601 week-numbering year and week of a UTC time, as Go's Time.ISOWeek (restic's weekly bucket). */
export function isoWeek(t: number): { year: number; week: number } {
  const d = new Date(t);
  const day = d.getUTCDay() || 7; // Monday 1 … Sunday 7
  // The Thursday of this week decides the year.
  const thursday = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 4 - day);
  const year = new Date(thursday).getUTCFullYear();
  const week = Math.floor((thursday - Date.UTC(year, 0, 1)) / 86_400_000 / 7) + 1;
  return { year, week };
}

const BUCKETS: Array<{ rule: (typeof KEEP_RULES)[number]; label: string; of: (t: number, i: number) => number }> = [
  { rule: 'keep_last', label: 'last snapshot', of: (_t, i) => i },
  {
    rule: 'keep_daily',
    label: 'daily snapshot',
    of: (t) => {
      const d = new Date(t);
      return d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
    },
  },
  {
    rule: 'keep_weekly',
    label: 'weekly snapshot',
    of: (t) => {
      const w = isoWeek(t);
      return w.year * 100 + w.week;
    },
  },
  {
    rule: 'keep_monthly',
    label: 'monthly snapshot',
    of: (t) => {
      const d = new Date(t);
      return d.getUTCFullYear() * 100 + d.getUTCMonth() + 1;
    },
  },
  { rule: 'keep_yearly', label: 'yearly snapshot', of: (t) => new Date(t).getUTCFullYear() },
];

/** Applies the policy; returns one decision per snapshot, newest first. */
export function applyPolicy(snapshots: readonly Dated[], p: RetentionPolicy): Decision[] {
  const sorted = [...snapshots].sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : -1));
  const left = new Map<string, number>();
  const last = new Map<string, number>();
  for (const b of BUCKETS) {
    const n = p[b.rule];
    if (n !== undefined && n !== 0) left.set(b.rule, n);
  }
  const newest = sorted[0]?.time;
  const within = p.keep_within !== undefined ? parseDuration(p.keep_within) : undefined;
  return sorted.map((s, i) => {
    const reasons: string[] = [];
    for (const b of BUCKETS) {
      const n = left.get(b.rule);
      if (n === undefined || n === 0) continue;
      const bucket = b.of(s.time, i);
      if (bucket === last.get(b.rule)) continue;
      last.set(b.rule, bucket);
      reasons.push(b.label);
      if (n > 0) left.set(b.rule, n - 1);
    }
    if (within !== undefined && newest !== undefined && s.time > newest - within)
      reasons.push(`within ${p.keep_within} of the newest`);
    return { id: s.id, keep: reasons.length > 0, reasons };
  });
}
