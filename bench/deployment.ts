import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { initConfig } from '../src/cli/init.js';
import { writeBarycenterLayout } from '../src/barycenter/sample-deployment.js';

export interface BenchDeployment {
  workdir: string;
  barycenterConfig: string;
  barysafeConfig: string;
  repositoryDir: string;
  /** barysafe's local state for this deployment (anchors), inside the bench directory. */
  stateDir: string;
  recipient: string;
  identityFile: string;
}

/**
 * A Barycenter deployment around an existing database, laid out as Barycenter lays out its own
 * (writeBarycenterLayout, shared with `barysafe demo`): config.toml with
 * [database] url, data/private_key.pem as a pretty-printed JSON JWK and a matching
 * data/jwks.json; then barysafe.toml from initConfig pointing at a local file:// repository.
 */
export async function createBenchDeployment(
  dir: string,
  databaseUrl: string,
  opts: { pgBinDir?: string; tempDir: string; barycenterBin?: string },
): Promise<BenchDeployment> {
  const workdir = path.join(dir, 'barycenter');
  const { configPath: barycenterConfig } = await writeBarycenterLayout(workdir, { databaseUrl });

  const repositoryDir = path.join(dir, 'repository');
  await mkdir(repositoryDir, { recursive: true, mode: 0o700 });
  await mkdir(opts.tempDir, { recursive: true, mode: 0o700 });
  const barysafeDir = path.join(dir, 'barysafe');
  const r = await initConfig({
    dir: barysafeDir,
    barycenterConfig,
    workdir,
    repository: pathToFileURL(repositoryDir).href,
  });
  // Its own state directory: the bench throws repositories away between runs, which the host's
  // anchors (kept by default in /var/lib/barysafe) would rightly report as a rollback.
  const stateDir = path.join(dir, 'state');
  await appendFile(
    r.configPath,
    `\n[backup]\n${opts.pgBinDir ? `pg_bin_dir = ${JSON.stringify(opts.pgBinDir)}\n` : ''}temp_dir = ${JSON.stringify(opts.tempDir)}\n` +
      `\n[state]\ndir = ${JSON.stringify(stateDir)}\n` +
      (opts.barycenterBin ? `\n[drill]\nbarycenter_bin = ${JSON.stringify(opts.barycenterBin)}\n` : ''),
  );
  return {
    workdir,
    barycenterConfig,
    barysafeConfig: r.configPath,
    repositoryDir,
    stateDir,
    recipient: r.recipient,
    identityFile: path.join(barysafeDir, 'identity.txt'),
  };
}
