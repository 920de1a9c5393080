import { pino, type Logger } from 'pino';
import { redactText } from './redact.js';

/**
 * Logs go to stderr (stdout belongs to `--json` documents). Every message and string field passes
 * through redactText, so a library error that embeds a connection string cannot leak it.
 * JSON lines for journald/cron/CI; a short human line on a terminal (BARYSAFE_LOG_FORMAT=json|text
 * overrides).
 */
export function createLogger(opts: { level?: string; format?: 'json' | 'text' } = {}): Logger {
  const level = opts.level ?? process.env.BARYSAFE_LOG_LEVEL ?? 'info';
  const format =
    opts.format ??
    (process.env.BARYSAFE_LOG_FORMAT as 'json' | 'text' | undefined) ??
    (process.stderr.isTTY ? 'text' : 'json');
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => scrub(a)) as Parameters<typeof method>);
        },
      },
    },
    format === 'text' ? humanDestination() : pino.destination({ fd: 2, sync: true }),
  );
}

/** "08:39:19 info  drill step key: pass (step=key)" from pino's JSON line. */
function humanDestination(): { write(line: string): void } {
  return {
    write(line: string) {
      const { time, level, msg, ...rest } = JSON.parse(line) as Record<string, unknown>;
      const extra = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      process.stderr.write(
        `${String(time).slice(11, 19)} ${String(level).padEnd(5)} ${String(msg)}${extra ? ` (${extra})` : ''}\n`,
      );
    },
  };
}

function scrub(v: unknown): unknown {
  if (typeof v === 'string') return redactText(v);
  if (v instanceof Error) return { err: { type: v.name, message: redactText(v.message) } };
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v))
      out[k] = typeof val === 'string' ? redactText(val) : val instanceof Error ? redactText(val.message) : val;
    return out;
  }
  return v;
}

export type { Logger };
