import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { BarysafeError, ExitCode, errorText } from '../../errors.js';
import { redactText, redactUrl } from '../../redact.js';
import { freeLoopbackPorts } from '../../platform/ports.js';
import { onExit } from '../../platform/lifecycle.js';
import type { ScratchDatabase } from './scratch-database.js';
import { findPgServerBinDir } from '../../platform/pg-tools.js';

const execFileP = promisify(execFile);
const USER = 'barysafe_drill';
const DB = 'barycenter';

/**
 * A throwaway PostgreSQL cluster from the machine's own binaries (initdb, pg_ctl): data and socket
 * in a private temp directory, TCP on 127.0.0.1 only with a random scram password (the restored
 * database holds live tokens and client secrets; no other local user may read it). postgres
 * refuses to run as root, so as root the cluster belongs to and runs as the `postgres` user.
 */
export async function startLocalCluster(binDirSetting?: string): Promise<ScratchDatabase> {
  const binDir = binDirSetting ?? (await findPgServerBinDir());
  if (!binDir || !existsSync(path.join(binDir, 'initdb')) || !existsSync(path.join(binDir, 'pg_ctl'))) {
    throw new BarysafeError(
      'postgres',
      `no PostgreSQL server binaries (initdb, pg_ctl) found${binDir ? ` in ${binDir}` : ''} for the drill's scratch cluster`,
      {
        exitCode: ExitCode.USAGE,
        hint: 'install the PostgreSQL server package, set drill.pg_bin_dir to its bin directory, or set drill.postgres_url to a server where barysafe may create and drop a database',
      },
    );
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'barysafe-drill-pg-'));
  const data = path.join(dir, 'data');
  const password = randomBytes(18).toString('base64url');
  const pgCtl = (args: string[], what: string) => execAsClusterOwner(path.join(binDir, 'pg_ctl'), args, dir, what);
  // pg_ctl daemonizes postgres: if barysafe dies before drop(), stop the cluster on the way out.
  const onExitCleanup = () => {
    try {
      const [c, a] = asClusterOwner(path.join(binDir, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w']);
      if (existsSync(path.join(data, 'postmaster.pid'))) execFileSync(c, a, { stdio: 'ignore', timeout: 20_000 });
    } catch {
      /* best effort */
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const unregister = onExit(onExitCleanup);
  const stop = async () => {
    unregister();
    if (existsSync(path.join(data, 'postmaster.pid')))
      await pgCtl(['stop', '-D', data, '-m', 'immediate', '-w'], 'pg_ctl stop').catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await initCluster(binDir, dir, USER, password);
    const [port] = await freeLoopbackPorts(1, []);
    // The socket stays in the private dir.
    const opts = [`-p ${port} -k ${dir}`, ...THROWAWAY_SETTINGS.map((s) => `-c ${s}`)].join(' ');
    await pgCtl(
      ['start', '-D', data, '-w', '-t', '60', '-l', path.join(dir, 'postgres.log'), '-o', opts],
      'pg_ctl start',
    );
    const base = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
    const c = new pg.Client({ connectionString: `${base}/postgres` });
    await c.connect();
    try {
      await c.query(`CREATE DATABASE "${DB}"`);
    } finally {
      await c.end().catch(() => undefined);
    }
    const url = `${base}/${DB}`;
    return {
      url,
      display: redactUrl(url),
      kind: 'local-cluster',
      drop: async () => {
        await stop();
        if (existsSync(dir)) throw new Error(`the scratch cluster directory ${dir} is still there`);
        return `local cluster on 127.0.0.1:${port} stopped and ${dir} removed`;
      },
    };
  } catch (e) {
    await stop();
    if (e instanceof BarysafeError) throw e;
    throw new BarysafeError(
      'postgres',
      `cannot start the drill's scratch PostgreSQL cluster: ${redactText(errorText(e))}`,
      { exitCode: ExitCode.FAILURE },
    );
  }
}

/*
 * The pieces below are shared with the test harness's throwaway cluster (test/support/pg-cluster.ts),
 * which runs postgres itself under a watchdog instead of through pg_ctl.
 */

/** Settings of a throwaway cluster: TCP on 127.0.0.1 only; durability is not wanted, speed is. */
export const THROWAWAY_SETTINGS: readonly string[] = [
  'listen_addresses=127.0.0.1',
  'fsync=off',
  'synchronous_commit=off',
  'full_page_writes=off',
];

/** postgres refuses to run as root: as root, a cluster command runs as the `postgres` user. */
export function asClusterOwner(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

async function execAsClusterOwner(cmd: string, args: string[], cwd: string, what: string) {
  const [c, a] = asClusterOwner(cmd, args);
  try {
    return await execFileP(c, a, { cwd, timeout: 60_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new BarysafeError(
      'postgres',
      `${what} failed: ${redactText((err.stderr || err.message).trim())
        .split('\n')
        .slice(-3)
        .join(' | ')}`,
      { exitCode: ExitCode.FAILURE },
    );
  }
}

/**
 * initdb into <dir>/data with the superuser `user`: trust on the cluster's own socket, scram
 * password over TCP. The password goes through a 0600 file that is removed right after, never a
 * command line. As root, dir is handed to the `postgres` user, which then runs the cluster.
 */
export async function initCluster(binDir: string, dir: string, user: string, password: string): Promise<void> {
  const pwfile = path.join(dir, 'pw');
  await writeFile(pwfile, password + '\n', { mode: 0o600 });
  try {
    if (process.getuid?.() === 0) {
      const uid = Number((await execFileP('id', ['-u', 'postgres'])).stdout.trim());
      const gid = Number((await execFileP('id', ['-g', 'postgres'])).stdout.trim());
      await chown(dir, uid, gid);
      await chown(pwfile, uid, gid);
    }
    const args = [
      '-D',
      path.join(dir, 'data'),
      '-U',
      user,
      `--pwfile=${pwfile}`,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ];
    await execAsClusterOwner(path.join(binDir, 'initdb'), args, dir, 'initdb');
  } finally {
    await rm(pwfile, { force: true });
  }
}
