import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { detach } from './s3-server.js';

const execFileP = promisify(execFile);

/**
 * A throwaway PostgreSQL cluster from the machine's own binaries: the fallback when there is neither
 * TEST_PG_URL nor a Docker engine. Data and socket live in a temp dir; the server listens on
 * 127.0.0.1 only, with a password-protected superuser over TCP (scram), so tests can prove the
 * password never leaks.
 */
export interface LocalCluster {
  url: string;
  user: string;
  password: string;
  port: number;
  binDir: string;
  stop(): Promise<void>;
}

export const PG_TEST_USER = 'barysafe_test';

/** TEST_PG_BIN_DIR, else the newest /usr/lib/postgresql/<v>/bin, else initdb's dir on PATH; '' when none. */
export async function findPgBinDir(): Promise<string> {
  if (process.env.TEST_PG_BIN_DIR) return process.env.TEST_PG_BIN_DIR;
  const base = '/usr/lib/postgresql';
  const versions = (await readdir(base).catch(() => [] as string[]))
    .filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(path.join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  if (versions[0]) return path.join(base, versions[0], 'bin');
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(path.join(dir, 'initdb'))) return dir;
  }
  return '';
}

export async function startLocalCluster(opts: { binDir?: string; timeoutMs?: number } = {}): Promise<LocalCluster> {
  const binDir = opts.binDir ?? (await findPgBinDir());
  if (!binDir || !existsSync(path.join(binDir, 'initdb'))) {
    throw new Error(
      'no PostgreSQL server binaries found (initdb): install them (scripts/install-test-deps.sh installs Debian\'s postgresql), ' +
        'or set TEST_PG_URL to a server you own, or TEST_PG_BIN_DIR to their directory',
    );
  }
  const asRoot = process.getuid?.() === 0;
  const dir = await mkdtemp(path.join(tmpdir(), 'barysafe-pg-'));
  const data = path.join(dir, 'data');
  const password = randomBytes(16).toString('hex');
  // postgres refuses to run as root: hand the directory to the postgres user and run as it.
  const run = (cmd: string, args: string[]) => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]) as [string, string[]];
  try {
    const pwfile = path.join(dir, 'pw');
    await writeFile(pwfile, password + '\n', { mode: 0o600 });
    if (asRoot) {
      const uid = Number((await execFileP('id', ['-u', 'postgres'])).stdout.trim());
      const gid = Number((await execFileP('id', ['-g', 'postgres'])).stdout.trim());
      await chown(dir, uid, gid);
      await chown(pwfile, uid, gid);
    }
    const [cmd, args] = run(path.join(binDir, 'initdb'), [
      '-D', data, '-U', PG_TEST_USER, `--pwfile=${pwfile}`,
      '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync',
    ]);
    await execFileP(cmd, args, { cwd: dir }).catch((e: { stderr?: string; message: string }) => {
      throw new Error(`initdb failed: ${(e.stderr || e.message).trim()}`);
    });
    await rm(pwfile, { force: true });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }

  // Ports can be taken between probing and binding: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawnPostgres(run, binDir, data, dir, port);
    const url = `postgres://${PG_TEST_USER}:${password}@127.0.0.1:${port}/postgres`;
    try {
      await waitReady(url, child, opts.timeoutMs ?? 30_000);
      detach(child);
      return {
        url, user: PG_TEST_USER, password, port, binDir,
        stop: async () => {
          await stopChild(child);
          await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (e) {
      lastError = e;
      await stopChild(child);
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

/**
 * Runs postgres under a small sh watchdog: when our end of its stdin closes (stop(), or this process
 * dying in any way), it asks postgres for a fast shutdown and removes the cluster's directory.
 * No cluster outlives the tests.
 */
function spawnPostgres(run: (c: string, a: string[]) => [string, string[]], binDir: string, data: string, sockDir: string, port: number): ChildProcess & { stderrText: () => string } {
  // $1 is the directory to remove once postgres is gone after such a shutdown.
  const script =
    'dir=$1; shift; exec 3<&0; "$@" </dev/null & pid=$!; ' +
    '(cat <&3 >/dev/null; kill -INT $pid 2>/dev/null; while kill -0 $pid 2>/dev/null; do sleep 0.1; done; rm -rf "$dir") & wait $pid';
  const [cmd, args] = run('sh', [
    '-c', script, 'sh', sockDir, path.join(binDir, 'postgres'),
    '-D', data, '-p', String(port), '-k', sockDir,
    '-c', 'listen_addresses=127.0.0.1',
    // A throwaway cluster: durability is not wanted, speed is.
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
  ]);
  const child = spawn(cmd, args, { cwd: sockDir, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
  return Object.assign(child, { stderrText: () => stderr });
}

async function waitReady(url: string, child: ChildProcess & { stderrText: () => string }, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`postgres exited during startup: ${child.stderrText().trim().split('\n').slice(-5).join(' | ')}`);
    }
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await c.connect();
      await c.query('select 1');
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`postgres not ready after ${timeoutMs} ms: ${(e as Error).message}; ${child.stderrText().trim().split('\n').slice(-3).join(' | ')}`);
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await c.end().catch(() => {});
    }
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.ref();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.stdin?.end();
  const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(t);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
