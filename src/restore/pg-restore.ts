import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import { redactText, redactUrl } from '../redact.js';
import { credentialsForChild, pgTool } from '../platform/pg-tools.js';

/** Tables in the target's public schema: a non-empty database is refused unless --clean. */
export async function userTableCount(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    const r = await client.query<{ n: string }>(
      "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    );
    return Number(r.rows[0]!.n);
  } catch (e) {
    throw new BarysafeError(
      'postgres',
      `cannot connect to the target database ${redactUrl(url)}: ${redactText(errorText(e))}`,
      {
        exitCode: ExitCode.USAGE,
        hint: 'create the database first (createdb -O barycenter NAME) and check the URL and credentials',
      },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Streams a pg_dump -Fc archive into the real pg_restore (stdin; no -j, which needs a file). */
export async function restorePgDump(
  dump: Readable,
  targetUrl: string,
  opts: { clean?: boolean; binDir?: string; privateDir?: string } = {},
): Promise<void> {
  const tables = await userTableCount(targetUrl);
  if (tables > 0 && !opts.clean) {
    dump.destroy();
    throw new BarysafeError('postgres', `the target database ${redactUrl(targetUrl)} is not empty (${tables} tables)`, {
      exitCode: ExitCode.USAGE,
      hint: 'restore into an empty database, or pass --clean to drop and recreate the objects the dump contains',
    });
  }
  // No secret on pg_restore's command line (ps shows it to every local user).
  const creds = await credentialsForChild(targetUrl, opts.privateDir);
  try {
    await runPgRestore(dump, creds.url, creds.env, opts);
  } finally {
    await creds.cleanup();
  }
}

async function runPgRestore(
  dump: Readable,
  url: string,
  credentialEnv: Record<string, string>,
  opts: { clean?: boolean; binDir?: string },
): Promise<void> {
  const bin = pgTool(opts.binDir, 'pg_restore');
  const args = ['--no-owner', '--no-privileges', '--exit-on-error', '--no-password', `--dbname=${url}`];
  if (opts.clean) args.push('--clean', '--if-exists');
  const child = spawn(bin, args, {
    env: { ...process.env, ...credentialEnv },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('close', (code) => resolve({ code }));
  });
  let feedError: unknown;
  await pipeline(dump, child.stdin).catch((e) => (feedError = e));
  const r = await exited;
  if (feedError instanceof BarysafeError) throw feedError;
  if (r.error)
    throw new BarysafeError('pg_restore', `cannot run ${bin}: ${errorText(r.error)}`, {
      exitCode: ExitCode.FAILURE,
      hint: 'install the PostgreSQL client or set drill.pg_bin_dir / backup.pg_bin_dir',
    });
  if (r.code !== 0 || feedError) {
    throw new BarysafeError(
      'pg_restore',
      `pg_restore failed (exit ${r.code}): ${redactText(stderr.trim()).split('\n').slice(-5).join('\n') || errorText(feedError)}`,
      { exitCode: ExitCode.FAILURE },
    );
  }
}
