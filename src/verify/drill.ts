import type { Logger } from '../log.js';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import { verifyKeyFile, type BarysafeConfig } from '../config/schema.js';
import { parseDuration } from '../units.js';
import { loadVerifier } from '../crypto/signing.js';
import { makePrivateTempDir } from '../platform/private-temp.js';
import { newSnapshotId } from '../repository/manifest.js';
import { Repository } from '../repository/repository.js';
import type { Storage } from '../repository/storage.js';
import { selectLauncher } from './scratch/select-launcher.js';
import type { DrillContext } from './context.js';
import { buildDrillRecord, storeDrillRecord } from './record.js';
import { recordDrill } from './evidence.js';
import { notRun, runStep, worst, type RanStep } from './step-runner.js';
import { teardownStep } from './steps/teardown.js';
import { DRILL_STEPS } from './steps/index.js';
import { drillExitCode } from './exit-code.js';
import { phaseTimer } from './phase-timer.js';
import type { DrillPhaseEvent, DrillResult, StepName } from './types.js';
import { compareIdentities } from '../barycenter/identity.js';
import type { BuildComparison } from '../repository/drill-record.js';

export type { DrillResult, StepResult, Verdict } from './types.js';
export { drillExitCode } from './exit-code.js';

export interface DrillOptions {
  /** "latest" or a snapshot id (prefix). */
  ref: string;
  identityFile?: string;
  /** Drill even when the repository no longer reaches this host's anchor (rolled back). */
  allowRollback?: boolean;
  logger: Logger;
  storage: Storage;
  now?: () => Date;
  /** Progress: each phase's start and end (the CLI prints them on stderr). */
  onPhase?: (e: DrillPhaseEvent) => void;
  /**
   * Aborted to interrupt the drill (a signal): the running step is stopped where it waits (sync-users,
   * discovery), no later step runs, teardown runs as always, and runDrill throws an `interrupted`
   * error saying what was stopped and what was cleaned; no drill record is stored.
   */
  signal?: AbortSignal;
}

/** How long a step that does not watch the signal may go on after an interrupt before teardown starts. */
const INTERRUPT_GRACE_MS = 5000;

/**
 * `restore --verify`: restores a snapshot into a scratch directory and scratch database, boots a
 * scratch Barycenter from them, proves it works step by step, tears everything down, and stores a
 * signed drill record. Never throws for what it finds: every finding is a step verdict.
 */
export async function runDrill(config: BarysafeConfig, opts: DrillOptions): Promise<DrillResult> {
  const now = opts.now ?? (() => new Date());
  const log = opts.logger;
  const verifyKey = verifyKeyFile(config);
  const repo = new Repository(opts.storage, verifyKey ? await loadVerifier(verifyKey) : undefined);
  const scratch = await makePrivateTempDir(config.backup.temp_dir);
  const ctx: DrillContext = {
    config,
    logger: log,
    repo,
    ref: opts.ref,
    scratchDir: scratch.dir,
    ...(opts.identityFile ? { identityFile: opts.identityFile } : {}),
    ...(opts.allowRollback ? { allowRollback: true } : {}),
    ...(opts.onPhase ? { onPhase: opts.onPhase } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  const phase = opts.onPhase ?? (() => {});
  // Chosen up front so a missing launcher is known before a large database is restored; prepared
  // (an image pulled, the binary hashed) before the clock starts: fetching Barycenter is not restoring.
  // The preflight runs the launcher with no restored data at all: what fails here is the launcher's.
  const phases = phaseTimer(opts.onPhase);
  phases.start('launcher');
  try {
    const launcher = await selectLauncher(config.drill);
    ctx.drillBuild = await launcher.prepare({
      cwd: scratch.dir,
      timeoutMs: parseDuration(config.drill.boot_timeout),
    });
    ctx.launcher = launcher;
  } catch (e) {
    ctx.launcherError = e;
  }
  phases.end('launcher', ctx.launcher ? 'ready' : 'failed');
  const started = now();
  const t0 = performance.now();

  const steps: RanStep[] = [];
  let stoppedIn: StepName | undefined;
  try {
    for (const def of DRILL_STEPS) {
      if (opts.signal?.aborted) break;
      const prepared = def.prepare(ctx);
      if ('notRun' in prepared) {
        steps.push(notRun(def.name, prepared.notRun));
        continue;
      }
      log.info({ step: def.name }, `drill step ${def.name}`);
      phase({ phase: def.name, state: 'start' });
      const r = await untilInterrupted(runStep(def.name, prepared.run), opts.signal);
      if (opts.signal?.aborted) {
        stoppedIn = def.name;
        break;
      }
      steps.push(r!);
      phase({ phase: def.name, state: 'end', outcome: r!.verdict, ms: r!.duration_ms });
      log.info({ step: def.name, verdict: r!.verdict, ms: r!.duration_ms }, `drill step ${def.name}: ${r!.verdict}`);
    }
  } finally {
    phase({ phase: 'teardown', state: 'start' });
    const r = await runStep('teardown', () => teardownStep(ctx, scratch.cleanup));
    steps.push(r);
    phase({ phase: 'teardown', state: 'end', outcome: r.verdict, ms: r.duration_ms });
    log.info({ step: 'teardown', verdict: r.verdict }, `drill step teardown: ${r.verdict}`);
  }
  if (opts.signal?.aborted) {
    const teardown = steps[steps.length - 1]!;
    const what = `the drill of ${ctx.snapshotId ? `snapshot ${ctx.snapshotId}` : opts.ref} stopped ${stoppedIn ? `during its ${stoppedIn} step` : 'between steps'}`;
    const cleaned =
      teardown.verdict === 'pass' ? `cleaned up: ${teardown.detail}` : `teardown did not finish: ${teardown.detail}`;
    throw new BarysafeError('interrupted', `${what}; ${cleaned}; no drill record was stored`, {
      exitCode: ExitCode.INTERRUPTED,
    });
  }

  noteBuildDifference(ctx, steps);
  const result = measure(config, ctx, steps, started, t0, now());
  try {
    result.record_key = await storeDrillRecord(repo, config.encryption.signing_key_file, buildDrillRecord(result));
  } catch (e) {
    result.record_error = errorText(e);
    log.error(`the drill record was not stored: ${result.record_error}`);
    if (result.verdict === 'pass') result.verdict = 'error';
  }
  result.exit_code = drillExitCode(result.verdict, steps);
  if (result.record_key) {
    // The chain record cites the drill record; a drill missing from the chain promised evidence it
    // did not leave, like a record that could not be stored.
    try {
      const ev = await recordDrill(opts.storage, config, result, result.record_key);
      result.evidence = { key: ev.key, sequence: ev.sequence };
    } catch (e) {
      result.record_error = `the drill record is stored, but not in the evidence chain: ${errorText(e)}`;
      log.error(result.record_error);
      if (result.verdict === 'pass') result.verdict = 'error';
      result.exit_code = drillExitCode(result.verdict, steps);
    }
  }
  return result;
}

/**
 * The step's result, or undefined once the drill was interrupted and the step did not end within
 * INTERRUPT_GRACE_MS of it (teardown then stops what it started; exit hooks catch the rest).
 */
async function untilInterrupted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (!signal) return work;
  let onAbort: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const interrupted = new Promise<undefined>((resolve) => {
    onAbort = () => {
      timer = setTimeout(() => resolve(undefined), INTERRUPT_GRACE_MS);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, interrupted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
    if (timer) clearTimeout(timer);
  }
}

/** RTO: drill start until the scratch instance was proven to issue valid tokens. RPO: drill start minus snapshot time. */
function measure(
  config: BarysafeConfig,
  ctx: DrillContext,
  steps: RanStep[],
  started: Date,
  t0: number,
  finished: Date,
): DrillResult {
  const passed = (n: StepName) => steps.find((s) => s.name === n)?.verdict === 'pass';
  const rto =
    ctx.verifiedAt !== undefined && passed('discovery') && passed('jwks') ? Math.round(ctx.verifiedAt - t0) : null;
  const created = ctx.entry ? Date.parse(ctx.entry.manifest.created_at) : NaN;
  const rpo = Number.isFinite(created) ? Math.max(0, started.getTime() - created) : null;
  const rtoTarget = config.drill.rto_target ? parseDuration(config.drill.rto_target) : undefined;
  const rpoTarget = config.drill.rpo_target ? parseDuration(config.drill.rpo_target) : undefined;
  let verdict = worst(steps.map((s) => s.verdict));
  const rtoMet = rtoTarget !== undefined ? rto !== null && rto <= rtoTarget : undefined;
  const rpoMet = rpoTarget !== undefined ? rpo !== null && rpo <= rpoTarget : undefined;
  // A drill that works but misses an objective the operator set has not met its purpose.
  if (verdict === 'pass' && (rtoMet === false || rpoMet === false)) verdict = 'fail';
  return {
    format: 'barysafe.drill-result/v1',
    verdict,
    exit_code: 0,
    drill_id: newSnapshotId(started),
    snapshot_id: ctx.snapshotId ?? null,
    snapshot_sha256: ctx.entry?.sha256 ?? ctx.snapshotSha256 ?? null,
    started_at: started.toISOString(),
    finished_at: finished.toISOString(),
    steps: steps.map(({ exitCode: _internal, ...s }) => s),
    rto_ms: rto,
    rpo_ms: rpo,
    ...(rtoTarget !== undefined ? { rto_target_ms: rtoTarget, rto_met: rtoMet } : {}),
    ...(rpoTarget !== undefined ? { rpo_target_ms: rpoTarget, rpo_met: rpoMet } : {}),
    launcher: ctx.launcher?.description ?? null,
    barycenter_build: buildComparison(ctx),
    record_key: null,
  };
}

function buildComparison(ctx: DrillContext): BuildComparison {
  const prod = ctx.entry?.manifest.barycenter.build;
  const production = prod?.identity ?? null;
  const drill = ctx.drillBuild?.identity ?? null;
  const { comparison, detail } = compareIdentities(production, drill);
  return {
    production,
    ...(prod?.reason
      ? { production_reason: prod.reason }
      : !prod
        ? { production_reason: 'the manifest records no build' }
        : {}),
    drill,
    ...(ctx.drillBuild?.reason ? { drill_reason: ctx.drillBuild.reason } : {}),
    comparison,
    detail,
  };
}

/**
 * A drill proves the snapshot works with the build it booted. When that is not production's
 * build, the boot step says so (a warning: the drill still shows the backup restores).
 */
function noteBuildDifference(ctx: DrillContext, steps: RanStep[]): void {
  const boot = steps.find((s) => s.name === 'boot');
  if (!boot || boot.verdict === 'inconclusive') return;
  const c = buildComparison(ctx);
  const warning =
    c.comparison === 'different'
      ? `the drill booted a different Barycenter build than production runs: ${c.detail}`
      : c.comparison === 'not comparable' && c.production
        ? `cannot tell whether the drill booted production's build: ${c.detail}`
        : undefined;
  if (warning) boot.warnings = [...(boot.warnings ?? []), warning];
}
