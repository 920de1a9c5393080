import { BarysafeError, ExitCode } from '../errors.js';

/**
 * backup.pg_compress: how pg_dump compresses its custom-format archive. pg_dump's own compression
 * is the limit of a PostgreSQL backup (the dump is made and compressed in one process), so the
 * choice trades CPU time against repository size:
 *   "default"      pg_dump's default (gzip, zlib's default level)
 *   "none" or 0    no compression: fastest, ~3.5× larger for Barycenter's tables
 *   1 … 9          gzip at that level (also "gzip" or "gzip:N")
 *   "lz4[:N]"      lz4, pg_dump 16 or newer
 *   "zstd[:N]"     zstd, pg_dump 16 or newer
 */
export type PgCompress = string | number;

export interface CompressionChoice {
  /** pg_dump arguments. */
  args: string[];
  /** As recorded in the manifest: "default", "none", "gzip:6", "lz4", "zstd:3". */
  label: string;
}

const LEVELS = { gzip: [1, 9], lz4: [1, 12], zstd: [1, 22] } as const;

/** Parses the setting; undefined when it is not one of the forms above (for the config schema). */
export function parsePgCompress(
  v: PgCompress,
): { method: 'default' | 'none' | keyof typeof LEVELS; level?: number } | undefined {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > 9) return undefined;
    return v === 0 ? { method: 'none' } : { method: 'gzip', level: v };
  }
  const m = /^(default|none|gzip|lz4|zstd)(?::(\d{1,2}))?$/.exec(v);
  if (!m) return undefined;
  const method = m[1] as 'default' | 'none' | keyof typeof LEVELS;
  if (m[2] === undefined) return { method };
  if (method === 'default' || method === 'none') return undefined;
  const level = Number(m[2]);
  const [lo, hi] = LEVELS[method];
  return level >= lo && level <= hi ? { method, level } : undefined;
}

/** The major version in `pg_dump --version` output ("pg_dump (PostgreSQL) 15.14 (Debian …)"). */
export function pgDumpMajor(versionText: string | undefined): number | undefined {
  const m = /\b(\d+)(?:\.\d+)?/.exec(versionText?.replace(/^[^)]*\)/, '') ?? '');
  return m ? Number(m[1]) : undefined;
}

/** pg_dump's arguments for the setting, refusing lz4/zstd on a pg_dump older than 16. */
export function compressionArgs(setting: PgCompress, dumpVersion: string | undefined): CompressionChoice {
  const c = parsePgCompress(setting);
  if (!c) {
    throw new BarysafeError('config', `backup.pg_compress = ${JSON.stringify(setting)} is not a compression choice`, {
      exitCode: ExitCode.USAGE,
      hint: 'use "default", "none", a gzip level 0-9, "gzip:N", "lz4[:N]" or "zstd[:N]"',
    });
  }
  const major = pgDumpMajor(dumpVersion);
  const modern = major !== undefined && major >= 16;
  switch (c.method) {
    case 'default':
      return { args: [], label: 'default' };
    case 'none':
      return { args: ['--compress=0'], label: 'none' };
    case 'gzip': {
      const level = c.level ?? 6;
      return { args: [modern ? `--compress=gzip:${level}` : `--compress=${level}`], label: `gzip:${level}` };
    }
    default:
      if (!modern) {
        throw new BarysafeError(
          'pg_dump',
          `backup.pg_compress = "${String(setting)}" needs pg_dump 16 or newer; ${dumpVersion ?? 'pg_dump'} only compresses with gzip`,
          {
            exitCode: ExitCode.USAGE,
            hint: 'install the PostgreSQL 16+ client and point backup.pg_bin_dir at it, or use a gzip level or "none"',
          },
        );
      }
      return {
        args: [`--compress=${c.method}${c.level !== undefined ? `:${c.level}` : ''}`],
        label: `${c.method}${c.level !== undefined ? `:${c.level}` : ''}`,
      };
  }
}
