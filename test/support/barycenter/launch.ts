// Test helpers: run the stand-in as a real child process through its launcher, like the real binary.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeLoopbackPort } from '../../../src/platform/ports.js';
import type { ProfileId } from './profile.js';

const BIN_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../test/support/bin');

/** test/support/bin/barycenter (build 8218d6f), found from dist/test/support/barycenter/launch.js. */
export const BARYCENTER_BIN = path.join(BIN_DIR, 'barycenter');

/** The stand-in "binary" of a build: barycenter (8218d6f), barycenter-beta.5, barycenter-beta.14. */
export function standinBin(build: ProfileId = '8218d6f'): string {
  return build === '8218d6f' ? BARYCENTER_BIN : path.join(BIN_DIR, `barycenter-${build}`);
}

export interface StandinOptions {
  cwd: string;
  /** Passed as --config; defaults to <cwd>/none.toml, which does not exist (so defaults + env). */
  configPath?: string;
  env?: Record<string, string | undefined>;
  /** Public port; admin is port+1 unless overridden in env/config. Default: a free port pair. */
  port?: number;
  /** The build to play (default 8218d6f). */
  build?: ProfileId;
}

export interface Standin {
  url: string;
  port: number;
  adminPort: number;
  proc: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
}

/** A port p with p and p+1 (admin) both free on loopback. */
export async function freePortPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await freeLoopbackPort();
    if (p >= 65535) continue;
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(p + 1, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return p;
  }
  throw new Error('no free port pair on 127.0.0.1');
}

/** Env for a loopback scratch instance with all state under cwd (facts §4.7). */
export function scratchEnv(cwd: string, port: number): Record<string, string> {
  return {
    BARYCENTER__SERVER__HOST: '127.0.0.1',
    BARYCENTER__SERVER__PORT: String(port),
    BARYCENTER__SERVER__PUBLIC_BASE_URL: `http://localhost:${port}`,
    BARYCENTER__DATABASE__URL: `sqlite://${path.join(cwd, 'barycenter.db')}?mode=rwc`,
    BARYCENTER__KEYS__PRIVATE_KEY_PATH: path.join(cwd, 'private_key.pem'),
    BARYCENTER__KEYS__JWKS_PATH: path.join(cwd, 'jwks.json'),
    NO_COLOR: '1',
  };
}

function childEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  // Start from the parent env minus BARYCENTER* so a developer's shell cannot leak into tests.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^BARYCENTER/i.test(k) && k !== 'RUST_LOG') env[k] = v;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export async function startStandin(opts: StandinOptions): Promise<Standin> {
  const port = opts.port ?? (await freePortPair());
  const env = childEnv({ ...scratchEnv(opts.cwd, port), ...opts.env });
  const adminPort = env.BARYCENTER__SERVER__ADMIN_PORT ? Number(env.BARYCENTER__SERVER__ADMIN_PORT) : port + 1;
  const proc = spawn(standinBin(opts.build), ['--config', opts.configPath ?? path.join(opts.cwd, 'none.toml')], {
    cwd: opts.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  let dead = false;
  void exited.then(() => {
    dead = true;
  });

  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (true) {
    if (dead) throw new Error(`barycenter stand-in exited with ${proc.exitCode} before becoming ready:\n${out}`);
    try {
      const r = await fetch(`${base}/.well-known/openid-configuration`);
      if (r.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`barycenter stand-in not ready after 20s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: base,
    port,
    adminPort,
    proc,
    logs: () => out,
    stop: async () => {
      if (dead) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the launcher to completion (e.g. sync-users, or a start that is expected to fail). */
export function runBarycenter(
  args: string[],
  opts: { cwd: string; env?: Record<string, string | undefined>; timeoutMs?: number; build?: ProfileId },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(standinBin(opts.build), args, {
      cwd: opts.cwd,
      env: childEnv(opts.env ?? {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '',
      stderr = '';
    proc.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    proc.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const t = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`barycenter ${args.join(' ')} timed out:\n${stdout}${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    proc.once('error', reject);
    proc.once('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `barycenter -c <config> sync-users --file <file>` with the scratch env of cwd (DB under cwd). */
export function runSyncUsers(opts: {
  cwd: string;
  file: string;
  configPath?: string;
  env?: Record<string, string | undefined>;
  build?: ProfileId;
}): Promise<RunResult> {
  const env = { ...scratchEnv(opts.cwd, 0), ...opts.env };
  return runBarycenter(['-c', opts.configPath ?? path.join(opts.cwd, 'none.toml'), 'sync-users', '--file', opts.file], {
    cwd: opts.cwd,
    env,
    ...(opts.build ? { build: opts.build } : {}),
  });
}
