import { BarysafeError, ExitCode } from '../errors.js';
import { isDuration, parseDuration } from '../units.js';

/** `--since`: a date (2026-01-01), a timestamp, or a duration back from now (90d, 12w). */
export function parseSince(text: string, now = new Date()): Date {
  const t = text.trim();
  if (isDuration(t)) return new Date(now.getTime() - parseDuration(t));
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) {
    const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(t) ? `${t}T00:00:00Z` : t);
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new BarysafeError('usage', `--since ${text} is neither a date (2026-01-01) nor a duration (90d)`, {
    exitCode: ExitCode.USAGE,
  });
}

/** Repeatable options: commander hands each value to this with the list so far. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
