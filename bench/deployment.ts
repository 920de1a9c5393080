import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { initConfig } from '../src/cli/init.js';

export interface BenchDeployment {
  workdir: string;
  barycenterConfig: string;
  barysafeConfig: string;
  repositoryDir: string;
  recipient: string;
}

/**
 * A Barycenter deployment around an existing database, laid out as Barycenter lays out its own
 * (as `barysafe demo` builds one, src/barycenter/sample-deployment.ts): config.toml with
 * [database] url, data/private_key.pem as a pretty-printed JSON JWK and a matching
 * data/jwks.json; then barysafe.toml from initConfig pointing at a local file:// repository.
 */
export async function createBenchDeployment(
  dir: string,
  databaseUrl: string,
  opts: { pgBinDir?: string; tempDir: string },
): Promise<BenchDeployment> {
  const workdir = path.join(dir, 'barycenter');
  await mkdir(path.join(workdir, 'data'), { recursive: true, mode: 0o750 });
  const barycenterConfig = path.join(workdir, 'config.toml');
  await writeFile(
    barycenterConfig,
    `[server]\nhost = "127.0.0.1"\nport = 8080\npublic_base_url = "http://localhost:8080"\n\n` +
      `[database]\nurl = ${JSON.stringify(databaseUrl)}\n\n` +
      `[keys]\njwks_path = "data/jwks.json"\nprivate_key_path = "data/private_key.pem"\nalg = "RS256"\n`,
    { mode: 0o640 },
  );
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomBytes(16).toString('base64url');
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } as Record<string, unknown>;
  await writeFile(path.join(workdir, 'data/private_key.pem'), JSON.stringify(jwk, null, 2), { mode: 0o600 });
  const pub = { kty: jwk.kty, use: 'sig', kid, alg: 'RS256', n: jwk.n, e: jwk.e };
  await writeFile(path.join(workdir, 'data/jwks.json'), JSON.stringify({ keys: [pub] }, null, 2), { mode: 0o644 });

  const repositoryDir = path.join(dir, 'repository');
  await mkdir(repositoryDir, { recursive: true, mode: 0o700 });
  await mkdir(opts.tempDir, { recursive: true, mode: 0o700 });
  const r = await initConfig({
    dir: path.join(dir, 'barysafe'),
    barycenterConfig,
    workdir,
    repository: pathToFileURL(repositoryDir).href,
  });
  await appendFile(
    r.configPath,
    `\n[backup]\n${opts.pgBinDir ? `pg_bin_dir = ${JSON.stringify(opts.pgBinDir)}\n` : ''}temp_dir = ${JSON.stringify(opts.tempDir)}\n`,
  );
  return { workdir, barycenterConfig, barysafeConfig: r.configPath, repositoryDir, recipient: r.recipient };
}
