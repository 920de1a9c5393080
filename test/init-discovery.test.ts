// barysafe init on a host: what it finds in the systemd unit (drop-ins included) and in a running
// process, what it says it could not find, the [drill] section it writes, the repository URLs it
// refuses, and the next command it prints. Real files in a temp host tree and a real process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { discoverHost } from '../src/config/discover-host.js';
import { loadConfig } from '../src/config/load.js';
import { nextCommand } from '../src/cli/init.js';
import { ExitCode } from '../src/errors.js';
import { runCli } from './support/deployments.js';
import { makeTempDir, type TempDir } from './support/services.js';

let tmp: TempDir;
before(async () => {
  tmp = await makeTempDir('barysafe-init-');
});
after(async () => tmp?.cleanup());

async function put(file: string, text: string, mode = 0o644): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text, { mode });
}

/** A host whose unit is in /lib and whose /etc drop-in overrides ExecStart= and adds the env file. */
async function unitHost(name: string): Promise<string> {
  const root = path.join(tmp.path, name);
  await put(path.join(root, 'etc/barycenter/idp.toml'), '[server]\nport = 8080\n');
  await mkdir(path.join(root, 'srv/idp'), { recursive: true });
  await put(path.join(root, 'etc/default/barycenter'), 'RUST_LOG=info\n');
  await put(path.join(root, 'opt/barycenter/bin/barycenter'), '#!/bin/sh\n', 0o755);
  await put(
    path.join(root, 'lib/systemd/system/barycenter.service'),
    '[Unit]\nDescription=Barycenter\n\n[Service]\nUser=idp\nGroup=idp\nWorkingDirectory=/var/lib/barycenter\nExecStart=/usr/bin/barycenter\n',
  );
  await put(
    path.join(root, 'etc/systemd/system/barycenter.service.d/10-local.conf'),
    '[Service]\nWorkingDirectory=/srv/idp\nExecStart=\nExecStart=/opt/barycenter/bin/barycenter -c /etc/barycenter/idp.toml\nEnvironmentFile=-/etc/default/barycenter\n',
  );
  return root;
}

interface InitJson {
  ok: boolean;
  config: string;
  found: Array<{ setting: string; value: string; source: string; exists?: boolean }>;
  missing: Array<{ setting: string; reason: string }>;
  next_command: string;
}

describe('barysafe init finds Barycenter on the host', () => {
  test('from the systemd unit and its drop-in: config, workdir, env file, binary, user; the config loads', async () => {
    const root = await unitHost('unit');
    const r = await runCli(['--json', 'init', '--root', root]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as InitJson;
    const found = Object.fromEntries(doc.found.map((f) => [f.setting, f]));
    const dropin = path.join(root, 'etc/systemd/system/barycenter.service.d/10-local.conf');
    assert.equal(found['barycenter.config']!.value, path.join(root, 'etc/barycenter/idp.toml'));
    assert.match(found['barycenter.config']!.source, /--config in ExecStart=/);
    assert.ok(found['barycenter.config']!.source.includes(dropin), found['barycenter.config']!.source);
    assert.equal(found['barycenter.workdir']!.value, path.join(root, 'srv/idp'), 'the drop-in wins');
    assert.equal(found['barycenter.env_file']!.value, path.join(root, 'etc/default/barycenter'));
    assert.equal(found['drill.barycenter_bin']!.value, path.join(root, 'opt/barycenter/bin/barycenter'));
    assert.equal(found['barycenter.service_user']!.value, 'idp');
    assert.equal(found['checks.systemd_unit']!.value, path.join(root, 'lib/systemd/system/barycenter.service'));
    assert.equal(found['repository.url']!.value, `file://${path.join(root, 'var/backups/barysafe')}`);
    assert.deepEqual(doc.missing, [], 'everything was found');
    assert.equal(doc.config, path.join(root, 'etc/barysafe/barysafe.toml'), '--dir defaults under --root');
    assert.equal(doc.next_command, `barysafe --config ${doc.config} backup`);

    const toml = parseToml(readFileSync(doc.config, 'utf8')) as Record<string, Record<string, unknown>>;
    assert.equal(toml.drill!.barycenter_bin, path.join(root, 'opt/barycenter/bin/barycenter'));
    assert.equal(toml.checks!.systemd_unit, path.join(root, 'lib/systemd/system/barycenter.service'));
    const loaded = await loadConfig(doc.config);
    assert.equal(loaded.config.barycenter.env_file, path.join(root, 'etc/default/barycenter'));
  });

  test('explicit flags win over what the host says', async () => {
    const root = await unitHost('flags');
    const mine = path.join(tmp.path, 'mine.toml');
    await writeFile(mine, '');
    const r = await runCli([
      '--json',
      'init',
      '--root',
      root,
      '--dir',
      path.join(root, 'elsewhere'),
      '--barycenter-config',
      mine,
      '--workdir',
      tmp.path,
      '--barycenter-bin',
      '/usr/local/bin/barycenter',
      '--repository',
      's3://bucket/idp',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as InitJson;
    const found = Object.fromEntries(doc.found.map((f) => [f.setting, f]));
    assert.deepEqual(
      [found['barycenter.config']!.value, found['barycenter.config']!.source],
      [mine, '--barycenter-config flag'],
    );
    assert.equal(found['barycenter.workdir']!.value, tmp.path);
    assert.equal(found['drill.barycenter_bin']!.value, '/usr/local/bin/barycenter');
    assert.equal(found['repository.url']!.value, 's3://bucket/idp');
    assert.equal(
      found['barycenter.env_file']!.source,
      `EnvironmentFile= in ${path.join(root, 'lib/systemd/system/barycenter.service')} + ${path.join(root, 'etc/systemd/system/barycenter.service.d/10-local.conf')}`,
    );
    assert.equal(doc.config, path.join(root, 'elsewhere', 'barysafe.toml'));
  });

  test('nothing on the host: the defaults, what is missing and which setting to fill in, a commented [drill]', async () => {
    const root = path.join(tmp.path, 'empty');
    await mkdir(root);
    const r = await runCli(['init', '--root', root]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /barycenter\.config\s+\S+etc\/barycenter\/config\.toml\s+\(default: .*not present on this host\)/,
    );
    assert.match(r.stdout, /Not found \(fill in\):/);
    assert.match(r.stdout, /barycenter\.config: .* pass --barycenter-config FILE/);
    assert.match(r.stdout, /barycenter\.workdir: .* pass --workdir DIR/);
    assert.match(r.stdout, /barycenter\.env_file: no EnvironmentFile= found: pass --env-file FILE/);
    assert.match(
      r.stdout,
      /drill: no Barycenter binary found: set one of drill\.barycenter_bin, drill\.image or drill\.command/,
    );
    const config = path.join(root, 'etc/barysafe/barysafe.toml');
    assert.match(r.stdout, new RegExp(`Next: barysafe --config ${config} backup`));
    const text = await readFile(config, 'utf8');
    assert.match(text, /^# \[drill\]\n# barycenter_bin = .*\n# image = .*\n# command = /m);
    assert.equal((parseToml(text) as { drill?: unknown }).drill, undefined, 'commented out');
    await loadConfig(config);
    // Uncommenting the section and one choice gives a config that loads.
    const chosen = text.replace('# [drill]', '[drill]').replace('# barycenter_bin', 'barycenter_bin');
    await writeFile(config, chosen);
    assert.equal((await loadConfig(config)).config.drill.barycenter_bin, '/usr/local/bin/barycenter');
  });

  test('a binary the unit names but the host lacks is offered commented out, and said to be missing', async () => {
    const root = path.join(tmp.path, 'nobin');
    await put(
      path.join(root, 'usr/lib/systemd/system/barycenter.service'),
      '[Service]\nExecStart=/usr/bin/barycenter -c config.toml\nWorkingDirectory=/srv/idp\n',
    );
    const r = await runCli(['--json', 'init', '--root', root]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as InitJson & { notes: string[] };
    const bin = path.join(root, 'usr/bin/barycenter');
    const drill = doc.missing.find((m) => m.setting === 'drill');
    assert.ok(drill?.reason.startsWith(`${bin} (ExecStart= in `), JSON.stringify(doc.missing));
    const found = Object.fromEntries(doc.found.map((f) => [f.setting, f]));
    assert.equal(
      found['barycenter.config']!.value,
      path.join(root, 'srv/idp/config.toml'),
      'relative to WorkingDirectory=',
    );
    assert.equal(found['drill.barycenter_bin']!.exists, false);
    assert.match(doc.notes.join('\n'), /the paths are written under /);
    const text = await readFile(doc.config, 'utf8');
    assert.equal((parseToml(text) as { drill?: unknown }).drill, undefined);
    assert.ok(text.includes(`# barycenter_bin = "${bin}"`), text);
  });

  test('every command that reads the config accepts what init wrote', async () => {
    const root = await unitHost('every');
    const r = await runCli(['--json', 'init', '--root', root]);
    assert.equal(r.code, 0, r.stderr);
    const config = (JSON.parse(r.stdout) as InitJson).config;
    const commands = [
      ['snapshots'],
      ['keys'],
      ['verify'],
      ['forget', '--keep-last', '1'],
      ['verify-evidence'],
      ['check', '--only', 'config'],
      ['report', '--format', 'json'],
      ['copy', '--to', `file://${path.join(root, 'offsite')}`],
      ['restore', 'latest', '--to', path.join(root, 'restored')],
      ['agent', '--run-now', 'forget'],
    ];
    for (const args of commands) {
      const c = await runCli(['--config', config, ...args]);
      assert.doesNotMatch(
        c.stderr,
        /has invalid settings|is not valid TOML|cannot read barysafe config/,
        args.join(' '),
      );
      assert.notEqual(c.code, ExitCode.INTERNAL, `${args.join(' ')}: ${c.stderr}`);
    }
  });

  test('a repository URL barysafe cannot open: exit 2, what is accepted, no file written', async () => {
    const dir = path.join(tmp.path, 'ftp');
    // file:relative/dir would parse as /relative/dir: refused rather than read somewhere else.
    for (const url of ['ftp://x', '/var/backups/barysafe', 's3://', 'file:var/backups', 'file:/var/backups']) {
      const r = await runCli(['init', '--dir', dir, '--repository', url]);
      assert.equal(r.code, ExitCode.USAGE, `${url}: ${r.stderr}`);
      assert.match(r.stderr, /file:\/\/\/absolute\/dir or s3:\/\/bucket\/prefix/, url);
      assert.equal(existsSync(dir), false, `${url}: nothing written`);
    }
    const j = await runCli(['--json', 'init', '--dir', dir, '--repository', 'ftp://x']);
    assert.equal(j.code, ExitCode.USAGE);
    const doc = JSON.parse(j.stdout) as { ok: boolean; error: { kind: string; message: string; exit_code: number } };
    assert.deepEqual([doc.ok, doc.error.kind, doc.error.exit_code], [false, 'usage', 2]);
    assert.match(doc.error.message, /unsupported repository URL ftp:\/\/x/);
    assert.equal(existsSync(dir), false);
  });

  test('a repository URL in any letter case is one repository: init writes it in lower case, barysafe.toml and copy --to accept it', async () => {
    const dir = path.join(tmp.path, 'case');
    const repo = path.join(tmp.path, 'case-repo');
    const r = await runCli(['init', '--dir', dir, '--repository', `FILE://${repo}`]);
    assert.equal(r.code, 0, r.stderr);
    const config = path.join(dir, 'barysafe.toml');
    const text = await readFile(config, 'utf8');
    assert.match(text, new RegExp(`^url = "file://${repo}"$`, 'm'), 'written as file://');
    // A hand-edited file with the scheme in capitals reads as the same repository.
    await writeFile(config, text.replace(`url = "file://${repo}"`, `url = "File://${repo}"`));
    const snaps = await runCli(['--config', config, 'snapshots']);
    assert.doesNotMatch(snaps.stderr, /has invalid settings/, snaps.stderr);
    assert.match(snaps.stdout + snaps.stderr, new RegExp(`file://${repo}`));
    // copy --to refuses file:relative (it would have written to /relative) and says what to write.
    const copy = await runCli(['--config', config, 'copy', '--to', 'file:offsite/copy']);
    assert.equal(copy.code, ExitCode.USAGE, copy.stderr);
    assert.match(
      copy.stderr,
      /--to: invalid file repository URL file:offsite\/copy: name an absolute directory as file:\/\/\/absolute\/dir/,
    );
    assert.equal(existsSync('/offsite'), false);
  });

  test('the next command has no --config when the default search finds the file', async () => {
    const cwd = path.join(tmp.path, 'here');
    await mkdir(cwd);
    const r = await runCli(['init', '--root', path.join(tmp.path, 'here'), '--dir', '.'], {
      cwd,
      env: { BARYSAFE_CONFIG: undefined },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Next: barysafe backup$/m);
    const file = path.join(cwd, 'barysafe.toml');
    assert.equal(nextCommand(file, { BARYSAFE_CONFIG: file }), 'barysafe backup');
    assert.equal(nextCommand(file, { BARYSAFE_CONFIG: '/other.toml' }), `barysafe --config ${file} backup`);
    assert.equal(
      nextCommand('/tmp/with space/barysafe.toml', {}),
      "barysafe --config '/tmp/with space/barysafe.toml' backup",
    );
  });
});

describe('barysafe init reads a running Barycenter process', () => {
  let proc: ChildProcess | undefined;
  after(() => {
    proc?.kill('SIGKILL');
  });

  test('its --config, working directory, program and BARYCENTER__ variable names (never values)', async () => {
    const root = path.join(tmp.path, 'running');
    const workdir = path.join(root, 'var/lib/idp');
    const config = path.join(root, 'etc/idp/config.toml');
    await put(config, '[server]\nport = 8080\n');
    await mkdir(workdir, { recursive: true });
    // A script named barycenter, run by its interpreter, as a real process would be.
    const script = path.join(root, 'usr/local/bin/barycenter');
    await put(script, '#!/usr/bin/env node\nsetInterval(() => {}, 1000);\n', 0o755);
    await chmod(script, 0o755);
    proc = spawn(process.execPath, [script, '--config', config], {
      cwd: workdir,
      env: { PATH: process.env.PATH, BARYCENTER__DATABASE__URL: 'postgresql://idp:s3cret@db/idp' },
      stdio: 'ignore',
    });
    // A procfs holding only this process, so that no other barycenter on the machine is found.
    const procDir = path.join(tmp.path, 'proc');
    await mkdir(procDir);
    await symlink(`/proc/${proc.pid}`, path.join(procDir, String(proc.pid)));
    const deadline = Date.now() + 10_000;
    while (!readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8').includes('--config')) {
      if (Date.now() > deadline) throw new Error('the process did not start');
      await new Promise((r) => setTimeout(r, 50));
    }

    const host = await discoverHost({ root, proc: procDir });
    assert.equal(host.config.value, config);
    assert.match(host.config.source, new RegExp(`--config of process ${proc.pid}`));
    assert.equal(host.workdir.value, workdir);
    assert.match(host.workdir.source, /\/cwd\)$/);
    assert.equal(host.bin?.value, script);
    assert.equal(host.unit, undefined);
    const env = host.missing.find((m) => m.setting === 'barycenter.env_file');
    if (process.getuid?.() === 0) {
      assert.match(env!.reason, /BARYCENTER__DATABASE__URL/);
      assert.doesNotMatch(JSON.stringify(host), /s3cret/, 'names only, never values');
    }
    assert.equal(
      host.missing.some((m) => m.setting === 'drill'),
      false,
    );
    assert.deepEqual(readdirSync(procDir), [String(proc.pid)]);
  });
});
