// The drill's boot as an operator meets it: drill.boot_timeout bounds the whole boot (sync-users
// included), a launcher that cannot run is an `error` of the drill and not a finding about the
// backup, phases are shown on stderr as they run (plain lines, or a live line on a terminal), and
// an interrupted drill says what it stopped and what it cleaned. The stand-in is the only fake.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, copyFile, readFile, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import Database from 'better-sqlite3';
import { signalExitCode } from '../src/platform/lifecycle.js';
import { BARYCENTER_BIN } from './support/barycenter/launch.js';
import { CLI, runCli } from './support/deployments.js';
import { assertScratchGone, drillSetup, type DrillSetup } from './drill-fixtures.js';

interface Step {
  name: string;
  verdict: string;
  detail: string;
}

/** A copy of barysafe.toml whose [drill] section is `drillToml` (drillSetup appends [drill] last). */
async function withDrill(s: DrillSetup, name: string, drillToml: string): Promise<string> {
  const text = await readFile(s.setup.configPath, 'utf8');
  const file = path.join(path.dirname(s.setup.configPath), `${name}.toml`);
  await writeFile(file, `${text.slice(0, text.lastIndexOf('\n[drill]\n'))}\n[drill]\n${drillToml}\n`, { mode: 0o600 });
  return file;
}

/** A wrapper around the real stand-in: records the pid of its sync-users and makes it hang there. */
async function hangingStandin(s: DrillSetup): Promise<{ bin: string; pidFile: string }> {
  const bin = path.join(s.d.dir.path, 'barycenter-hangs');
  const pidFile = path.join(s.d.dir.path, 'sync-users.pid');
  await writeFile(
    bin,
    `#!/usr/bin/env bash\nif [[ " $* " == *" sync-users "* ]]; then echo $$ > '${pidFile}'; export STANDIN_HANG=sync-users; fi\nexec '${BARYCENTER_BIN}' "$@"\n`,
    { mode: 0o755 },
  );
  return { bin, pidFile };
}

const alive = (pid: number) => existsSync(`/proc/${pid}`);

async function drillJson(configPath: string) {
  const t0 = performance.now();
  const r = await runCli(['--config', configPath, '--json', 'restore', 'latest', '--verify']);
  const ms = performance.now() - t0;
  const doc = JSON.parse(r.stdout) as { verdict: string; exit_code: number; steps: Step[]; record_key: string | null };
  const boot = doc.steps.find((x) => x.name === 'boot')!;
  return { r, doc, boot, ms };
}

describe('the drill boot: deadline, launcher failures, progress, interruption', () => {
  let s: DrillSetup;
  before(async () => {
    s = await drillSetup();
    await s.backup();
  });
  after(async () => {
    await s?.close();
  });

  test('drill.boot_timeout bounds sync-users too: a sync-users that hangs ends the drill after ~3 s, not 60, and leaves nothing behind', async () => {
    const { bin, pidFile } = await hangingStandin(s);
    const cfg = await withDrill(s, 'hangs', `barycenter_bin = "${bin}"\nboot_timeout = "3s"`);
    const { r, doc, boot, ms } = await drillJson(cfg);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(doc.verdict, 'fail');
    assert.equal(boot.verdict, 'fail');
    assert.match(
      boot.detail,
      /the restored deployment does not start in time: `barycenter sync-users` .* was still running when the boot's time ran out \(drill\.boot_timeout = "3s"; phase sync-users, \d+\.\d s\)/,
    );
    // A bound of behaviour, not a speed test: far under the 60 s sync-users used to be given.
    assert.ok(ms < 20_000, `the drill took ${Math.round(ms)} ms`);
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    assert.ok(pid > 0);
    assert.equal(alive(pid), false, `the hung sync-users (pid ${pid}) is gone`);
    assertScratchGone(s.tempBase);

    // A binary that hangs at everything, --version too: its probe is bounded the same way, and it
    // is the launcher's failure (no restored data was involved yet).
    const stuck = path.join(s.d.dir.path, 'barycenter-stuck');
    const stuckPid = path.join(s.d.dir.path, 'stuck.pid');
    await writeFile(stuck, `#!/usr/bin/env bash\necho $$ > '${stuckPid}'\nexec sleep 300\n`, { mode: 0o755 });
    const all = await drillJson(await withDrill(s, 'stuck', `barycenter_bin = "${stuck}"\nboot_timeout = "3s"`));
    assert.equal(all.r.code, 2, all.r.stderr);
    assert.equal(all.boot.verdict, 'error');
    assert.match(
      all.boot.detail,
      /^the launcher failed: binary .*barycenter-stuck did not answer `--version` within 3s \(drill\.boot_timeout\)/,
    );
    assert.ok(all.ms < 20_000, `the drill took ${Math.round(all.ms)} ms`);
    const sp = Number((await readFile(stuckPid, 'utf8')).trim());
    assert.equal(alive(sp), false, `the stuck probe (pid ${sp}) is gone`);
    assertScratchGone(s.tempBase);
  });

  test('a launcher that cannot run is an error of the drill (exit 2, "the launcher failed"); a restored database Barycenter rejects is still a fail (exit 3)', async () => {
    const dir = s.d.dir.path;
    const notExecutable = path.join(dir, 'barycenter-0644');
    await copyFile(BARYCENTER_BIN, notExecutable);
    await chmod(notExecutable, 0o644);
    const noSyncUsers = path.join(dir, 'barycenter-no-sync');
    await writeFile(
      noSyncUsers,
      `#!/usr/bin/env bash\nif [[ " $* " == *" sync-users "* ]]; then exec /nonexistent/barycenter "$@"; fi\nexec '${BARYCENTER_BIN}' "$@"\n`,
      { mode: 0o755 },
    );
    const rows: Array<{ name: string; drill: string; exit: number; verdict: string; detail: RegExp }> = [
      {
        name: 'missing binary',
        drill: 'barycenter_bin = "/nonexistent/barycenter"',
        exit: 2,
        verdict: 'error',
        detail:
          /^the launcher failed: drill\.barycenter_bin \/nonexistent\/barycenter does not exist; barysafe could not run Barycenter, so this says nothing about the backup/,
      },
      {
        name: '/bin/false',
        drill: 'barycenter_bin = "/bin/false"',
        exit: 2,
        verdict: 'error',
        detail:
          /^the launcher failed: binary \/bin\/false `--version` exited with code 1 before any restored data was involved/,
      },
      {
        name: 'not executable (EACCES)',
        drill: `barycenter_bin = "${notExecutable}"`,
        exit: 2,
        verdict: 'error',
        detail: /^the launcher failed: binary .*barycenter-0644 `--version` could not be started \(EACCES\)/,
      },
      {
        name: 'command naming a missing program (127)',
        drill: 'command = "/nonexistent/barycenter"',
        exit: 2,
        verdict: 'error',
        detail: /^the launcher failed: command \/nonexistent\/barycenter `--version` exited with code 127/,
      },
      {
        name: 'command naming a file that is not executable (126)',
        drill: `command = "${notExecutable}"`,
        exit: 2,
        verdict: 'error',
        detail: /^the launcher failed: command .*barycenter-0644 `--version` exited with code 126/,
      },
      {
        name: 'sync-users cannot be run (127 at boot, after the probe passed)',
        drill: `barycenter_bin = "${noSyncUsers}"`,
        exit: 2,
        verdict: 'error',
        detail: /^the launcher failed: binary .*barycenter-no-sync could not run `sync-users`: it exited with code 127/,
      },
    ];
    for (const row of rows) {
      const { r, doc, boot } = await drillJson(await withDrill(s, row.name.replace(/\W+/g, '-'), row.drill));
      assert.equal(r.code, row.exit, `${row.name}: ${r.stderr}`);
      assert.equal(doc.exit_code, row.exit, row.name);
      assert.equal(doc.verdict, row.verdict, row.name);
      assert.equal(boot.verdict, row.verdict, `${row.name}: ${boot.detail}`);
      assert.match(boot.detail, row.detail, row.name);
      assert.match(boot.detail, /hint: point drill\.barycenter_bin/, row.name);
      // What ran before boot still ran: the backup itself was checked.
      for (const n of ['integrity', 'key', 'database'])
        assert.equal(doc.steps.find((x) => x.name === n)!.verdict, 'pass', `${row.name}: ${n}`);
      assertScratchGone(s.tempBase);
    }

    // A snapshot whose database holds a migration the booted build does not know: Barycenter
    // itself refuses it, so the backup is proven not to start with this build — a fail.
    const db = new Database(path.join(s.d.workdir, 'barycenter.db'));
    db.prepare('INSERT INTO seaql_migrations (version, applied_at) VALUES (?, ?)').run(
      'm20991231_000001_from_the_future',
      Math.floor(Date.now() / 1000),
    );
    db.close();
    try {
      await s.backup();
      const { r, doc, boot } = await drillJson(s.setup.configPath);
      assert.equal(r.code, 3, r.stderr);
      assert.equal(doc.verdict, 'fail');
      assert.equal(boot.verdict, 'fail');
      assert.match(boot.detail, /does not know migration m20991231_000001_from_the_future/);
      assert.doesNotMatch(boot.detail, /the launcher failed/);
    } finally {
      const fix = new Database(path.join(s.d.workdir, 'barycenter.db'));
      fix.prepare('DELETE FROM seaql_migrations WHERE version = ?').run('m20991231_000001_from_the_future');
      fix.close();
      await s.backup();
    }
  });

  test('phases on stderr: one plain line per phase start and end without a terminal; stdout stays the JSON result', async () => {
    const r = await runCli(['--config', s.setup.configPath, '--json', 'restore', 'latest', '--verify']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { verdict: string };
    assert.equal(doc.verdict, 'pass');
    assert.doesNotMatch(r.stdout, /^drill /m, 'no progress on stdout');
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('drill '));
    const expected = [
      'launcher: started',
      'launcher: ready',
      'integrity: started',
      'integrity: extract: started',
      'integrity: extract: \\d+ artifacts',
      'integrity: pass',
      'key: started',
      'key: pass',
      'database: started',
      'database: pass',
      'config: started',
      'config: pass',
      'boot: started',
      'boot: sync-users: started',
      'boot: sync-users: done',
      'boot: start: started',
      'boot: start: pid',
      'boot: discovery: started',
      'boot: discovery: answered',
      'boot: pass',
      'discovery: pass',
      'jwks: pass',
      'token: started',
      'token: pass',
      'teardown: started',
      'teardown: pass',
    ];
    let at = 0;
    for (const e of expected) {
      const i = lines.findIndex((l, k) => k >= at && new RegExp(`^drill ${e}`).test(l));
      assert.ok(i >= 0, `"drill ${e}" after line ${at} in:\n${lines.join('\n')}`);
      at = i + 1;
    }
    for (const l of lines.filter((x) => !x.endsWith(': started')))
      assert.match(l, /\(\d+\.\d s\)$/, `an end line says how long: ${l}`);
  });

  test('phases on a terminal: a live line and the finished phases, in a real pseudo-terminal', async () => {
    const cmd = [process.execPath, CLI, '--config', s.setup.configPath, 'restore', 'latest', '--verify']
      .map((a) => `'${a}'`)
      .join(' ');
    const out = execFileSync('script', ['-qec', cmd, '/dev/null'], {
      env: { ...process.env, BARYSAFE_LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    const plain = out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    for (const phase of ['integrity', 'integrity: extract', 'boot: sync-users', 'boot: discovery', 'token', 'teardown'])
      assert.match(plain, new RegExp(`drill ${phase}: \\S+`), `${phase} in:\n${plain}`);
    assert.match(plain, /drill \[[^\]]*\] \d+\/10 /, 'the live line (bar, step counter) was drawn');
    assert.match(plain, /verdict: \S+ \(exit 0\)/, 'the result follows');
  });

  test('SIGINT or SIGTERM during a drill: one line says what stopped and what was cleaned; no scratch dir, no process, no record', async () => {
    const { bin, pidFile } = await hangingStandin(s);
    const cfg = await withDrill(s, 'interrupted', `barycenter_bin = "${bin}"\nboot_timeout = "60s"`);
    const drills = () =>
      existsSync(path.join(s.repoRoot, 'drills')) ? readdirSync(path.join(s.repoRoot, 'drills')).length : 0;
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      await writeFile(pidFile, '');
      const before = drills();
      const child = spawn(process.execPath, [CLI, '--config', cfg, 'restore', 'latest', '--verify'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.stdout.resume();
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      let pid = 0;
      for (let i = 0; i < 600 && !pid; i++) {
        await new Promise((r) => setTimeout(r, 50));
        pid = Number((await readFile(pidFile, 'utf8')).trim()) || 0;
      }
      assert.ok(pid > 0 && alive(pid), `${sig}: sync-users is running: ${stderr}`);
      child.kill(sig);
      const [code, signal] = await exited;
      assert.equal(code ?? (signal ? signalExitCode(signal) : null), signalExitCode(sig), `${sig}: ${stderr}`);
      const lines = stderr.split('\n').filter((l) => l.startsWith('barysafe:'));
      assert.equal(lines.length, 1, `${sig}: exactly one line for the user: ${lines.join(' | ')}`);
      assert.match(
        lines[0]!,
        new RegExp(
          `^barysafe: interrupted by ${sig}: the drill of snapshot \\S+ stopped during its boot step; cleaned up: .*scratch directory removed; no drill record was stored$`,
        ),
      );
      assert.equal(alive(pid), false, `${sig}: the scratch sync-users (pid ${pid}) is gone`);
      assertScratchGone(s.tempBase);
      assert.equal(drills(), before, `${sig}: no drill record`);
    }
  });
});
