// The package as a user installs it: `npm pack`, then `npm install -g --prefix` of the tarball into
// a fresh prefix, then the installed `barysafe` (not this checkout's) runs --version, init, backup
// and snapshots against a SQLite deployment. better-sqlite3's addon is handed to its installer as a
// local prebuild made from this checkout's own build (same version and ABI), so the install takes
// seconds instead of a compile; without one it compiles, as on a user's machine.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { createSampleDeployment } from '../src/barycenter/sample-deployment.js';
import { VERSION } from '../src/version.js';
import { REPO_ROOT } from './support/deployments.js';
import { makeTempDir, type TempDir } from './support/services.js';

const run = promisify(execFile);

let tmp: TempDir;
before(async () => {
  tmp = await makeTempDir('barysafe-install-');
});
after(async () => tmp?.cleanup());

/** better-sqlite3's prebuild tarball name (prebuild-install's template) holding this checkout's addon. */
async function localPrebuild(dir: string): Promise<string | undefined> {
  const pkg = path.join(REPO_ROOT, 'node_modules/better-sqlite3');
  if (!existsSync(path.join(pkg, 'build/Release/better_sqlite3.node'))) return undefined;
  const { version } = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { version: string };
  await mkdir(dir, { recursive: true });
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  await run('tar', ['czf', path.join(dir, name), '-C', pkg, 'build/Release/better_sqlite3.node']);
  return dir;
}

test('npm pack, npm install -g --prefix, then the installed barysafe: --version, init, backup, snapshots', async (t) => {
  const packDir = path.join(tmp.path, 'pack');
  await mkdir(packDir);
  // dist/ is already built (the tests run from it): pack what it holds, without rebuilding under
  // the running tests. A user's `npm pack` runs prepack (`npm run build`) first.
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', packDir], { cwd: REPO_ROOT });
  const [tarball] = (await readdir(packDir)).filter((f) => f.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack made a tarball');

  const prefix = path.join(tmp.path, 'prefix');
  const prebuilds = await localPrebuild(path.join(tmp.path, 'prebuilds'));
  const started = Date.now();
  await run(
    'npm',
    ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', path.join(packDir, tarball)],
    {
      cwd: tmp.path,
      env: { ...process.env, ...(prebuilds ? { npm_config_better_sqlite3_local_prebuilds: prebuilds } : {}) },
      timeout: 600_000,
      maxBuffer: 16 << 20,
    },
  );
  t.diagnostic(`npm install -g of the tarball: ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const installed = path.join(prefix, 'lib/node_modules/barysafe');
  assert.ok(existsSync(path.join(installed, 'dist/bundle/main.js')), 'the bundled CLI is in the package');
  assert.equal(existsSync(path.join(installed, 'dist/src')), false, 'the unbundled modules are not');
  assert.equal(existsSync(path.join(installed, 'dist/test')), false, 'the tests are not');
  assert.equal(existsSync(path.join(installed, 'node_modules/typescript')), false, 'no compiler is installed');
  const bin = path.join(prefix, 'bin/barysafe');
  // Run from outside the checkout, with a PATH that has the prefix's bin first, as a user's shell would.
  const env = { ...process.env, PATH: `${path.dirname(bin)}:${process.env.PATH}`, BARYSAFE_CONFIG: undefined };
  const barysafe = (...args: string[]) => run(bin, args, { cwd: tmp.path, env, timeout: 120_000 });

  assert.equal((await barysafe('--version')).stdout.trim(), VERSION);

  const root = path.join(tmp.path, 'host');
  const workdir = path.join(root, 'var/lib/barycenter');
  await createSampleDeployment(workdir);
  await mkdir(path.join(root, 'etc/barycenter'), { recursive: true });
  await rename(path.join(workdir, 'config.toml'), path.join(root, 'etc/barycenter/config.toml'));

  const init = JSON.parse((await barysafe('--json', 'init', '--root', root)).stdout) as {
    config: string;
    next_command: string;
  };
  assert.equal(init.config, path.join(root, 'etc/barysafe/barysafe.toml'));
  const backup = await barysafe('--config', init.config, 'backup');
  assert.match(backup.stdout, /snapshot/);
  const list = JSON.parse((await barysafe('--json', '--config', init.config, 'snapshots')).stdout) as {
    snapshots: unknown[];
  };
  assert.equal(list.snapshots.length, 1);
});
