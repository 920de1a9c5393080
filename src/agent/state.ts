import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import type { JobName } from './schedule.js';

/**
 * What the agent remembers between runs, one small JSON file per job under <state dir>/agent/, so
 * a restarted agent (or `--once` from a timer) knows what succeeded when, and what it has already
 * told people. Metrics, the status page and notifications are all computed from these files, so
 * an `agent --run-now` beside a running agent is seen by it at the next read.
 */
export const STATE_FORMAT = 'barysafe.agent-job-state/v1';

export interface RunRecord {
  run_id: string;
  slot: string | null;
  started_at: string;
  finished_at: string;
  duration_seconds: number;
  exit_code: number;
  success: boolean;
  /** Redacted one-line account of the run. */
  summary: string;
  snapshot_id?: string;
  bytes?: number;
}

export interface SkipRecord {
  at: string;
  slot: string | null;
  reason: string;
  /** The job's purpose was met by someone else (e.g. another agent's snapshot for the slot), at this time. */
  covered_at?: string;
}

export interface BackupFacts {
  /** The newest snapshot known (made by this agent or, seen at a skip, by another). */
  snapshot_id: string;
  created_at: string;
  bytes: number;
  key_thumbprint: string;
  key_kid: string | null;
  /** The first snapshot that holds this key: the key is at least this old. */
  key_first_seen_at: string;
}

export interface DrillFacts {
  verdict: string;
  snapshot_id: string | null;
  finished_at: string;
  rto_seconds: number | null;
  rpo_seconds: number | null;
  rto_target_seconds?: number;
  rpo_target_seconds?: number;
  rto_met?: boolean;
  rpo_met?: boolean;
}

export interface CheckFacts {
  finished_at: string;
  counts: Record<string, number>;
}

export interface VerifyFacts {
  finished_at: string;
  coverage_ratio: number | null;
}

export interface JobState {
  format: typeof STATE_FORMAT;
  job: JobName;
  /** The newest slot handled (run, failed or skipped): a slot is never run twice. */
  last_slot?: string;
  last_run?: RunRecord;
  /** Only ever replaced by a successful run. */
  last_success?: RunRecord;
  last_skip?: SkipRecord;
  /** The last notification sent and not yet followed by a recovery. */
  alert?: 'failure' | 'stale';
  backup?: BackupFacts;
  drill?: DrillFacts;
  check?: CheckFacts;
  verify?: VerifyFacts;
}

export class StateStore {
  readonly dir: string;
  constructor(
    stateDir: string,
    private readonly logger: Logger,
  ) {
    this.dir = path.join(stateDir, 'agent');
  }

  file(job: JobName): string {
    return path.join(this.dir, `${job}.json`);
  }

  /** Creates the directory (0700) and proves it writable, so a bad state dir fails at start, not after a backup. */
  async init(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const probe = path.join(this.dir, `.probe-${randomBytes(4).toString('hex')}`);
      const fh = await open(probe, 'wx', 0o600);
      await fh.close();
      await rm(probe, { force: true });
    } catch (e) {
      throw new BarysafeError('state', `the state directory ${this.dir} is not writable: ${errorText(e)}`, {
        exitCode: ExitCode.USAGE,
        hint: 'set [state] dir in barysafe.toml to a directory the agent may write (systemd: StateDirectory=barysafe)',
      });
    }
  }

  async read(job: JobName): Promise<JobState> {
    let text: string;
    try {
      text = await readFile(this.file(job), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { format: STATE_FORMAT, job };
      throw new BarysafeError('state', `cannot read ${this.file(job)}: ${errorText(e)}`, { exitCode: ExitCode.USAGE });
    }
    try {
      const s = JSON.parse(text) as JobState;
      if (s.format === STATE_FORMAT && s.job === job) return s;
    } catch {
      /* reported below */
    }
    // Starting over only makes the job due at once; refusing to start would stop every backup.
    this.logger.warn(
      { job },
      `${this.file(job)} is not a barysafe agent state file; starting that job's history afresh`,
    );
    return { format: STATE_FORMAT, job };
  }

  async readAll(jobs: readonly JobName[]): Promise<Map<JobName, JobState>> {
    return new Map(await Promise.all(jobs.map(async (j) => [j, await this.read(j)] as const)));
  }

  /** Written to a temp file in the same directory, fsynced and renamed: a reader sees the old or the new state. */
  async write(state: JobState): Promise<void> {
    await writeAtomic(this.file(state.job), JSON.stringify(state, null, 2) + '\n', 0o600);
  }
}

/** Atomic replace: temp file beside the target (same filesystem), fsync, rename. Never follows a link at the target. */
export async function writeAtomic(file: string, text: string, mode: number): Promise<void> {
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
}
