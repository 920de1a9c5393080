import os from 'node:os';
import type { BarysafeConfig } from '../config/schema.js';
import { parseDuration } from '../units.js';
import { VERSION } from '../version.js';
import type { JobName, JobSchedule } from './schedule.js';
import type { JobState } from './state.js';

/** One consistent picture of the agent, read from the state files: what metrics and the status page show. */
export interface JobView {
  job: JobName;
  schedule?: JobSchedule;
  state: JobState;
  nextRun?: Date;
  running: boolean;
}

export interface AgentView {
  now: Date;
  host: string;
  version: string;
  timezone: string;
  jobs: JobView[];
  rpoTargetSeconds: number;
  rtoTargetSeconds?: number;
  drillRpoTargetSeconds?: number;
}

export function buildView(config: BarysafeConfig, jobs: JobView[], now: Date): AgentView {
  return {
    now,
    host: os.hostname(),
    version: VERSION,
    timezone: config.schedule.timezone,
    jobs,
    // The RPO the checks enforce; a drill's own rpo_target, when set, is the stricter statement.
    rpoTargetSeconds: parseDuration(config.drill.rpo_target ?? config.checks.rpo) / 1000,
    ...(config.drill.rto_target ? { rtoTargetSeconds: parseDuration(config.drill.rto_target) / 1000 } : {}),
    ...(config.drill.rpo_target ? { drillRpoTargetSeconds: parseDuration(config.drill.rpo_target) / 1000 } : {}),
  };
}

export function stateOf(view: AgentView, job: JobName): JobState | undefined {
  return view.jobs.find((j) => j.job === job)?.state;
}
