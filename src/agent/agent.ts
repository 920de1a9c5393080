import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import { BarysafeError, ExitCode, errorText, isBarysafeError } from '../errors.js';
import type { BarysafeConfig } from '../config/schema.js';
import { parseDuration } from '../units.js';
import { redactText } from '../redact.js';
import type { Storage } from '../repository/storage.js';
import { sleepUntil, systemClock, type Clock } from './clock.js';
import type { Healthchecks } from './heartbeat.js';
import type { JobFacts, JobOutcome, JobSpec } from './jobs.js';
import { renderMetrics, writeTextfile } from './metrics.js';
import { makeEvent, type EventKind, type Notifier } from './notify.js';
import { jitterMs, schedulesOf, type JobName, type JobSchedule } from './schedule.js';
import { StateStore, type JobState, type RunRecord } from './state.js';
import { buildView, type AgentView } from './view.js';

/**
 * The scheduler. One loop per scheduled job (so a job never overlaps itself), one FIFO writer slot
 * shared by the jobs that write the repository (so they never run at the same time as each other),
 * and the state files as memory: a slot is handled once (DST neither skips nor doubles a run, see
 * schedule.ts), a slot that passed unserved while the agent was down runs at start, and
 * everything people see (logs, metrics, pings, notifications, the status page) follows from the
 * outcome of each run.
 */
export interface AgentOptions {
  config: BarysafeConfig;
  configPath: string;
  logger: Logger;
  storage: Storage;
  jobs: Map<JobName, JobSpec>;
  clock?: Clock;
  random?: () => number;
  notifier?: Notifier;
  heartbeat?: Healthchecks;
  /** How often the textfile is rewritten and staleness looked at (default a minute). */
  housekeepingMs?: number;
}

const STALE_CHECK_MS = 5 * 60_000;
const TEXTFILE_REFRESH_MS = 60_000;
/** After stop_timeout the running job is aborted; if it still has not ended after this, the agent exits anyway. */
const ABORT_GRACE_MS = 10_000;

export class Agent {
  readonly schedules: JobSchedule[];
  readonly state: StateStore;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly log: Logger;
  private stopping = false;
  private readonly stopCtl = new AbortController();
  private readonly jobAbort = new AbortController();
  private readonly running = new Set<JobName>();
  private readonly nextRun = new Map<JobName, Date>();
  private readonly handledSlot = new Map<JobName, number>();
  private writerTail: Promise<void> = Promise.resolve();
  private stopDeadline?: Promise<void>;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: AgentOptions) {
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.log = opts.logger;
    this.schedules = schedulesOf(opts.config, this.clock.now());
    this.state = new StateStore(opts.config.state.dir, opts.logger);
    for (const s of this.schedules) this.specOf(s.job);
  }

  /** The job's spec, or a usage error naming what this build can run. */
  specOf(job: string): JobSpec {
    const spec = this.opts.jobs.get(job as JobName);
    if (!spec)
      throw new BarysafeError('usage', `the agent cannot run the job "${job}" in this build`, {
        exitCode: ExitCode.USAGE,
        hint: `jobs available: ${[...this.opts.jobs.keys()].join(', ')}`,
      });
    return spec;
  }

  async init(): Promise<void> {
    await this.state.init();
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  // ---- entry points ----------------------------------------------------------------------

  /** `agent --run-now JOB`: one run now, whatever the schedule says; its exit code (a lock held elsewhere is 11). */
  async runNow(job: string): Promise<number> {
    const spec = this.specOf(job);
    const r = await this.execute(spec.name, null, 'run-now');
    await this.afterRuns();
    return r.exitCode;
  }

  /** `agent --once`: every job that is due now (in table order), then exit with the first failure's code. */
  async runOnce(): Promise<number> {
    let code = 0;
    for (const s of this.schedules) {
      if (this.stopping) break;
      const slot = await this.dueSlot(s);
      if (!slot) {
        this.log.info({ job: s.job }, `job ${s.job} is not due`);
        continue;
      }
      const r = await this.execute(s.job, slot, 'due');
      if (r.exitCode !== 0 && code === 0) code = r.exitCode;
    }
    await this.checkStaleness();
    await this.afterRuns();
    return code;
  }

  /** The daemon: runs until stop(); resolves once running jobs ended (or were given up on). */
  async run(): Promise<void> {
    if (this.schedules.length === 0)
      throw new BarysafeError('usage', 'nothing is scheduled: the [schedule] section names no job', {
        exitCode: ExitCode.USAGE,
        hint: 'add e.g. backup = "0 2 * * *" under [schedule], or use --run-now JOB',
      });
    this.log.info(
      {
        jobs: this.schedules.map((s) => `${s.job}=${s.expression}`).join(' '),
        timezone: this.opts.config.schedule.timezone,
      },
      'agent started',
    );
    const loops = this.schedules.map((s) => this.jobLoop(s));
    const housekeeping = this.housekeeping();
    const all = Promise.all([...loops, housekeeping]).then(() => undefined);
    await Promise.race([all, this.stopped().then(() => Promise.race([all, this.stopDeadline!]))]);
    await this.afterRuns().catch(() => {});
    this.log.info('agent stopped');
  }

  /**
   * Graceful stop (first SIGTERM): no job starts any more; a running job may finish within
   * [agent] stop_timeout, then it is aborted (a backup removes what it uploaded; no manifest, so no
   * snapshot is listed).
   */
  stop(reason = 'stop requested'): void {
    if (this.stopping) return;
    this.stopping = true;
    const timeout = parseDuration(this.opts.config.agent.stop_timeout);
    this.log.info(
      { running: [...this.running].join(',') || 'none', stop_timeout_s: timeout / 1000 },
      `${reason}: starting no new job`,
    );
    this.stopCtl.abort();
    let timer: NodeJS.Timeout | undefined;
    this.stopDeadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        if (this.running.size) {
          this.log.warn({ running: [...this.running].join(',') }, 'stop_timeout passed: aborting the running job');
          this.jobAbort.abort();
          setTimeout(resolve, ABORT_GRACE_MS).unref();
        } else resolve();
      }, timeout);
      timer.unref();
    });
  }

  private stoppedPromise?: Promise<void>;
  private stopped(): Promise<void> {
    return (this.stoppedPromise ??= new Promise((resolve) => {
      if (this.stopCtl.signal.aborted) resolve();
      else this.stopCtl.signal.addEventListener('abort', () => resolve(), { once: true });
    }));
  }

  // ---- scheduling ------------------------------------------------------------------------

  private async jobLoop(s: JobSchedule): Promise<void> {
    if (this.opts.config.schedule.run_missed) {
      const slot = await this.dueSlot(s);
      if (slot && !this.stopping) {
        this.log.info(
          { job: s.job, slot: slot.toISOString() },
          `job ${s.job} missed its slot while the agent was not running: running it now`,
        );
        await this.execute(s.job, slot, 'missed');
      }
    }
    const jitter = jitterMs(this.opts.config);
    while (!this.stopping) {
      const after = Math.max(this.clock.now().getTime(), this.handledSlot.get(s.job) ?? 0);
      const slot = s.next(new Date(after));
      if (!slot) return;
      const fireAt = new Date(slot.getTime() + Math.floor(this.random() * jitter));
      this.nextRun.set(s.job, fireAt);
      await sleepUntil(this.clock, fireAt, this.stopCtl.signal);
      if (this.stopping) return;
      await this.execute(s.job, slot, 'scheduled');
    }
  }

  /**
   * The newest slot at or before now that no success (or covering skip) has served yet, or
   * undefined when the job is not due. A job that never ran is due; one whose last success is
   * older than its period always is (a slot passed since).
   */
  async dueSlot(s: JobSchedule): Promise<Date | undefined> {
    const now = this.clock.now();
    const slot = s.previous(now);
    const st = await this.state.read(s.job);
    const served = servedUntil(st);
    if (served === undefined) return slot ?? now;
    if (now.getTime() - served > s.intervalMs) return slot ?? now;
    if (slot && slot.getTime() > served) return slot;
    return undefined;
  }

  private async housekeeping(): Promise<void> {
    let lastStale = 0;
    while (!this.stopping) {
      const now = this.clock.now().getTime();
      if (now - lastStale >= Math.max(STALE_CHECK_MS, this.opts.housekeepingMs ?? 0)) {
        lastStale = now;
        await this.checkStaleness().catch((e) => this.log.warn(`staleness check failed: ${errorText(e)}`));
      }
      await this.writeTextfile();
      await this.clock.sleep(this.opts.housekeepingMs ?? TEXTFILE_REFRESH_MS, this.stopCtl.signal);
    }
  }

  // ---- one run ---------------------------------------------------------------------------

  /** Waits for the writer slot when the job writes the repository; undefined when stop came first. */
  private async writerSlot(): Promise<(() => void) | undefined> {
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const before = this.writerTail;
    this.writerTail = before.then(() => mine);
    await Promise.race([before, this.stopped()]);
    if (this.stopping) {
      // Keep the chain intact for whoever waits behind us.
      void before.then(release);
      return undefined;
    }
    return release;
  }

  async execute(job: JobName, slot: Date | null, reason: string): Promise<{ exitCode: number; skipped: boolean }> {
    const spec = this.specOf(job);
    if (slot) this.handledSlot.set(job, Math.max(this.handledSlot.get(job) ?? 0, slot.getTime()));
    const release = spec.writer ? await this.writerSlot() : () => {};
    if (!release || (this.stopping && reason !== 'run-now')) {
      release?.();
      return { exitCode: 0, skipped: true };
    }
    this.running.add(job);
    const runId = randomUUID();
    const t0 = this.clock.now();
    const p0 = performance.now();
    const log = this.log.child({ job, run_id: runId });
    try {
      const previous = await this.state.read(job);
      log.info({ slot: slot?.toISOString() ?? null, reason }, `job ${job} started`);
      const hb = this.opts.heartbeat;
      let started: Promise<void> | undefined;
      const began = () => {
        if (!started && hb) started = hb.start(job, runId);
      };
      if (!spec.reportsBegin) began();
      let outcome: JobOutcome;
      try {
        outcome = await spec.run({
          config: this.opts.config,
          configPath: this.opts.configPath,
          logger: log,
          storage: this.opts.storage,
          signal: this.jobAbort.signal,
          slot,
          previous,
          began,
        });
      } catch (e) {
        outcome = failureOutcome(e);
      }
      const t1 = this.clock.now();
      const durationS = Math.round(performance.now() - p0) / 1000;
      // Re-read: an --run-now in another process may have written meanwhile.
      const st = await this.state.read(job);
      mergeFacts(st, outcome.facts);
      if (slot && (!st.last_slot || st.last_slot < slot.toISOString())) st.last_slot = slot.toISOString();

      if (outcome.kind === 'skipped') {
        st.last_skip = {
          at: t1.toISOString(),
          slot: slot?.toISOString() ?? null,
          reason: redactText(outcome.reason),
          ...(outcome.coveredAt ? { covered_at: outcome.coveredAt } : {}),
        };
        await this.save(st);
        log.info(
          { verdict: 'skipped', duration_s: durationS, exit_code: 0, reason: outcome.reason },
          `job ${job} skipped: ${outcome.reason}`,
        );
        if (started) {
          await started;
          await hb!.finish(job, runId, 0, `${job} skipped: ${outcome.reason}`);
        }
        return { exitCode: 0, skipped: true };
      }

      const interrupted = outcome.exitCode === ExitCode.INTERRUPTED && this.jobAbort.signal.aborted;
      const record: RunRecord = {
        run_id: runId,
        slot: slot?.toISOString() ?? null,
        started_at: t0.toISOString(),
        finished_at: t1.toISOString(),
        duration_seconds: durationS,
        exit_code: outcome.exitCode,
        success: outcome.exitCode === 0,
        summary: redactText(outcome.summary),
        ...(outcome.snapshotId ? { snapshot_id: outcome.snapshotId } : {}),
        ...(outcome.bytes !== undefined ? { bytes: outcome.bytes } : {}),
      };
      st.last_run = record;
      if (record.success) st.last_success = record;
      // Being stopped is not news: the next start runs the slot again (it is still unserved).
      const event: EventKind | undefined = interrupted
        ? undefined
        : record.success
          ? st.alert
            ? 'recovery'
            : undefined
          : st.alert !== 'failure'
            ? 'failure'
            : undefined;
      if (event) st.alert = event === 'recovery' ? undefined : 'failure';
      await this.save(st);
      log.info(
        {
          verdict: record.success ? 'success' : interrupted ? 'interrupted' : 'failure',
          duration_s: durationS,
          exit_code: record.exit_code,
          ...(record.bytes !== undefined ? { bytes: record.bytes } : {}),
          ...(record.snapshot_id ? { snapshot: record.snapshot_id } : {}),
        },
        `job ${job} ${record.success ? 'succeeded' : interrupted ? 'was stopped' : 'failed'}: ${record.summary}`,
      );
      if (hb?.pings(job)) {
        began(); // a job that failed before it "began" (e.g. the backup could not reach the lock) still pairs a start
        await started;
        await hb.finish(
          job,
          runId,
          record.exit_code,
          `${job} ${record.success ? 'succeeded' : 'failed'} (exit ${record.exit_code}) in ${durationS} s\n${record.summary}\n`,
        );
      }
      if (event && this.opts.notifier)
        await this.opts.notifier.send(
          makeEvent({
            kind: event,
            job,
            at: t1.toISOString(),
            summary: record.summary,
            exit_code: record.exit_code,
            run_id: runId,
            last_success_at: st.last_success?.finished_at ?? null,
            ...this.intervalOf(job),
          }),
        );
      return { exitCode: record.exit_code, skipped: false };
    } finally {
      this.running.delete(job);
      release();
      if (!this.stopping) await this.writeTextfile();
    }
  }

  private intervalOf(job: JobName): { expected_interval_seconds?: number } {
    const s = this.schedules.find((x) => x.job === job);
    return s ? { expected_interval_seconds: s.intervalMs / 1000 } : {};
  }

  /** One "stale" notice per job whose last success is older than stale_factor expected intervals. */
  async checkStaleness(): Promise<void> {
    const now = this.clock.now();
    for (const s of this.schedules) {
      const st = await this.state.read(s.job);
      const fresh = freshAt(st);
      if (fresh === undefined || st.alert) continue;
      const age = now.getTime() - fresh;
      if (age <= this.opts.config.notify.stale_factor * s.intervalMs) continue;
      st.alert = 'stale';
      await this.save(st);
      const summary = `the last success of ${s.job} was ${Math.round(age / 1000)} s ago; it is expected every ${Math.round(s.intervalMs / 1000)} s`;
      this.log.warn({ job: s.job }, `job ${s.job} is stale: ${summary}`);
      await this.opts.notifier?.send(
        makeEvent({
          kind: 'stale',
          job: s.job,
          at: now.toISOString(),
          summary,
          last_success_at: st.last_success?.finished_at ?? null,
          expected_interval_seconds: s.intervalMs / 1000,
        }),
      );
    }
  }

  private save(st: JobState): Promise<void> {
    const w = this.writes.then(() => this.state.write(st));
    this.writes = w.catch(() => {});
    return w;
  }

  // ---- what people see -------------------------------------------------------------------

  async view(): Promise<AgentView> {
    const names = [...new Set([...this.schedules.map((s) => s.job), ...this.opts.jobs.keys()])];
    const states = await this.state.readAll(names);
    const jobs = names
      .filter((j) => this.schedules.some((s) => s.job === j) || states.get(j)?.last_run || states.get(j)?.last_skip)
      .map((job) => {
        const schedule = this.schedules.find((s) => s.job === job);
        const next = this.nextRun.get(job);
        return {
          job,
          ...(schedule ? { schedule } : {}),
          state: states.get(job)!,
          ...(next && !this.stopping ? { nextRun: next } : {}),
          running: this.running.has(job),
        };
      });
    return buildView(this.opts.config, jobs, this.clock.now());
  }

  healthy(): boolean {
    return !this.stopping;
  }

  private async afterRuns(): Promise<void> {
    await this.writes;
    await this.writeTextfile();
  }

  async writeTextfile(): Promise<void> {
    const dir = this.opts.config.agent.textfile_dir;
    if (!dir) return;
    try {
      await writeTextfile(dir, await renderMetrics(await this.view()));
    } catch (e) {
      this.log.warn(`could not write the metrics textfile in ${dir}: ${errorText(e)}`);
    }
  }
}

/** Until when the job's purpose is known to be met: its last success, or a skip that found it done elsewhere. */
function freshAt(st: JobState): number | undefined {
  const t = [st.last_success?.finished_at, st.last_skip?.covered_at].filter((x): x is string => !!x).map(Date.parse);
  return t.length ? Math.max(...t) : undefined;
}

/** The newest slot (or, for a run-now, start time) a success or a covering skip served. */
function servedUntil(st: JobState): number | undefined {
  const t: number[] = [];
  if (st.last_success) t.push(Date.parse(st.last_success.slot ?? st.last_success.started_at));
  if (st.last_skip?.covered_at && st.last_skip.slot) t.push(Date.parse(st.last_skip.slot));
  return t.length ? Math.max(...t) : undefined;
}

function mergeFacts(st: JobState, facts: JobFacts | undefined): void {
  if (!facts) return;
  if (facts.backup) st.backup = facts.backup;
  if (facts.drill) st.drill = facts.drill;
  if (facts.check) st.check = facts.check;
  if (facts.verify) st.verify = facts.verify;
}

function failureOutcome(e: unknown): JobOutcome {
  if (isBarysafeError(e))
    return { kind: 'done', exitCode: e.exitCode, summary: `${e.message}${e.hint ? ` (hint: ${e.hint})` : ''}` };
  return { kind: 'done', exitCode: ExitCode.INTERNAL, summary: `unexpected error: ${errorText(e)}` };
}
