import type { BarysafeConfig } from '../config/schema.js';
import type { EffectiveBarycenter } from '../config/barycenter.js';

/**
 * The check contract. A check reads real evidence (files, /proc, sockets, HTTP, TLS, the
 * database, the repository) and returns a status with that evidence. A check whose source is
 * unavailable returns `error` or `skip` with the reason — never `pass`.
 */
export type CheckStatus = 'pass' | 'fail' | 'warn' | 'manual' | 'skip' | 'error' | 'waived';
export type DeploymentType = 'systemd' | 'docker' | 'kubernetes' | 'freebsd' | 'illumos' | 'plain';
export type Severity = 'critical' | 'high' | 'medium' | 'low';

export interface Evidence {
  /** What was read or probed: "file:/etc/barycenter/config.toml (mode)", "proc:1234/status", "GET https://…/.well-known/openid-configuration". */
  source: string;
  /** The value found (never a secret: redact before putting it here). */
  observed?: unknown;
  /** The value expected. */
  expected?: unknown;
  note?: string;
}

export interface CheckOutcome {
  status: Exclude<CheckStatus, 'waived'>;
  /** One line saying what was found. */
  summary: string;
  evidence: Evidence[];
  /** Remediation fitted to this deployment; falls back to the definition's. */
  remediation?: string;
}

export interface CheckDefinition {
  id: string;
  section: string;
  title: string;
  /** Why the checklist asks for it. */
  rationale: string;
  severity: Severity;
  /** Remediation per deployment type ('default' for the rest). */
  remediation: Partial<Record<DeploymentType | 'default', string>>;
  run(ctx: CheckContext): Promise<CheckOutcome>;
}

export interface Waiver {
  id: string;
  reason: string;
  expires: string;
}

export interface CheckResult {
  id: string;
  section: string;
  title: string;
  severity: Severity;
  rationale: string;
  status: CheckStatus;
  /** The status the check itself returned (differs from status when waived). */
  raw_status: CheckOutcome['status'];
  summary: string;
  evidence: Evidence[];
  remediation: string;
  waiver?: Waiver & { expired: boolean };
  /** Framework controls the check produces evidence for (soc2, iso27001, nist-800-53, pci-dss). */
  controls?: Partial<Record<'soc2' | 'iso27001' | 'nist-800-53' | 'pci-dss', string[]>>;
  duration_ms: number;
}

/**
 * What every evidence reader returns: the value and where it was read, or why it could not be read
 * (with the source that was tried, when there was one). A check turns a failed lookup into `error`,
 * `skip` or a Findings.missing, never into a pass.
 */
export type Lookup<T> = { ok: true; value: T; source: string } | { ok: false; reason: string; source?: string };

export interface CheckContext {
  config: BarysafeConfig;
  configPath: string;
  barycenter: EffectiveBarycenter;
  deployment: DeploymentType;
  /** How the deployment type was decided ("checks.deployment", "systemd unit found", …). */
  deploymentReason: string;
  now: Date;
  /**
   * Memoizes one evidence source per run: `ctx.memo('process', () => findProcess(ctx))`. Each
   * evidence module owns its own keys, so sources are read once however many checks use them.
   * `close` releases what the source holds open (a database connection); the engine calls it
   * when the run ends, without knowing what the source was.
   */
  memo<T>(key: string, load: () => Promise<T>, opts?: { close?: (value: T) => Promise<void> | void }): Promise<T>;
}
