// README.md's "Using it on an IdP host", followed literally on a fake host tree: the commands are
// read from the README itself (so a README change is run here), each absolute path in them is
// taken under the tree's root (as a chroot would), `init` gets `--root` and the other commands
// the `--config` that init's own "Next:" line names.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createSampleDeployment } from '../src/barycenter/sample-deployment.js';
import { BARYCENTER_BIN, freePortPair, startStandin, type Standin } from './support/barycenter/launch.js';
import { FROM_CONFIG, REPO_ROOT, runCli } from './support/deployments.js';
import { makeTempDir, type TempDir } from './support/services.js';

/** The commands of the README's IdP-host section, comments and optional [...] parts removed. */
export function readmeHostCommands(readme: string): string[][] {
  const section = readme.split(/^## Using it on an IdP host$/m)[1]!.split(/^## /m)[0]!;
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const block = blocks.find((b) => /^barysafe init\b/m.test(b));
  assert.ok(block, 'a code block that starts with barysafe init');
  return block
    .split('\n')
    .map((l) =>
      l
        .replace(/\s#\s.*$/, '')
        .replace(/\[[^\]]*\]/g, '')
        .trim(),
    )
    .filter((l) => l.startsWith('barysafe '))
    .map((l) => l.split(/\s+/).slice(1));
}

let host: TempDir;
let production: Standin | undefined;
before(async () => {
  host = await makeTempDir('barysafe-idp-host-');
});
after(async () => {
  await production?.stop();
  await host?.cleanup();
});

test("README's IdP-host section, on a fake host: init, backup, snapshots, restore --to, the drill, check", async () => {
  const root = host.path;
  const commands = readmeHostCommands(readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8'));
  const wanted = ['init', 'backup', 'snapshots', 'restore latest --to', 'restore latest --verify', 'check'];
  const run = wanted.map((w) => {
    const c = commands.find((args) => args.join(' ') === w || args.join(' ').startsWith(`${w} `));
    assert.ok(c, `the README runs barysafe ${w} (it has: ${commands.map((a) => a.join(' ')).join('; ')})`);
    return c;
  });

  // The host: Barycenter's config in /etc, its state in /var/lib, a unit naming both, an env file.
  const workdir = path.join(root, 'var/lib/barycenter');
  await mkdir(path.join(root, 'etc/barycenter'), { recursive: true });
  const port = await freePortPair();
  await createSampleDeployment(workdir, { port });
  const barycenterConfig = path.join(root, 'etc/barycenter/config.toml');
  await rename(path.join(workdir, 'config.toml'), barycenterConfig);
  // Production runs as the unit says (its working directory, --config), so the drill can compare keys.
  production = await startStandin({ cwd: workdir, configPath: barycenterConfig, port, env: FROM_CONFIG });
  await mkdir(path.join(root, 'etc/default'), { recursive: true });
  await writeFile(path.join(root, 'etc/default/barycenter'), 'RUST_LOG=info\n');
  await mkdir(path.join(root, 'usr/local/bin'), { recursive: true });
  await symlink(BARYCENTER_BIN, path.join(root, 'usr/local/bin/barycenter'));
  await mkdir(path.join(root, 'etc/systemd/system'), { recursive: true });
  await writeFile(
    path.join(root, 'etc/systemd/system/barycenter.service'),
    [
      '[Unit]',
      'Description=Barycenter OpenID Connect IdP',
      '',
      '[Service]',
      'WorkingDirectory=/var/lib/barycenter',
      'EnvironmentFile=-/etc/default/barycenter',
      'ExecStart=/usr/local/bin/barycenter --config /etc/barycenter/config.toml',
      '',
    ].join('\n'),
  );

  const underRoot = (args: string[]) => args.map((a) => (a.startsWith('/') ? path.join(root, a) : a));
  const init = await runCli([...underRoot(run[0]!), '--root', root], { env: { BARYSAFE_CONFIG: undefined } });
  assert.equal(init.code, 0, init.stderr);
  const configPath = path.join(root, 'etc/barysafe/barysafe.toml');
  assert.match(init.stdout, /barycenter\.config\s+\S+\s+\(--config in ExecStart= of /);
  assert.match(init.stdout, /barycenter\.env_file\s+\S+etc\/default\/barycenter\s+\(EnvironmentFile= in /);
  assert.match(init.stdout, /drill\.barycenter_bin\s+\S+usr\/local\/bin\/barycenter\s+\(ExecStart= in /);
  // /etc/barysafe of the fake host is not where barysafe looks: init says to pass --config.
  const next = /^Next: barysafe --config (\S+) backup$/m.exec(init.stdout);
  assert.ok(next, init.stdout);
  assert.equal(next[1], configPath);
  const cli = (args: string[]) => runCli(['--config', configPath, ...underRoot(args)], { timeoutMs: 180_000 });

  const backup = await cli(run[1]!);
  assert.equal(backup.code, 0, backup.stderr);
  const snapshots = await cli(run[2]!);
  assert.equal(snapshots.code, 0, snapshots.stderr);
  assert.match(snapshots.stdout, /1 snapshot/);

  const restore = await cli(run[3]!);
  assert.equal(restore.code, 0, restore.stderr);
  const target = underRoot([run[3]![run[3]!.indexOf('--to') + 1]!])[0]!;
  assert.ok(target.startsWith(root));
  const restored = (await readFile(path.join(target, 'private_key.pem'), 'utf8')).trim();
  assert.equal(restored, (await readFile(path.join(workdir, 'data/private_key.pem'), 'utf8')).trim());

  const drill = await cli(run[4]!);
  assert.equal(drill.code, 0, `${drill.stdout}\n${drill.stderr}`);
  assert.match(drill.stdout, /verdict: PASS/);

  // A fake host fails some checks (no service runs, no TLS…): check runs them all and says so with
  // its documented code, 0 (no failure) or 3 (a check failed), never a usage or internal error.
  const check = await cli(run[5]!);
  assert.ok([0, 3].includes(check.code!), `check exit ${check.code}: ${check.stderr}`);
  assert.match(check.stdout, /deployment: systemd/i);
});
