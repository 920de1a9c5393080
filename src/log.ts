import { pino, type Logger } from 'pino';
import { redactText } from './redact.js';

/**
 * Logs go to stderr (stdout belongs to `--json` documents). Every message and string field passes
 * through redactText, so a library error that embeds a connection string cannot leak it.
 */
export function createLogger(opts: { level?: string; json?: boolean } = {}): Logger {
  const level = opts.level ?? process.env.BARYSAFE_LOG_LEVEL ?? 'info';
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
    pino.destination({ fd: 2, sync: true }),
  );
}

function scrub(v: unknown): unknown {
  if (typeof v === 'string') return redactText(v);
  if (v instanceof Error) return { err: { type: v.name, message: redactText(v.message) } };
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v)) out[k] = typeof val === 'string' ? redactText(val) : val instanceof Error ? redactText(val.message) : val;
    return out;
  }
  return v;
}

export type { Logger };
