// Mimics tracing-subscriber's default fmt output (stdout, ANSI unless NO_COLOR, RUST_LOG filter)
// so log-scraping checks see the same shape as with the real binary.

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];
const RANK: Record<string, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, off: 5 };

interface Directive {
  target?: string;
  rank: number;
}

/** EnvFilter-like parse; an unparsable RUST_LOG falls back to `info` like try_from_default_env. */
function parseFilter(spec: string | undefined): Directive[] {
  if (spec === undefined || spec.trim() === '') return [{ rank: RANK.info! }];
  const out: Directive[] = [];
  for (const raw of spec.split(',')) {
    const d = raw.trim();
    if (!d) continue;
    const eq = d.lastIndexOf('=');
    if (eq < 0) {
      const r = RANK[d.toLowerCase()];
      // A bare word that is not a level is a target enabling everything for it.
      out.push(r === undefined ? { target: d, rank: RANK.trace! } : { rank: r });
    } else {
      const r = RANK[d.slice(eq + 1).toLowerCase()];
      if (r === undefined) return [{ rank: RANK.info! }];
      out.push({ target: d.slice(0, eq), rank: r });
    }
  }
  return out.length ? out : [{ rank: RANK.info! }];
}

const filter = parseFilter(process.env.RUST_LOG);
const ansi = !process.env.NO_COLOR;

function enabled(level: Level, target: string): boolean {
  // The most specific matching target directive wins, else the global level; a spec holding only
  // target directives leaves other targets off, as EnvFilter does.
  let best: Directive | undefined;
  for (const d of filter) {
    if (d.target === undefined) {
      if (!best) best = d;
      continue;
    }
    if (target === d.target || target.startsWith(d.target + '::')) {
      if (!best || best.target === undefined || d.target.length > best.target.length) best = d;
    }
  }
  return best !== undefined && RANK[level]! >= best.rank;
}

const COLOR: Record<Level, string> = { trace: '35', debug: '34', info: '32', warn: '33', error: '31' };

function stamp(): string {
  // tracing prints microseconds; JS has milliseconds, so pad.
  return new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function log(level: Level, target: string, message: string, fields: Record<string, string> = {}): void {
  if (!enabled(level, target)) return;
  const lvl = level.toUpperCase().padStart(5);
  const fieldText = Object.entries(fields)
    .map(([k, v]) => (ansi ? `\x1b[3m${k}\x1b[0m\x1b[2m=\x1b[0m${v}` : `${k}=${v}`))
    .join(' ');
  const body = fieldText ? `${message} ${fieldText}` : message;
  const line = ansi
    ? `\x1b[2m${stamp()}\x1b[0m \x1b[${COLOR[level]}m${lvl}\x1b[0m \x1b[2m${target}\x1b[0m\x1b[2m:\x1b[0m ${body}`
    : `${stamp()} ${lvl} ${target}: ${body}`;
  process.stdout.write(line + '\n');
}

export const info = (target: string, msg: string, fields?: Record<string, string>) => log('info', target, msg, fields);
export const warn = (target: string, msg: string, fields?: Record<string, string>) => log('warn', target, msg, fields);
export const error = (target: string, msg: string, fields?: Record<string, string>) =>
  log('error', target, msg, fields);
export const debug = (target: string, msg: string, fields?: Record<string, string>) =>
  log('debug', target, msg, fields);
