import { spawn } from 'node:child_process';
import pg from 'pg';
import { BarysafeError, ExitCode, errorText } from '../../errors.js';
import { redactText, redactUrl } from '../../redact.js';
import { CORE_TABLES, SCHEMA_HINT, schemaProblem } from '../../barycenter/schema.js';
import { pgReader } from '../../barycenter/database.js';
import type { DatabaseRecord } from '../../repository/manifest.js';
import { credentialsForChild, pgTool } from '../../platform/pg-tools.js';
import { compressionArgs, type PgCompress } from '../../platform/pg-compress.js';
import { BufferPool } from '../../platform/buffer-pool.js';
import { coalesce } from '../../platform/coalesce.js';

/** The dump's buffers: sixteen age chunks each, a few of them out at once (see coalesce). */
const DUMP_BUFFER = 1 << 20;
const DUMP_BUFFERS = 4;

export interface PostgresDump {
  /** The server, password removed. */
  source: string;
  /** The pg_dump -Fc byte stream, in buffers of 1 MiB; it throws at its end unless pg_dump exited 0. */
  stream: AsyncIterable<Uint8Array>;
  /** Gives back a buffer of `stream` once it was encrypted, for the next ones to reuse. */
  release(chunk: Uint8Array): void;
  /**
   * Migrations and row counts, read in the exporting transaction while pg_dump streams (so they
   * are those of the dump, and pg_dump does not wait for them).
   */
  record: Promise<DatabaseRecord>;
  /** Ends the exporting transaction; call after the stream is consumed or abandoned. */
  close(): Promise<void>;
}

/**
 * Opens a REPEATABLE READ transaction, exports its snapshot and runs the real
 * `pg_dump -Fc --snapshot=…` on it; rows are counted and migrations read in that same
 * transaction meanwhile. The dump streams (no temp file); the stream fails at its end when
 * pg_dump exits non-zero, so a half-written dump can never be finalized.
 */
/** `privateDir` (0700) holds a libpq service file when the URL carries an sslpassword. */
export async function dumpPostgres(
  url: string,
  opts: { binDir?: string; compress?: PgCompress; privateDir?: string } = {},
): Promise<PostgresDump> {
  const { binDir, privateDir } = opts;
  const shown = redactUrl(url);
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 10_000,
    application_name: 'barysafe',
  });
  const version = toolVersion(pgTool(binDir, 'pg_dump'));
  try {
    await client.connect();
  } catch (e) {
    throw new BarysafeError('postgres', `cannot connect to PostgreSQL ${shown}: ${redactText(errorText(e))}`, {
      exitCode: ExitCode.SOURCE,
      hint: "check database.url in Barycenter's config (or BARYCENTER__DATABASE__URL in its env file) and that the server is up",
    });
  }
  client.on('error', () => undefined); // a dropped connection is reported by the query or pg_dump
  const cannotRead = (e: unknown) =>
    e instanceof BarysafeError
      ? e
      : new BarysafeError('postgres', `cannot read PostgreSQL ${shown}: ${redactText(errorText(e))}`, {
          exitCode: ExitCode.SOURCE,
        });
  try {
    const dumpVersion = await version;
    if (!dumpVersion) {
      throw new BarysafeError('pg_dump', `cannot run ${pgTool(binDir, 'pg_dump')}`, {
        exitCode: ExitCode.SOURCE,
        hint: "install the PostgreSQL client of the server's major version (apt-get install postgresql-client) or set backup.pg_bin_dir",
      });
    }
    const compression = compressionArgs(opts.compress ?? 'default', dumpVersion);
    await client.query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snap = (await client.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
    const serverVersion = (await client.query<{ v: string }>('SHOW server_version')).rows[0]!.v;
    const reader = pgReader(client, shown);
    const record = (async (): Promise<DatabaseRecord> => {
      const migrations = await reader.migrations();
      const rowCounts = await reader.rowCounts(CORE_TABLES);
      const problem = schemaProblem(migrations, Object.keys(rowCounts));
      if (problem)
        throw new BarysafeError('postgres', `PostgreSQL ${shown} holds no Barycenter schema: ${problem}`, {
          exitCode: ExitCode.SOURCE,
          hint: SCHEMA_HINT,
        });
      return {
        engine: 'postgres',
        source: shown,
        migrations,
        row_counts: rowCounts,
        server_version: `PostgreSQL ${serverVersion}`,
        dump_format: 'pg_dump-custom',
        dump_tool_version: dumpVersion,
        dump_compression: compression.label,
      };
    })().catch((e: unknown) => {
      throw cannotRead(e);
    });
    record.catch(() => {}); // awaited by the caller, who may give up first
    const buffers = new BufferPool(DUMP_BUFFER, DUMP_BUFFERS);
    return {
      source: shown,
      record,
      stream: coalesce(runPgDump(url, snap, binDir, privateDir, compression.args), buffers),
      release: (chunk) => buffers.give(chunk),
      close: async () => {
        await record.catch(() => undefined); // its queries run on this connection
        await client.query('COMMIT').catch(() => undefined);
        await client.end().catch(() => undefined);
      },
    };
  } catch (e) {
    await client.end().catch(() => undefined);
    throw cannotRead(e);
  }
}

async function* runPgDump(
  url: string,
  snapshot: string,
  binDir: string | undefined,
  privateDir: string | undefined,
  compressArgs: string[],
): AsyncIterable<Uint8Array> {
  // No secret on pg_dump's command line (ps shows it to every local user): see credentialsForChild.
  const creds = await credentialsForChild(url, privateDir);
  try {
    yield* runPgDumpWith(creds.url, creds.env, snapshot, binDir, compressArgs);
  } finally {
    await creds.cleanup();
  }
}

async function* runPgDumpWith(
  bare: string,
  credentialEnv: Record<string, string>,
  snapshot: string,
  binDir: string | undefined,
  compressArgs: string[],
): AsyncIterable<Uint8Array> {
  const bin = pgTool(binDir, 'pg_dump');
  const args = ['--format=custom', ...compressArgs, `--snapshot=${snapshot}`, '--no-password', `--dbname=${bare}`];
  const child = spawn(bin, args, {
    env: { ...process.env, ...credentialEnv, PGAPPNAME: 'barysafe-pg_dump' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  let drained = false;
  try {
    for await (const chunk of child.stdout) yield chunk as Uint8Array;
    drained = true;
  } finally {
    // Only a consumer that gave up early (upload failed) stops pg_dump; after EOF it exits by itself.
    if (!drained && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }
  const r = await exited;
  if (r.error) {
    throw new BarysafeError('pg_dump', `cannot run ${bin}: ${errorText(r.error)}`, {
      exitCode: ExitCode.SOURCE,
      hint: 'install the PostgreSQL client (apt-get install postgresql-client) or set backup.pg_bin_dir',
    });
  }
  if (r.code !== 0) {
    const tail = redactText(stderr.trim()).split('\n').slice(-5).join('\n');
    const mismatch = /server version mismatch/i.test(stderr);
    throw new BarysafeError(
      'pg_dump',
      `pg_dump ${r.signal ? `was killed by ${r.signal}` : `exited with code ${r.code}`}; the dump is incomplete and was not kept:\n${tail}`,
      {
        exitCode: ExitCode.SOURCE,
        hint: mismatch
          ? "pg_dump is older than the server: install the client of the server's major version and point backup.pg_bin_dir at it"
          : 'fix the cause above and run the backup again',
      },
    );
  }
}

async function toolVersion(bin: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const c = spawn(bin, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.once('error', () => resolve(undefined));
    c.once('close', () => resolve(out.trim() || undefined));
  });
}
