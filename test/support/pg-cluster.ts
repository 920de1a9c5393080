import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import pg from 'pg';
import { THROWAWAY_SETTINGS, asClusterOwner, initCluster } from '../../src/verify/scratch/local-cluster.js';
import { freeLoopbackPort } from '../../src/platform/ports.js';
import { detach } from './s3-server.js';
import { findPgServerBinDir } from '../../src/platform/pg-tools.js';

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
  return process.env.TEST_PG_BIN_DIR || ((await findPgServerBinDir()) ?? '');
}

export async function startLocalCluster(opts: { binDir?: string; timeoutMs?: number } = {}): Promise<LocalCluster> {
  const binDir = opts.binDir ?? (await findPgBinDir());
  if (!binDir || !existsSync(path.join(binDir, 'initdb'))) {
    throw new Error(
      "no PostgreSQL server binaries found (initdb): install them (scripts/install-test-deps.sh installs Debian's postgresql), " +
        'or set TEST_PG_URL to a server you own, or TEST_PG_BIN_DIR to their directory',
    );
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'barysafe-pg-'));
  const data = path.join(dir, 'data');
  const password = randomBytes(16).toString('hex');
  try {
    // As root, initCluster hands dir to the postgres user, and asClusterOwner runs postgres as it.
    await initCluster(binDir, dir, PG_TEST_USER, password);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }

  // Ports can be taken between probing and binding: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freeLoopbackPort();
    const child = spawnPostgres(binDir, data, dir, port);
    const url = `postgres://${PG_TEST_USER}:${password}@127.0.0.1:${port}/postgres`;
    try {
      await waitReady(url, child, opts.timeoutMs ?? 30_000);
      detach(child);
      return {
        url,
        user: PG_TEST_USER,
        password,
        port,
        binDir,
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
function spawnPostgres(
  binDir: string,
  data: string,
  sockDir: string,
  port: number,
): ChildProcess & { stderrText: () => string } {
  // $1 is the directory to remove once postgres is gone after such a shutdown.
  const script =
    'dir=$1; shift; exec 3<&0; "$@" </dev/null & pid=$!; ' +
    '(cat <&3 >/dev/null; kill -INT $pid 2>/dev/null; while kill -0 $pid 2>/dev/null; do sleep 0.1; done; rm -rf "$dir") & wait $pid';
  const [cmd, args] = asClusterOwner('sh', [
    '-c',
    script,
    'sh',
    sockDir,
    path.join(binDir, 'postgres'),
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    sockDir,
    ...THROWAWAY_SETTINGS.flatMap((s) => ['-c', s]),
  ]);
  const child = spawn(cmd, args, { cwd: sockDir, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
  return Object.assign(child, { stderrText: () => stderr });
}

async function waitReady(
  url: string,
  child: ChildProcess & { stderrText: () => string },
  timeoutMs: number,
): Promise<void> {
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
      if (Date.now() > deadline)
        throw new Error(
          `postgres not ready after ${timeoutMs} ms: ${(e as Error).message}; ${child.stderrText().trim().split('\n').slice(-3).join(' | ')}`,
        );
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
