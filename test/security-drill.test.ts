// A drill is sealed off from production: the review's V4 (mixed-case overrides in the snapshot's
// env file), V9 (SIGKILL of barysafe leaves the scratch IdP running) and V10 (local users reach
// the scratch IdP), each reproduced through both launchers — the bash-wrapped stand-in as
// drill.barycenter_bin and drill.command (`/bin/sh -c`) — and shown to fail with nothing lost.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { runBackup } from '../src/backup/pipeline.js';
import { openStorage } from '../src/repository/open-storage.js';
import { runDrill } from '../src/verify/drill.js';
import { tempRoot } from '../src/platform/private-temp.js';
import { auditScratch, decodeAddress } from '../src/verify/scratch/proc-audit.js';
import { restoredEnvFor, scratchConfigText } from '../src/verify/scratch/scratch-env.js';
import { BARYCENTER_BIN } from './support/barycenter/launch.js';
import { CLI, REPO_ROOT, makeDeployment, runCli, setupFileRepository, type Deployment } from './support/deployments.js';
import { makeTempDir } from './support/services.js';
import { running } from './support/processes.js';
import { asAttacker, canImpersonate } from './support/attacker.js';
import { assertAllPass, assertScratchGone, logger, step } from './drill-fixtures.js';

const LAUNCHERS = {
  'drill.barycenter_bin (bash-wrapped stand-in)': `barycenter_bin = "${BARYCENTER_BIN}"`,
  // The trailing `:` keeps sh from exec'ing the binary: it forks it, as wrappers often do.
  'drill.command (/bin/sh -c)': `command = "${BARYCENTER_BIN} \\"$@\\"; :"`,
} as const;

/**
 * A wrapper that daemonizes Barycenter: it forks it into a session of its own and exits once it
 * is there (with `leaderStays`, it goes on running instead, as a supervisor would), so neither its
 * process group nor a parent-death signal reaches it. MARK is in its environment, so a test finds
 * it wherever it went (its directory may be gone).
 */
async function daemonizing(dir: string, mark: string, o: { leaderStays?: boolean } = {}): Promise<string> {
  const script = path.join(dir, 'daemonize.sh');
  await writeFile(
    script,
    // With leaderStays its output goes nowhere: a dead barysafe's pipes must not be what ends it.
    `#!/bin/sh
setsid ${BARYCENTER_BIN} "$@" ${o.leaderStays ? '>/dev/null 2>&1 ' : ''}& c=$!
` +
      `while [ "$(ps -o sid= -p $c | tr -d ' ')" != "$c" ]; do sleep 0.01; done
` +
      // (the launcher's `--version` probe and sync-users must still end: only the server's leader stays)
      (o.leaderStays ? 'case " $* " in *" sync-users "*|*" --version "*) wait $c ;; *) exec sleep 1000 ;; esac\n' : ''),
    { mode: 0o755 },
  );
  return `command = "BARYSAFE_TEST_MARK=${mark} ${script}"`;
}

/**
 * Live processes whose environment carries BARYSAFE_TEST_MARK=mark; with `scratchOnly`, those in
 * another network namespace than ours (the drill's; its launcher probe runs the template out here).
 */
function marked(mark: string, scratchOnly = false): number[] {
  const out: number[] = [];
  const ours = readlinkSync('/proc/self/ns/net');
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      if (!readFileSync(`/proc/${n}/environ`, 'utf8').split('\0').includes(`BARYSAFE_TEST_MARK=${mark}`)) continue;
      if (!running(Number(n)) || (scratchOnly && readlinkSync(`/proc/${n}/ns/net`) === ours)) continue;
      out.push(Number(n));
    } catch {
      /* gone, or a zombie */
    }
  }
  return out;
}

const sha = (f: string) => (existsSync(f) ? createHash('sha256').update(readFileSync(f)).digest('hex') : 'absent');

/** sha256 of every production file a drill must not touch. */
function productionState(d: Deployment): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of ['barycenter.db', 'barycenter.db-wal', 'data/private_key.pem', 'data/jwks.json'])
    out[f] = sha(path.join(d.workdir, f));
  return out;
}

/**
 * A running production deployment whose env file (backed up with the snapshot) names production's
 * database, key, address and port in mixed case, as config-rs accepts them — and turns webfinger
 * and federation on.
 */
async function hostileEnvDeployment(launcherToml: string, extraDrillToml = '') {
  const d = await makeDeployment({ keepRunning: true });
  const envFile = path.join(d.dir.path, 'barycenter.env');
  await writeFile(
    envFile,
    [
      `BARYCENTER__Database__URL=sqlite://${path.join(d.workdir, 'barycenter.db')}?mode=rwc`,
      'barycenter__server__host=0.0.0.0',
      `BARYCENTER__Server__Port=${d.port}`,
      `BARYCENTER__server__ADMIN_PORT=${d.port + 1}`,
      `BARYCENTER__Keys__Private_Key_Path=${path.join(d.workdir, 'data/private_key.pem')}`,
      `barycenter__KEYS__jwks_path=${path.join(d.workdir, 'data/jwks.json')}`,
      'BARYCENTER__WebFinger__Enabled=true',
      'BARYCENTER__federation__ENABLED=true',
      'BARYCENTER__Authz__Enabled=true',
      '',
    ].join('\n'),
  );
  // With authz on, production needs its policies (the drill's config step checks they are in the snapshot).
  await mkdir(path.join(d.workdir, 'policies'));
  await writeFile(path.join(d.workdir, 'policies/main.kdl'), 'namespace "doc" {\n  relation "viewer"\n}\n');
  const setup = await setupFileRepository(d);
  const text = await readFile(setup.configPath, 'utf8');
  await writeFile(
    setup.configPath,
    text.replace('[barycenter]\n', `[barycenter]\nenv_file = "${envFile}"\n`) +
      `\n[drill]\n${launcherToml}\nboot_timeout = "30s"\n${extraDrillToml}\n`,
  );
  const { config } = await loadConfig(setup.configPath);
  const storage = openStorage(config.repository);
  return { d, setup, config, storage };
}

describe('a drill is sealed off from production', () => {
  for (const [name, launcherToml] of Object.entries(LAUNCHERS)) {
    test(`V4 through ${name}: mixed-case overrides in the env file leave production's DB and key byte-identical; the scratch instance listened only on 127.0.0.1`, async () => {
      const { d, setup, config, storage } = await hostileEnvDeployment(launcherToml);
      try {
        const b = await runBackup(config, { logger, storage });
        assert.ok(
          b.manifest.artifacts.some((a) => a.kind === 'env'),
          'the env file is in the snapshot',
        );
        const before = productionState(d);
        const result = await runDrill(config, { ref: 'latest', logger, storage });
        assertAllPass(result);
        assert.deepEqual(productionState(d), before, "production's database, key and jwks.json are byte-identical");
        const boot = step(result, 'boot').evidence!;
        const listeners = boot.listeners as string[];
        assert.ok(listeners.length >= 1, `the audit saw the listeners: ${JSON.stringify(boot)}`);
        for (const l of listeners) assert.match(l, /^127\.0\.0\.1:\d+ \(tcp\)$/);
        assert.ok(!listeners.some((l) => l.startsWith(`127.0.0.1:${d.port} `)), "not on production's port");
        assert.deepEqual(boot.open_outside, []);
        assert.deepEqual(
          (boot.dropped_env as string[]).sort(),
          [
            'BARYCENTER__Authz__Enabled',
            'BARYCENTER__Database__URL',
            'BARYCENTER__Keys__Private_Key_Path',
            'BARYCENTER__Server__Port',
            'BARYCENTER__WebFinger__Enabled',
            'BARYCENTER__federation__ENABLED',
            'BARYCENTER__server__ADMIN_PORT',
            'barycenter__KEYS__jwks_path',
            'barycenter__server__host',
          ].sort(),
        );
        if (process.getuid?.() === 0) assert.match(String(boot.isolation), /own network namespace/);
        assertScratchGone(setup.tempBase);
      } finally {
        await d.standin?.stop();
        await d.dir.cleanup();
      }
    });
  }

  test('the scratch config gets the overrides too, whatever the case of its sections and keys', () => {
    const text = scratchConfigText(
      '[Server]\nHost = "0.0.0.0"\nPORT = 8080\n\n[database]\nURL = "sqlite:///prod.db"\n\n[webfinger]\nservice_token_file = "/etc/prod-token"\nenabled = true\n',
      {
        BARYCENTER__SERVER__HOST: '127.0.0.1',
        BARYCENTER__SERVER__PORT: '40001',
        BARYCENTER__DATABASE__URL: 'sqlite:///scratch/barycenter.db?mode=rw',
        BARYCENTER__WEBFINGER__ENABLED: 'false',
        BARYCENTER__FEDERATION__ENABLED: 'false',
        RUST_LOG: 'warn',
      },
    );
    assert.doesNotMatch(text, /0\.0\.0\.0|8080|prod\.db|prod-token/);
    assert.match(text, /host = "127\.0\.0\.1"/);
    assert.match(text, /port = 40001/);
    assert.match(text, /trust_anchors = \[\]/);
    const { kept, dropped } = restoredEnvFor(
      { barycenter__Keys__Key_Id: 'k1', BARYCENTER__database__url: 'x', BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE: '/p' },
      { BARYCENTER__DATABASE__URL: 'y' },
    );
    assert.deepEqual(kept, { BARYCENTER__KEYS__KEY_ID: 'k1' });
    assert.deepEqual(dropped.sort(), ['BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE', 'BARYCENTER__database__url']);
  });

  test('the /proc audit sees a listener on 0.0.0.0 and a file held open outside the scratch tree', async () => {
    const p = spawn(
      process.execPath,
      [
        '-e',
        "const fs=require('fs');fs.openSync('/etc/hostname','r');require('net').createServer().listen(0,'0.0.0.0',()=>console.log('UP'))",
      ],
      { detached: true, stdio: ['ignore', 'pipe', 'ignore'], cwd: '/tmp' },
    );
    try {
      await new Promise<void>((r) => p.stdout!.once('data', () => r()));
      const audit = auditScratch(p.pid!, '/tmp');
      assert.ok(!('unavailable' in audit));
      assert.ok(audit.problems.some((x) => /listens on 0\.0\.0\.0:\d+ \(tcp\), not on loopback only/.test(x)));
      assert.ok(audit.problems.some((x) => x.includes('/etc/hostname')));
    } finally {
      p.kill('SIGKILL');
    }
    assert.deepEqual(decodeAddress('0100007F:1F90'), { address: '127.0.0.1', port: 8080, loopback: true });
    assert.equal(decodeAddress('00000000000000000000000001000000:0050').loopback, true);
    assert.equal(decodeAddress('00000000000000000000000000000000:0050').loopback, false);
  });
});

/** A stand-in for production's public URL that answers only after `delayMs` (keeps a drill's instance up). */
async function slowProduction(target: string, delayMs: number): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    setTimeout(() => {
      void fetch(target + req.url)
        .then(async (r) => {
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
          res.end(Buffer.from(await r.arrayBuffer()));
        })
        .catch(() => res.destroy());
    }, delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, server };
}

interface Recorded {
  pid: number;
  cwd: string;
}

/** The processes a running drill recorded in its run directory (guard first, then the launches). */
function recordedProcesses(tempBase: string): { runDir: string; procs: Recorded[] } | undefined {
  const root = tempRoot(tempBase);
  if (!existsSync(root)) return undefined;
  for (const n of readdirSync(root)) {
    const f = path.join(root, n, '.barysafe-pids');
    if (!existsSync(f)) continue;
    const procs = readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Recorded);
    return { runDir: path.join(root, n), procs };
  }
  return undefined;
}

/** Every live process whose cwd is inside `dir`. */
function processesIn(dir: string): number[] {
  const out: number[] = [];
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const cwd = readlinkSync(`/proc/${n}/cwd`);
      if (cwd === dir || cwd.startsWith(dir + '/')) out.push(Number(n));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Starts `restore --verify` through the CLI and waits until its scratch instance runs. */
async function drillUntilServing(configPath: string, tempBase: string) {
  const child: ChildProcess = spawn(process.execPath, [CLI, '--config', configPath, 'restore', 'latest', '--verify'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BARYSAFE_LOG_LEVEL: 'info' },
  });
  let output = '';
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  for (let i = 0; i < 600; i++) {
    const rec = recordedProcesses(tempBase);
    if (rec && /drill step discovery/.test(output)) {
      const instance = rec.procs[rec.procs.length - 1]!;
      if (rec.procs.length >= 2 && running(instance.pid)) return { child, rec, output: () => output };
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill('SIGKILL');
  throw new Error(`the drill never served:\n${output}`);
}

/**
 * A running production, barysafe configured for it with `launcherToml`, a snapshot taken, and
 * production's public URL served through a proxy that answers after 4 s — so the drill's token
 * step keeps the scratch instance up long enough to be attacked.
 */
async function drillTarget(launcher: string | ((dir: string) => Promise<string>)) {
  const d = await makeDeployment({ keepRunning: true });
  const launcherToml = typeof launcher === 'string' ? launcher : await launcher(d.dir.path);
  const prodProxy = await slowProduction(d.standin!.url, 4000);
  const setup = await setupFileRepository(d);
  const text = await readFile(setup.configPath, 'utf8');
  await writeFile(
    setup.configPath,
    text.replace('[barycenter]\n', `[barycenter]\npublic_url = "${prodProxy.url}"\n`) +
      `\n[drill]\n${launcherToml}\nboot_timeout = "30s"\n`,
  );
  const b = await runCli(['--config', setup.configPath, 'backup']);
  assert.equal(b.code, 0, b.stderr);
  return {
    setup,
    close: async () => {
      prodProxy.server.close();
      await d.standin?.stop();
      await d.dir.cleanup();
    },
  };
}

const aliveIn = (pid: number, dir: string) => running(pid) && processesIn(dir).includes(pid);

describe(
  'no scratch process outlives barysafe, and local users cannot reach one',
  { skip: !canImpersonate && 'needs root' },
  () => {
    for (const [name, launcherToml] of Object.entries(LAUNCHERS)) {
      test(`V9 through ${name}: SIGKILL of barysafe during a drill leaves no drill process alive; the next start removes the scratch directory`, async () => {
        const t = await drillTarget(launcherToml);
        try {
          const { child, rec } = await drillUntilServing(t.setup.configPath, t.setup.tempBase);
          const runDir = rec.runDir;
          assert.ok(processesIn(runDir).length > 0, 'the scratch processes run in the scratch directory');
          child.kill('SIGKILL');
          await new Promise((r) => child.once('exit', r));
          for (let i = 0; i < 120 && processesIn(runDir).length; i++) await new Promise((r) => setTimeout(r, 25));
          assert.deepEqual(processesIn(runDir), [], 'no process of the drill survived (3 s after SIGKILL)');
          for (const p of rec.procs) assert.equal(aliveIn(p.pid, runDir), false, `recorded pid ${p.pid} is gone`);
          assert.ok(existsSync(runDir), 'the scratch directory was left by the killed run');
          const next = await runCli(['--config', t.setup.configPath, 'backup']);
          assert.equal(next.code, 0, next.stderr);
          assert.equal(existsSync(runDir), false, 'the next start swept it');
        } finally {
          await t.close();
        }
      });
    }

    test('V9: even with its guard killed too, a forked scratch process is killed by the next start’s sweep', async () => {
      const t = await drillTarget(LAUNCHERS['drill.command (/bin/sh -c)']);
      try {
        const { child, rec } = await drillUntilServing(t.setup.configPath, t.setup.tempBase);
        process.kill(rec.procs[0]!.pid, 'SIGKILL'); // the guard
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
        await new Promise((r) => setTimeout(r, 300));
        const survivors = processesIn(rec.runDir);
        assert.ok(
          survivors.length > 0,
          'the forked binary outlived its sh and the guard (it has no parent-death signal of its own)',
        );
        const next = await runCli(['--config', t.setup.configPath, 'backup']);
        assert.equal(next.code, 0, next.stderr);
        for (let i = 0; i < 40 && survivors.some(running); i++) await new Promise((r) => setTimeout(r, 25));
        // By pid: once the directory is gone a survivor's cwd reads "(deleted)" and no longer matches it.
        assert.deepEqual(survivors.filter(running), [], 'the sweep killed every process working in the run directory');
        assert.equal(existsSync(rec.runDir), false);
      } finally {
        await t.close();
      }
    });

    test('a wrapper that daemonizes Barycenter (setsid -f): the drill fails at boot, and the daemon dies with it', async () => {
      const mark = `daemon-${process.pid}-${Date.now()}`;
      const t = await drillTarget((dir) => daemonizing(dir, mark));
      try {
        const child = spawn(process.execPath, [CLI, '--config', t.setup.configPath, 'restore', 'latest', '--verify'], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
        child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
        let seen = 0;
        const exited = new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
        const watch = setInterval(() => (seen = Math.max(seen, marked(mark, true).length)), 20);
        const code = await exited;
        clearInterval(watch);
        assert.ok(seen > 0, 'the daemonized stand-in ran in the drill’s namespace');
        assert.notEqual(code, 0, output);
        assert.match(output, /exited with code 0 before answering discovery/, output);
        assert.deepEqual(marked(mark), [], 'nothing of the drill runs once barysafe has exited');
      } finally {
        for (const pid of marked(mark)) process.kill(pid, 'SIGKILL');
        await t.close();
      }
    });

    test('SIGKILL of barysafe while a scratch Barycenter that left its session runs: the guard kills everything in its namespace', async () => {
      const mark = `daemon-kill-${process.pid}-${Date.now()}`;
      // The leader stays (barysafe sees a running instance); the server it forked escaped its group.
      const t = await drillTarget((dir) => daemonizing(dir, mark, { leaderStays: true }));
      try {
        const child = spawn(process.execPath, [CLI, '--config', t.setup.configPath, 'restore', 'latest', '--verify'], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, BARYSAFE_LOG_LEVEL: 'info' },
        });
        const exited = new Promise((r) => child.once('exit', r));
        let output = '';
        child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
        child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
        // Serving: past discovery, held in the token step by production's slow JWKS.
        for (let i = 0; i < 600 && !/drill step token"/.test(output); i++) await new Promise((r) => setTimeout(r, 25));
        assert.match(output, /drill step token"/, 'the drill got as far as its token step');
        const daemons = marked(mark, true);
        const servers = daemons.filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('main.js'));
        assert.equal(servers.length, 1, `the escaped stand-in runs in the drill’s namespace:\n${output}`);
        const rec = recordedProcesses(t.setup.tempBase)!;
        child.kill('SIGKILL');
        await exited;
        for (let i = 0; i < 120 && daemons.some(running); i++) await new Promise((r) => setTimeout(r, 25));
        assert.deepEqual(daemons.filter(running), [], 'the guard swept its namespace (no next start needed)');
        assert.ok(existsSync(rec.runDir), 'no barysafe start has run since: the guard alone did it');
      } finally {
        for (const pid of marked(mark)) process.kill(pid, 'SIGKILL');
        await t.close();
      }
    });

    // drill.image: the engine owns the container, so neither signals nor namespaces reach it; the
    // fake engine (test/support/fake-docker) runs it detached from the CLI, as dockerd does.
    const dockerDrill = async () => {
      const engine = await makeTempDir('barysafe-fake-engine-');
      const t = await drillTarget('image = "barycenter:8218d6f"');
      const env = {
        ...process.env,
        PATH: `${path.join(REPO_ROOT, 'test/support/fake-docker')}${path.delimiter}${process.env.PATH}`,
        DOCKER_HOST: `unix://${engine.path}/docker.sock`,
        BARYSAFE_LOG_LEVEL: 'info',
      };
      const child = spawn(process.execPath, [CLI, '--config', t.setup.configPath, 'restore', 'latest', '--verify'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env,
      });
      let output = '';
      child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
      child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
      /** The serving container: its name and the pid the fake engine runs it as. */
      let serving: { name: string; pid: number } | undefined;
      for (let i = 0; i < 600 && !serving; i++) {
        await new Promise((r) => setTimeout(r, 25));
        if (!/drill step discovery/.test(output)) continue;
        for (const f of readdirSync(engine.path).filter((n) => /^container-.+\.pid$/.test(n))) {
          const pid = Number(readFileSync(path.join(engine.path, f), 'utf8'));
          if (running(pid)) serving = { name: f.slice('container-'.length, -'.pid'.length), pid };
        }
      }
      if (!serving) {
        child.kill('SIGKILL');
        throw new Error(`the drill's container never served:\n${output}`);
      }
      const removals = () =>
        readFileSync(path.join(engine.path, 'invocations.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { argv?: string[] }).argv ?? [])
          .filter((a) => a[0] === 'rm' && a.includes(serving!.name)).length;
      return {
        t,
        env,
        child,
        serving,
        removals,
        close: async () => {
          if (running(serving!.pid)) process.kill(serving!.pid, 'SIGKILL');
          await t.close();
          await engine.cleanup();
        },
      };
    };

    test('V9 through drill.image: SIGKILL of barysafe mid-drill; the guard removes the container (docker rm -f)', async () => {
      const x = await dockerDrill();
      try {
        assert.equal(x.removals(), 0, 'the drill was still running when it was killed');
        x.child.kill('SIGKILL');
        await new Promise((r) => x.child.once('exit', r));
        for (let i = 0; i < 120 && running(x.serving.pid); i++) await new Promise((r) => setTimeout(r, 25));
        assert.equal(running(x.serving.pid), false, 'the container outlived barysafe');
        assert.equal(x.removals(), 1, 'removed with docker rm -f, once');
      } finally {
        await x.close();
      }
    });

    test('V9 through drill.image, guard killed too: the container runs on until the next start removes it', async () => {
      const x = await dockerDrill();
      try {
        const rec = recordedProcesses(x.t.setup.tempBase)!;
        process.kill(rec.procs[0]!.pid, 'SIGKILL'); // the guard
        x.child.kill('SIGKILL');
        await new Promise((r) => x.child.once('exit', r));
        await new Promise((r) => setTimeout(r, 300));
        assert.ok(running(x.serving.pid), 'nothing of barysafe is left to remove it');
        const next = await runCli(['--config', x.t.setup.configPath, 'backup'], { env: x.env });
        assert.equal(next.code, 0, next.stderr);
        for (let i = 0; i < 40 && running(x.serving.pid); i++) await new Promise((r) => setTimeout(r, 25));
        assert.equal(running(x.serving.pid), false, 'the next start’s sweep removed the recorded container');
        assert.equal(x.removals(), 1);
        assert.equal(existsSync(rec.runDir), false);
      } finally {
        await x.close();
      }
    });

    test('V10: while a drill runs, a local user can neither reach the scratch instance’s ports nor its sockets', async () => {
      const t = await drillTarget(LAUNCHERS['drill.barycenter_bin (bash-wrapped stand-in)']);
      try {
        const { child, rec, output } = await drillUntilServing(t.setup.configPath, t.setup.tempBase);
        const instance = rec.procs[rec.procs.length - 1]!.pid;
        // The scratch instance's listeners, read (as root) from its own network namespace.
        const ports = [
          ...new Set(
            readFileSync(`/proc/${instance}/net/tcp`, 'utf8')
              .split('\n')
              .slice(1)
              .map((l) => l.trim().split(/\s+/))
              .filter((f) => f[3] === '0A')
              .map((f) => decodeAddress(f[1]!).port),
          ),
        ];
        assert.ok(ports.length >= 1, 'the instance listens');
        const sockDir = path.join(rec.runDir, '.sandbox');
        const sockets = readdirSync(sockDir).map((n) => path.join(sockDir, n));
        const probe = String.raw`
const net = require('net');
const [ports, sockets] = [JSON.parse(process.argv[1]), JSON.parse(process.argv[2])];
const targets = [...ports.map((p) => ({ port: p, host: '127.0.0.1' })), ...sockets.map((s) => ({ path: s }))];
let left = targets.length;
for (const t of targets) {
  const c = net.connect(t);
  c.on('connect', () => {
    c.write('POST /connect/register HTTP/1.0\r\ncontent-type: application/json\r\ncontent-length: 44\r\n\r\n{"redirect_uris":["http://evil.example/cb"]}');
    c.on('data', (d) => console.log('REACHED ' + JSON.stringify(t) + ' ' + String(d).split('\r\n')[0]));
    c.on('end', () => --left || process.exit(0));
  });
  c.on('error', (e) => { console.log('REFUSED ' + JSON.stringify(t) + ' ' + e.code); --left || process.exit(0); });
}
`;
        const r = await asAttacker(process.execPath, ['-e', probe, JSON.stringify(ports), JSON.stringify(sockets)]);
        assert.ok(running(instance), 'the instance was still up while the attacker probed');
        assert.doesNotMatch(r.stdout, /REACHED/, r.stdout);
        // Lines, not words: ECONNREFUSED contains the word too.
        assert.equal((r.stdout.match(/^REFUSED /gm) ?? []).length, ports.length + sockets.length, r.stdout + r.stderr);
        const code = await new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
        assert.equal(code, 0, output());
      } finally {
        await t.close();
      }
    });
  },
);
