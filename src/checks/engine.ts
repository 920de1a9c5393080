import { existsSync } from 'node:fs';
import { redactText } from '../redact.js';
import { errorText } from '../errors.js';
import { controlsFor } from './controls.js';
import { placementOf } from './evidence/placement.js';
import { pidFromFile } from './evidence/process.js';
import { pidListeningOn } from './evidence/sockets.js';
import type { BarysafeConfig } from '../config/schema.js';
import { BARYCENTER_UNIT_FILES } from '../config/systemd-unit.js';
import type { EffectiveBarycenter } from '../config/barycenter.js';
import type { CheckContext, CheckDefinition, CheckResult, DeploymentType, Waiver } from './types.js';

/**
 * Runs check definitions against one deployment. Checks run one after another: several share
 * evidence (the database, discovery, the TLS handshake) through ctx.memo, and sequential runs
 * keep the probes a host sees predictable and the evidence easy to follow.
 */
export interface EngineInput {
  config: BarysafeConfig;
  configPath: string;
  barycenter: EffectiveBarycenter;
  deployment: { type: DeploymentType; reason: string };
  now?: Date;
}

/** Runs the definitions one after another on a fresh context, then closes whatever the run's evidence opened. */
export async function runChecks(definitions: CheckDefinition[], input: EngineInput): Promise<CheckResult[]> {
  const ctx = createContext(input);
  const results: CheckResult[] = [];
  try {
    for (const def of definitions) results.push(await runOne(def, ctx));
  } finally {
    await ctx.close();
  }
  return results;
}

/** A context plus the cleanup of the sources its memo opened. */
export interface RunContext extends CheckContext {
  /** Runs every memo's close hook once, ignoring failures: a run's results never depend on cleanup. */
  close(): Promise<void>;
}

export function createContext(input: EngineInput): RunContext {
  const cache = new Map<string, Promise<unknown>>();
  const closers: Array<() => Promise<void>> = [];
  return {
    config: input.config,
    configPath: input.configPath,
    barycenter: input.barycenter,
    deployment: input.deployment.type,
    deploymentReason: input.deployment.reason,
    now: input.now ?? new Date(),
    memo<T>(key: string, load: () => Promise<T>, opts?: { close?: (value: T) => Promise<void> | void }): Promise<T> {
      let p = cache.get(key) as Promise<T> | undefined;
      if (!p) {
        const loading = load();
        p = loading;
        cache.set(key, p);
        const close = opts?.close;
        if (close) closers.push(async () => close(await loading));
      }
      return p;
    },
    async close() {
      const pending = closers.splice(0);
      await Promise.allSettled(pending.map((c) => c()));
    },
  };
}

export async function runOne(def: CheckDefinition, ctx: CheckContext): Promise<CheckResult> {
  const started = performance.now();
  let outcome;
  try {
    outcome = await def.run(ctx);
  } catch (e) {
    // A check that throws could not decide: that is `error`, never a silent pass.
    outcome = {
      status: 'error' as const,
      summary: `the check could not run: ${redactText(errorText(e))}`,
      evidence: [],
    };
  }
  const waiver = findWaiver(ctx.config.checks.waivers, def.id, ctx.now);
  const waived = waiver !== undefined && !waiver.expired && outcome.status !== 'pass';
  return {
    id: def.id,
    section: def.section,
    title: def.title,
    severity: def.severity,
    rationale: def.rationale,
    status: waived ? 'waived' : outcome.status,
    raw_status: outcome.status,
    summary: outcome.summary,
    evidence: outcome.evidence,
    remediation: outcome.remediation ?? def.remediation[ctx.deployment] ?? def.remediation.default ?? '',
    ...(waiver ? { waiver } : {}),
    controls: controlsFor(def.id),
    duration_ms: Math.round(performance.now() - started),
  };
}

/** A waiver applies through the end of its expiry day (UTC); after that the real status shows again. */
export function findWaiver(waivers: Waiver[], id: string, now: Date): (Waiver & { expired: boolean }) | undefined {
  const w = waivers.find((x) => x.id === id);
  if (!w) return undefined;
  const end = Date.parse(`${w.expires}T23:59:59.999Z`);
  return { ...w, expired: !(end >= now.getTime()) };
}

export interface DetectionProbe {
  /** barysafe's own environment: a hint about barysafe, not about Barycenter. */
  env: NodeJS.ProcessEnv;
  exists(path: string): boolean;
  platform: NodeJS.Platform;
  /** Barycenter's live process, found without knowing the deployment (pid file, else the listener on its port). */
  findProcess(): Promise<{ pid: number; foundBy: string } | undefined>;
  /** Where /proc is (a fake tree in tests). */
  procRoot: string;
}

/** checks.pid_file, else the process listening on Barycenter's port (either only when alive). */
async function findBarycenter(config: BarysafeConfig, port: number | undefined) {
  const file = config.checks.pid_file;
  if (file) {
    const pid = await pidFromFile(file).catch(() => undefined);
    return pid && existsSync(`/proc/${pid}`) ? { pid, foundBy: `pid file ${file}` } : undefined;
  }
  if (port === undefined) return undefined;
  const pid = await pidListeningOn(port).catch(() => undefined);
  return pid ? { pid, foundBy: `listening on port ${port}` } : undefined;
}

/**
 * --deployment, then checks.deployment, then the configured evidence, then Barycenter's own
 * process (its environment, cgroup, parent and root mount: see evidence/placement.ts), then
 * Barycenter's unit files on this host and the platform; plain otherwise. barysafe's own container
 * (/.dockerenv, KUBERNETES_SERVICE_HOST in barysafe's environment) decides nothing: it is named in
 * the reason as a hint about barysafe.
 */
export async function detectDeployment(
  config: BarysafeConfig,
  flag?: DeploymentType,
  opts: { port?: number; probe?: Partial<DetectionProbe> } = {},
): Promise<{ type: DeploymentType; reason: string }> {
  const probe: DetectionProbe = {
    env: process.env,
    exists: existsSync,
    platform: process.platform,
    findProcess: () => findBarycenter(config, opts.port),
    procRoot: '/proc',
    ...opts.probe,
  };
  const c = config.checks;
  if (flag) return { type: flag, reason: '--deployment flag' };
  if (c.deployment) return { type: c.deployment, reason: 'checks.deployment in barysafe.toml' };
  if (c.kubernetes_manifests.length) return { type: 'kubernetes', reason: 'checks.kubernetes_manifests is set' };
  if (c.docker_inspect) return { type: 'docker', reason: 'checks.docker_inspect is set' };
  if (c.compose_file) return { type: 'docker', reason: 'checks.compose_file is set' };
  if (c.systemd_unit) return { type: 'systemd', reason: 'checks.systemd_unit is set' };

  const hints: string[] = [];
  if (probe.exists('/.dockerenv')) hints.push('/.dockerenv exists');
  if (probe.env.KUBERNETES_SERVICE_HOST) hints.push('KUBERNETES_SERVICE_HOST is set');
  const hint = hints.length
    ? ` (hint only: barysafe itself runs in a container or pod — ${hints.join(', ')} — which says nothing about where Barycenter runs; set checks.deployment to say)`
    : '';

  const found = probe.platform === 'linux' ? await probe.findProcess() : undefined;
  if (found) {
    const where = await placementOf(found.pid, probe.procRoot);
    const about = `Barycenter's process (pid ${found.pid}, ${found.foundBy}): ${where.evidence.join('; ')}`;
    if (where.type) return { type: where.type, reason: about };
    const unit = BARYCENTER_UNIT_FILES.find((u) => probe.exists(u));
    return {
      type: 'plain',
      reason: `${about}; no service manager, container or cluster runs it${unit ? ` (${unit} exists but does not run this process)` : ''}${hint}`,
    };
  }
  const unit = BARYCENTER_UNIT_FILES.find((u) => probe.exists(u));
  if (unit) return { type: 'systemd', reason: `systemd unit ${unit} found (Barycenter's process was not found)` };
  if (probe.platform === 'freebsd') return { type: 'freebsd', reason: 'host is FreeBSD' };
  if (probe.platform === 'sunos') return { type: 'illumos', reason: 'host is illumos/SunOS' };
  return {
    type: 'plain',
    reason: `no service manager, container or cluster detected (Barycenter's process was not found)${hint}`,
  };
}
