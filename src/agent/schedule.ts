import { Cron } from 'croner';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import { JOB_NAMES, type BarysafeConfig } from '../config/schema.js';
import { parseDuration } from '../units.js';

export type JobName = (typeof JOB_NAMES)[number];

/**
 * The [schedule] section as computable slots. croner, not node-cron: measured on croner 11 and
 * node-cron 4.6 with Europe/Berlin (docs/AGENT.md), a daily 02:30 job on the spring-forward day
 * runs at 03:00 with croner and is skipped by node-cron; on the autumn day both run it once. croner
 * also computes the next and previous slot from any instant (nextRun(from), previousRuns), which
 * is what missed-run detection and an injected clock need; node-cron only answers "from now".
 */
export interface JobSchedule {
  job: JobName;
  expression: string;
  timezone: string;
  /** The longest gap between two consecutive slots (over the next 60): the period a success must recur within. */
  intervalMs: number;
  next(after: Date): Date | undefined;
  previous(atOrBefore: Date): Date | undefined;
}

export function parseSchedule(job: JobName, expression: string, timezone: string, from = new Date()): JobSchedule {
  let cron: Cron;
  try {
    cron = new Cron(expression, { timezone, paused: true });
  } catch (e) {
    throw new BarysafeError(
      'config',
      `schedule.${job} = "${expression}" is not a valid cron expression: ${errorText(e)}`,
      {
        exitCode: ExitCode.USAGE,
        hint: 'five fields (minute hour day-of-month month day-of-week), or six with seconds first',
      },
    );
  }
  const runs = cron.nextRuns(60, from);
  if (runs.length < 2)
    throw new BarysafeError('config', `schedule.${job} = "${expression}" does not repeat`, {
      exitCode: ExitCode.USAGE,
    });
  let intervalMs = 0;
  for (let i = 1; i < runs.length; i++) intervalMs = Math.max(intervalMs, runs[i]!.getTime() - runs[i - 1]!.getTime());
  return {
    job,
    expression,
    timezone,
    intervalMs,
    next: (after) => cron.nextRun(after) ?? undefined,
    previous: (at) => cron.previousRuns(1, new Date(at.getTime() + 1))[0],
  };
}

/** Every scheduled job of the config, in the job table's order (backup before verify, drill, check, forget). */
export function schedulesOf(config: BarysafeConfig, from = new Date()): JobSchedule[] {
  const out: JobSchedule[] = [];
  for (const job of JOB_NAMES) {
    const expr = config.schedule[job];
    if (expr) out.push(parseSchedule(job, expr, config.schedule.timezone, from));
  }
  return out;
}

export function jitterMs(config: BarysafeConfig): number {
  return parseDuration(config.schedule.jitter);
}
