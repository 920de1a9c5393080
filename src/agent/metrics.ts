import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Gauge, Registry } from 'prom-client';
import { writeAtomic } from './state.js';
import { stateOf, type AgentView } from './view.js';

/**
 * Prometheus metrics, rendered from the agent's view (the state files), so /metrics and the
 * node_exporter textfile say the same thing and survive restarts. Conventions: base units in the
 * name (_seconds, _bytes, _ratio), timestamps as Unix seconds, no per-snapshot label (one series
 * per job or status only), and the expected interval of every schedule exported beside its
 * timestamps so an alert can say "older than twice its own period" without a hard-coded number.
 * A failed run moves last_run_* only; last_success_* moves only on success.
 */
export const METRIC_NAMES = [
  'barysafe_build_info',
  'barysafe_job_last_run_timestamp_seconds',
  'barysafe_job_last_run_success',
  'barysafe_job_last_success_timestamp_seconds',
  'barysafe_job_duration_seconds',
  'barysafe_job_expected_interval_seconds',
  'barysafe_job_next_run_timestamp_seconds',
  'barysafe_job_last_skip_timestamp_seconds',
  'barysafe_job_running',
  'barysafe_backup_bytes',
  'barysafe_backup_last_snapshot_timestamp_seconds',
  'barysafe_rpo_target_seconds',
  'barysafe_drill_rto_seconds',
  'barysafe_drill_rto_target_seconds',
  'barysafe_drill_rpo_seconds',
  'barysafe_verify_coverage_ratio',
  'barysafe_check_results',
  'barysafe_key_age_seconds',
] as const;

const ts = (iso: string | undefined) => (iso ? Date.parse(iso) / 1000 : undefined);

export async function renderMetrics(view: AgentView): Promise<string> {
  const registry = new Registry();
  // Registered on first set: prom-client prints an unlabelled gauge that was never set as 0, and
  // "0 bytes" or "coverage 0" is a claim; a value nobody knows is absent instead.
  const gauge = (name: (typeof METRIC_NAMES)[number], help: string, labelNames: string[] = []) => {
    let g: Gauge | undefined;
    const get = () => (g ??= new Gauge({ name, help, labelNames, registers: [registry] }));
    return {
      set(a: Record<string, string> | number, b?: number) {
        if (typeof a === 'number') get().set(a);
        else get().set(a, b!);
      },
    };
  };

  gauge('barysafe_build_info', 'barysafe version running the agent (always 1)', ['version']).set(
    { version: view.version },
    1,
  );
  const lastRun = gauge('barysafe_job_last_run_timestamp_seconds', 'when the last run of the job ended', ['job']);
  const lastOk = gauge('barysafe_job_last_run_success', '1 when the last run of the job succeeded, else 0', ['job']);
  const lastSuccess = gauge(
    'barysafe_job_last_success_timestamp_seconds',
    'when the last successful run of the job ended (a failed run never moves it)',
    ['job'],
  );
  const duration = gauge('barysafe_job_duration_seconds', 'how long the last run of the job took', ['job']);
  const interval = gauge(
    'barysafe_job_expected_interval_seconds',
    'the longest gap between two slots of the job schedule: a success should recur within it',
    ['job'],
  );
  const next = gauge('barysafe_job_next_run_timestamp_seconds', 'when the job runs next', ['job']);
  const skip = gauge(
    'barysafe_job_last_skip_timestamp_seconds',
    'when the job last skipped a slot because its work was done or being done elsewhere (another agent)',
    ['job'],
  );
  const running = gauge('barysafe_job_running', '1 while the job runs', ['job']);
  for (const j of view.jobs) {
    const l = { job: j.job };
    const s = j.state;
    if (s.last_run) {
      lastRun.set(l, ts(s.last_run.finished_at)!);
      lastOk.set(l, s.last_run.success ? 1 : 0);
      duration.set(l, s.last_run.duration_seconds);
    }
    if (s.last_success) lastSuccess.set(l, ts(s.last_success.finished_at)!);
    if (s.last_skip) skip.set(l, ts(s.last_skip.at)!);
    if (j.schedule) interval.set(l, j.schedule.intervalMs / 1000);
    if (j.nextRun) next.set(l, j.nextRun.getTime() / 1000);
    running.set(l, j.running ? 1 : 0);
  }

  const backup = stateOf(view, 'backup')?.backup;
  const bytes = gauge('barysafe_backup_bytes', 'encrypted size of the newest snapshot');
  const newest = gauge(
    'barysafe_backup_last_snapshot_timestamp_seconds',
    'creation time of the newest snapshot in the repository (made by this agent or another sharing it)',
  );
  const keyAge = gauge(
    'barysafe_key_age_seconds',
    "age of Barycenter's signing key: now minus the first snapshot that holds it",
  );
  if (backup) {
    bytes.set(backup.bytes);
    newest.set(ts(backup.created_at)!);
    keyAge.set(Math.max(0, view.now.getTime() / 1000 - ts(backup.key_first_seen_at)!));
  }
  gauge('barysafe_rpo_target_seconds', 'the recovery point objective: the newest snapshot must be younger').set(
    view.rpoTargetSeconds,
  );

  const drill = stateOf(view, 'drill')?.drill;
  const rto = gauge('barysafe_drill_rto_seconds', 'recovery time measured by the last drill');
  const rpo = gauge(
    'barysafe_drill_rpo_seconds',
    'recovery point of the last drill: its start minus the snapshot time',
  );
  const rtoTarget = gauge('barysafe_drill_rto_target_seconds', 'the recovery time objective drills are held to');
  if (drill?.rto_seconds !== null && drill?.rto_seconds !== undefined) rto.set(drill.rto_seconds);
  if (drill?.rpo_seconds !== null && drill?.rpo_seconds !== undefined) rpo.set(drill.rpo_seconds);
  if (view.rtoTargetSeconds !== undefined) rtoTarget.set(view.rtoTargetSeconds);

  const verify = stateOf(view, 'verify')?.verify;
  const coverage = gauge(
    'barysafe_verify_coverage_ratio',
    'share of the repository data read back and hashed by verify',
  );
  if (verify?.coverage_ratio !== null && verify?.coverage_ratio !== undefined) coverage.set(verify.coverage_ratio);

  const check = stateOf(view, 'check')?.check;
  const results = gauge('barysafe_check_results', 'results of the last check run, by status', ['status']);
  if (check) for (const [status, n] of Object.entries(check.counts)) if (status !== 'total') results.set({ status }, n);

  return registry.metrics();
}

export const METRICS_CONTENT_TYPE = new Registry().contentType;

/** node_exporter's textfile collector: <dir>/barysafe.prom, replaced by rename so a scrape never sees half a file. */
export async function writeTextfile(dir: string, text: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'barysafe.prom');
  await writeAtomic(file, text.endsWith('\n') ? text : text + '\n', 0o644);
  return file;
}
