import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { parseDuration } from '../../units.js';
import { BarysafeError, ExitCode } from '../../errors.js';
import { couldNotRun, describeExit, type Exit, type RunningProcess } from '../../platform/child-process.js';
import { writeDrillUser } from '../scratch/drill-user.js';
import { freeLoopbackPorts } from '../../platform/ports.js';
import {
  assertNotProduction,
  restoredEnvFor,
  scratchConfigText,
  scratchIssuer,
  scratchOverrides,
  scratchProcessEnv,
  type ScratchNetwork,
} from '../scratch/scratch-env.js';
import { openSandbox } from '../scratch/sandbox.js';
import { auditScratch } from '../scratch/proc-audit.js';
import { writeFileReplacing } from '../../platform/safe-fs.js';
import { launcherFailed, type LaunchSpec } from '../scratch/launcher.js';
import type { BootInput, DrillContext } from '../context.js';
import { restoredServiceEnv, restoredSettings } from '../restored-settings.js';
import { fetchFailure, parseJsonObject, request } from '../../platform/http.js';
import { fail, pass, type StepOutcome } from '../step-runner.js';
import { phaseTimer } from '../phase-timer.js';

const LOG_TAIL_LINES = 15;

/**
 * Step 4. Adds the drill user with `sync-users` (scratch database only), starts the scratch
 * instance on free loopback ports with the scratch overrides, and waits for a 200 on discovery.
 * The time from process start to that 200 is the instance's startup time. An instance that exits
 * or never answers is reported with the tail of its log.
 *
 * drill.boot_timeout is one deadline for all of it (sync-users, start, discovery): a message says
 * which phase was running when it ran out. A launcher that cannot run at all (a spawn error, exit
 * 126/127, docker's own 125) is an `error` of the drill, not a finding about the backup.
 */
export async function bootStep(input: BootInput, ctx: DrillContext): Promise<StepOutcome> {
  if (!input.launcher) throw input.launcherError;
  const launcher = input.launcher;
  const { layout } = input.restored;
  const manifest = input.entry.manifest;
  const production = manifest.barycenter;
  const serviceEnv = restoredServiceEnv(input.restored);
  const budget = `drill.boot_timeout = "${ctx.config.drill.boot_timeout}"`;
  const bootStart = performance.now();
  const deadline = bootStart + parseDuration(ctx.config.drill.boot_timeout);
  const left = () => Math.max(0, deadline - performance.now());
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const phase = phaseTimer(ctx.onPhase);
  const cannotRun = (e: Exit) => couldNotRun(e) || (launcher.kind === 'docker' && e.code === 125);

  ctx.drillUser = await writeDrillUser(layout.usersFile);
  const restoredConfig =
    input.restored.configRestored && existsSync(layout.configPath)
      ? await readFile(layout.configPath, 'utf8')
      : undefined;
  // A port found free can be taken before the instance binds it: one retry with fresh ports.
  for (let attempt = 1; ; attempt++) {
    const [port, adminPort] = await freeLoopbackPorts(2, [production.port, production.admin_port]);
    const net: ScratchNetwork = { port: port!, adminPort: adminPort! };
    const dbPath = manifest.database.engine === 'sqlite' ? manifest.database.source : undefined;
    assertNotProduction(layout, net, production, dbPath);
    await ctx.sandbox?.close();
    const sandbox = await openSandbox({
      dir: ctx.scratchDir,
      ports: [net.port, net.adminPort],
      databaseUrl: input.databaseUrl,
      launcherKind: launcher.kind,
    });
    ctx.sandbox = sandbox;
    const overrides = withoutNeedlessSwitches(scratchOverrides(layout, net, sandbox.databaseUrl), input);
    // The overrides go into the scratch config too (0600: it now names the scratch database).
    if (/\.toml$/i.test(layout.configPath))
      await writeFileReplacing(layout.configPath, scratchConfigText(restoredConfig, overrides), 0o600);
    const adopted: number[] = [];
    const spec: LaunchSpec = {
      layout,
      env: scratchProcessEnv(serviceEnv, overrides),
      wrap: sandbox.wrap,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onSpawn: (pid) => {
        adopted.push(pid);
        sandbox.adopt(pid);
      },
      containers: { adopt: sandbox.adoptContainer, release: sandbox.releaseContainer },
    };
    const sealing = {
      isolation: sandbox.isolation.detail,
      dropped_env: restoredEnvFor(serviceEnv, overrides).dropped,
    };
    const issuer = scratchIssuer(net);
    const baseUrl = `http://127.0.0.1:${net.port}`;
    ctx.net = net;
    ctx.issuer = issuer;
    ctx.baseUrl = baseUrl;

    if (attempt === 1) {
      const t = performance.now();
      phase.start('boot: sync-users');
      const sync = await launcher.syncUsers(spec, left());
      phase.end(
        'boot: sync-users',
        sync.aborted ? 'stopped' : sync.timedOut ? 'out of time' : sync.code === 0 ? 'done' : 'failed',
      );
      for (const pid of adopted.splice(0)) sandbox.release(pid);
      await rm(layout.usersFile, { force: true }); // it holds the drill user's plaintext password
      if (sync.aborted) throw interrupted('sync-users');
      if (!sync.timedOut && cannotRun(sync))
        throw launcherFailed(
          launcher.description,
          `could not run \`sync-users\`: it ${describeExit(sync)}`,
          sync.output,
        );
      if (sync.code !== 0 || sync.timedOut) {
        // sync-users loads the same config and runs the same migrations as the server, so its
        // failure is the restored deployment failing to start.
        const how = sync.timedOut
          ? `was still running when the boot's time ran out (${budget}; phase sync-users, ${seconds(performance.now() - t)})`
          : describeExit(sync);
        return fail(
          `${missingMigration(sync.output)}the restored deployment does not start${sync.timedOut ? ' in time' : ''}: \`barycenter sync-users\` (same config, database and migrations as the server) ${how}; last lines of its output:\n${sync.output || '(no output)'}`,
          { launcher: launcher.description, phase: 'sync-users', boot_timeout: ctx.config.drill.boot_timeout },
        );
      }
      ctx.logger.info({ ms: Math.round(performance.now() - t) }, 'drill user added with sync-users');
    }

    const t0 = performance.now();
    phase.start('boot: start');
    const instance = await launcher.start(spec);
    ctx.instance = instance;
    phase.end('boot: start', instance.pid ? `pid ${instance.pid}` : 'no pid');
    phase.start('boot: discovery');
    const ready = await waitForDiscovery(instance, baseUrl, {
      deadline,
      signal: ctx.signal,
      ranOut: () =>
        `the scratch instance did not answer discovery before the boot's time ran out (${budget}; phase discovery: sync-users and start took ${seconds(t0 - bootStart)}, the instance ran ${seconds(performance.now() - t0)}`,
    });
    phase.end('boot: discovery', ready.ok ? 'answered' : 'no answer');
    const startupMs = Math.round(performance.now() - t0);
    if (!ready.ok && ready.exit && cannotRun(ready.exit)) {
      await instance.stop();
      throw launcherFailed(
        launcher.description,
        `could not run the server: it ${describeExit(ready.exit)}`,
        instance.logTail(LOG_TAIL_LINES),
      );
    }
    const evidence: Record<string, unknown> = {
      launcher: launcher.description,
      port: net.port,
      admin_port: net.adminPort,
      issuer,
      startup_ms: startupMs,
      attempts: attempt,
      ...sealing,
    };
    if (ready.ok) {
      // What it really did, from /proc: loopback listeners only, no file open outside the scratch tree.
      const audit = instance.pid ? auditScratch(instance.pid, layout.dir) : { unavailable: 'no pid' };
      if ('unavailable' in audit) evidence.audit = `not checked: ${audit.unavailable}`;
      else {
        evidence.listeners = audit.listeners;
        evidence.open_outside = audit.outside;
        if (audit.problems.length) {
          return fail(`the scratch instance is not sealed off from production: ${audit.problems.join('; ')}`, evidence);
        }
      }
      ctx.discovery = ready.discovery;
      return pass(
        `${launcher.description} answered discovery on 127.0.0.1:${net.port} ${startupMs} ms after start (webfinger, federation and authz off; ${sandbox.isolation.kind === 'network-namespace' ? 'in its own network namespace' : 'no network namespace'})`,
        evidence,
      );
    }
    if (attempt === 1 && /Address already in use/i.test(instance.logTail(LOG_TAIL_LINES))) {
      await instance.stop();
      continue;
    }
    await instance.stop();
    const tail = instance.logTail(LOG_TAIL_LINES);
    return fail(`${missingMigration(tail)}${ready.reason}; last lines of its log:\n${tail || '(no output)'}`, evidence);
  }
}

/**
 * sea-orm-migration refuses a database holding a migration the binary does not have ("Migration
 * file of version … is missing"): the snapshot was written by a newer build than the one booted.
 */
function missingMigration(output: string): string {
  const m = /Migration file of version '([^']+)' is missing/.exec(output);
  return m
    ? `the drill's Barycenter does not know migration ${m[1]}, which the restored database holds (a newer build wrote it; boot the snapshot with the build production runs): `
    : '';
}

/**
 * The webfinger/federation/authz "off" overrides only where the restored settings turn the feature
 * on. Setting one that is already off is not neutral: on beta.5, BARYCENTER__FEDERATION__ENABLED
 * creates a federation table without trust_anchors, which that build's settings refuse ("missing
 * field `trust_anchors`"), so the scratch instance would fail where production starts. When the
 * restored settings cannot be read, every override stays.
 */
function withoutNeedlessSwitches(overrides: Record<string, string>, input: BootInput): Record<string, string> {
  let on: Record<string, boolean>;
  try {
    const s = restoredSettings(input.restored).settings;
    on = { WEBFINGER: s.webfinger.enabled, FEDERATION: s.federation.enabled, AUTHZ: s.authz.enabled };
  } catch {
    return overrides;
  }
  const out = { ...overrides };
  for (const [section, enabled] of Object.entries(on)) if (!enabled) delete out[`BARYCENTER__${section}__ENABLED`];
  return out;
}

type Ready = { ok: true; discovery: Record<string, unknown> } | { ok: false; reason: string; exit?: Exit };

async function waitForDiscovery(
  instance: RunningProcess,
  baseUrl: string,
  o: { deadline: number; signal: AbortSignal | undefined; ranOut: () => string },
): Promise<Ready> {
  let last = 'no answer yet';
  for (;;) {
    if (!instance.running()) {
      const exit = await instance.exited;
      return { ok: false, reason: `the scratch instance ${describeExit(exit)} before answering discovery`, exit };
    }
    if (o.signal?.aborted) {
      await instance.stop();
      throw interrupted('discovery');
    }
    try {
      const r = await request(`${baseUrl}/.well-known/openid-configuration`, {
        timeoutMs: Math.max(100, Math.min(2000, o.deadline - performance.now())),
      });
      const doc = parseJsonObject(r.text);
      if (r.status === 200 && doc) return { ok: true, discovery: doc };
      last = `discovery answered ${r.status}`;
    } catch (e) {
      last = fetchFailure(e);
    }
    if (performance.now() >= o.deadline) return { ok: false, reason: `${o.ranOut()}; last: ${last})` };
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The drill was interrupted (a signal) while booting: not a finding, the drill stops. */
function interrupted(phase: string): BarysafeError {
  return new BarysafeError('interrupted', `the drill was interrupted during boot (${phase})`, {
    exitCode: ExitCode.INTERRUPTED,
  });
}
