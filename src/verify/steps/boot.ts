import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { parseDuration } from '../../units.js';
import { describeExit, type RunningProcess } from '../../platform/child-process.js';
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
import type { LaunchSpec } from '../scratch/launcher.js';
import type { BootInput, DrillContext } from '../context.js';
import { restoredServiceEnv, restoredSettings } from '../restored-settings.js';
import { fetchFailure, parseJsonObject, request } from '../../platform/http.js';
import { fail, pass, type StepOutcome } from '../step-runner.js';

const SYNC_USERS_TIMEOUT_MS = 60_000;
const LOG_TAIL_LINES = 15;

/**
 * Step 4. Adds the drill user with `sync-users` (scratch database only), starts the scratch
 * instance on free loopback ports with the scratch overrides, and waits for a 200 on discovery.
 * The time from process start to that 200 is the instance's startup time. An instance that exits
 * or never answers is reported with the tail of its log.
 */
export async function bootStep(input: BootInput, ctx: DrillContext): Promise<StepOutcome> {
  if (!input.launcher) throw input.launcherError;
  const launcher = input.launcher;
  const { layout } = input.restored;
  const manifest = input.entry.manifest;
  const production = manifest.barycenter;
  const serviceEnv = restoredServiceEnv(input.restored);
  const timeoutMs = parseDuration(ctx.config.drill.boot_timeout);

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
      onSpawn: (pid) => {
        adopted.push(pid);
        sandbox.adopt(pid);
      },
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
      const sync = await launcher.syncUsers(spec, SYNC_USERS_TIMEOUT_MS);
      for (const pid of adopted.splice(0)) sandbox.release(pid);
      await rm(layout.usersFile, { force: true }); // it holds the drill user's plaintext password
      if (sync.code !== 0 || sync.timedOut) {
        // sync-users loads the same config and runs the same migrations as the server, so its
        // failure is the restored deployment failing to start.
        const how = sync.timedOut ? `did not finish within ${SYNC_USERS_TIMEOUT_MS / 1000}s` : describeExit(sync);
        return fail(
          `${missingMigration(sync.output)}the restored deployment does not start: \`barycenter sync-users\` (same config, database and migrations as the server) ${how}; last lines of its output:\n${sync.output || '(no output)'}`,
          { launcher: launcher.description },
        );
      }
      ctx.logger.info({ ms: Math.round(performance.now() - t) }, 'drill user added with sync-users');
    }

    const t0 = performance.now();
    const instance = await launcher.start(spec);
    ctx.instance = instance;
    const ready = await waitForDiscovery(instance, baseUrl, timeoutMs);
    const startupMs = Math.round(performance.now() - t0);
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

type Ready = { ok: true; discovery: Record<string, unknown> } | { ok: false; reason: string };

async function waitForDiscovery(instance: RunningProcess, baseUrl: string, timeoutMs: number): Promise<Ready> {
  const deadline = performance.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    if (!instance.running())
      return {
        ok: false,
        reason: `the scratch instance ${describeExit(await instance.exited)} before answering discovery`,
      };
    try {
      const r = await request(`${baseUrl}/.well-known/openid-configuration`, { timeoutMs: 2000 });
      const doc = parseJsonObject(r.text);
      if (r.status === 200 && doc) return { ok: true, discovery: doc };
      last = `discovery answered ${r.status}`;
    } catch (e) {
      last = fetchFailure(e);
    }
    if (performance.now() > deadline)
      return {
        ok: false,
        reason: `the scratch instance did not answer discovery within ${Math.round(timeoutMs / 1000)}s (drill.boot_timeout; last: ${last})`,
      };
    await new Promise((r) => setTimeout(r, 100));
  }
}
