// Real-shaped Barycenter deployments for tests: the stand-in boots once in a workdir (it runs the
// migrations, creates admin, generates the JSON-JWK key and jwks.json) and is stopped again, so
// what barysafe backs up is exactly what the IdP left on disk.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initConfig } from '../../src/cli/init.js';
import { startStandin, freePortPair, type Standin } from './barycenter/launch.js';
import type { ProfileId } from './barycenter/profile.js';
import { makeTempDir, type TempDir } from './services.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = path.join(REPO_ROOT, 'bin/barysafe');

export interface Deployment {
  dir: TempDir;
  workdir: string;
  configPath: string;
  port: number;
  databaseUrl: string;
  /** The Barycenter build the stand-in plays for this deployment. */
  build: ProfileId;
}

/** Env that unsets the scratch overrides so the stand-in reads config.toml like a production service. */
export const FROM_CONFIG = {
  BARYCENTER__SERVER__HOST: undefined,
  BARYCENTER__SERVER__PORT: undefined,
  BARYCENTER__SERVER__PUBLIC_BASE_URL: undefined,
  BARYCENTER__DATABASE__URL: undefined,
  BARYCENTER__KEYS__PRIVATE_KEY_PATH: undefined,
  BARYCENTER__KEYS__JWKS_PATH: undefined,
  RUST_LOG: 'warn',
};

export async function makeDeployment(
  opts: { databaseUrl?: string; keepRunning?: boolean; build?: ProfileId; extraToml?: string } = {},
): Promise<Deployment & { standin?: Standin }> {
  // 8218d6f cannot run on PostgreSQL (its federation migrations are SQLite-only SQL): PostgreSQL
  // deployments play beta.14, whose migrations run there, unless a test names the build.
  const build = opts.build ?? (/^postgres/.test(opts.databaseUrl ?? '') ? 'beta.14' : '8218d6f');
  const dir = await makeTempDir('barysafe-deploy-');
  const workdir = path.join(dir.path, 'var-lib-barycenter');
  const port = await freePortPair();
  const databaseUrl = opts.databaseUrl ?? 'sqlite://barycenter.db?mode=rwc';
  const configPath = path.join(dir.path, 'config.toml');
  await import('node:fs/promises').then((fs) => fs.mkdir(workdir, { recursive: true }));
  await writeFile(
    configPath,
    `[server]\nhost = "127.0.0.1"\nport = ${port}\npublic_base_url = "http://localhost:${port}"\n\n[database]\nurl = "${databaseUrl}"\n\n[keys]\njwks_path = "data/jwks.json"\nprivate_key_path = "data/private_key.pem"\n${opts.extraToml ?? ''}`,
    { mode: 0o640 },
  );
  const standin = await startStandin({ cwd: workdir, configPath, port, env: FROM_CONFIG, build });
  // A registered client so row counts are not all zero.
  const reg = await fetch(`${standin.url}/connect/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: ['https://app.example.org/cb'], client_name: 'test app' }),
  });
  if (reg.status !== 201) throw new Error(`client registration answered ${reg.status}`);
  if (!opts.keepRunning) await standin.stop();
  return { dir, workdir, configPath, port, databaseUrl, build, ...(opts.keepRunning ? { standin } : {}) };
}

export interface BarysafeSetup {
  configPath: string;
  etc: string;
  identityFile: string;
}

/** barysafe init for a deployment, with the repository section replaced by `repository` (TOML body). */
export async function setupBarysafe(
  d: Deployment,
  repository: { url: string; extra?: string },
): Promise<BarysafeSetup> {
  const etc = path.join(d.dir.path, 'etc-barysafe');
  const r = await initConfig({
    dir: etc,
    barycenterConfig: d.configPath,
    workdir: d.workdir,
    repository: repository.url,
  });
  if (repository.extra) {
    const text = await readFile(r.configPath, 'utf8');
    await writeFile(
      r.configPath,
      text.replace(/\[repository\]\n(url = .*\n)/, `[repository]\n$1${repository.extra}\n`),
    );
  }
  return { configPath: r.configPath, etc, identityFile: path.join(etc, 'identity.txt') };
}

/** setupBarysafe with a file:// repository under the deployment's dir and backup.temp_dir there too (plus `backupToml` lines). */
export async function setupFileRepository(
  d: Deployment,
  backupToml = '',
): Promise<BarysafeSetup & { repoRoot: string; tempBase: string }> {
  const repoRoot = path.join(d.dir.path, 'repository');
  const s = await setupBarysafe(d, { url: `file://${repoRoot}` });
  const tempBase = path.join(d.dir.path, 'tmp');
  await writeFile(
    s.configPath,
    (await readFile(s.configPath, 'utf8')) + `\n[backup]\ntemp_dir = "${tempBase}"\n${backupToml}`,
  );
  return { ...s, repoRoot, tempBase };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI (bin/barysafe) as a child process. */
export function runCli(
  args: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, BARYSAFE_LOG_LEVEL: 'info' };
    for (const [k, v] of Object.entries(opts.env ?? {}))
      if (v === undefined) delete env[k];
      else env[k] = v;
    const p = spawn(process.execPath, [CLI, ...args], { env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`barysafe ${args.join(' ')} timed out\n${stdout}\n${stderr}`));
    }, opts.timeoutMs ?? 120_000);
    p.once('error', reject);
    p.once('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs any command and collects its output (age, sqlite3, pg_restore, psql …). */
export function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: Buffer } = {},
): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.once('error', reject);
    p.once('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
    p.stdin.end(opts.input);
  });
}
