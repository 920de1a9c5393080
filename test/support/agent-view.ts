// A complete agent view (every job, every fact) for rendering tests: metrics lint, status page.
import { parseSchedule } from '../../src/agent/schedule.js';
import type { JobState, RunRecord } from '../../src/agent/state.js';
import type { AgentView } from '../../src/agent/view.js';

const rec = (at: string, success: boolean): RunRecord => ({
  run_id: '00000000-0000-4000-8000-000000000000',
  slot: at,
  started_at: at,
  finished_at: at,
  duration_seconds: 12.5,
  exit_code: success ? 0 : 10,
  success,
  summary: 'x',
});

/** A view with every job and every fact set, so every metric is rendered. */
export function fullView(now = new Date('2026-12-01T12:00:00Z')): AgentView {
  const at = '2026-12-01T02:00:00.000Z';
  const st = (job: JobState['job'], extra: Partial<JobState> = {}): JobState => ({
    format: 'barysafe.agent-job-state/v1',
    job,
    last_run: rec(at, job !== 'verify'),
    last_success: rec('2026-11-30T02:00:00.000Z', true),
    last_skip: {
      at,
      slot: at,
      reason: 'snapshot 20261201T020001Z-abcdef (from idp-2) already covers this slot',
      covered_at: at,
    },
    ...extra,
  });
  return {
    now,
    host: 'idp-1',
    version: '0.1.0',
    timezone: 'UTC',
    rpoTargetSeconds: 93600,
    rtoTargetSeconds: 300,
    jobs: [
      {
        job: 'backup',
        schedule: parseSchedule('backup', '0 2 * * *', 'UTC'),
        nextRun: new Date('2026-12-02T02:00:00Z'),
        running: false,
        state: st('backup', {
          backup: {
            snapshot_id: '20261201T020001Z-abcdef',
            created_at: '2026-12-01T02:00:09.000Z',
            bytes: 123456,
            key_thumbprint: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
            key_kid: 'k1',
            key_first_seen_at: '2026-01-01T00:00:00.000Z',
          },
        }),
      },
      {
        job: 'verify',
        schedule: parseSchedule('verify', '30 2 * * *', 'UTC'),
        running: false,
        state: st('verify', { verify: { finished_at: at, coverage_ratio: 0.42 } }),
      },
      {
        job: 'drill',
        schedule: parseSchedule('drill', '0 4 * * 0', 'UTC'),
        running: false,
        state: st('drill', {
          drill: {
            verdict: 'pass',
            snapshot_id: '20261201T020001Z-abcdef',
            finished_at: at,
            rto_seconds: 41.2,
            rpo_seconds: 7300,
            rto_target_seconds: 300,
            rto_met: true,
          },
        }),
      },
      {
        job: 'check',
        schedule: parseSchedule('check', '0 * * * *', 'UTC'),
        running: true,
        state: st('check', {
          check: {
            finished_at: at,
            counts: { total: 40, pass: 30, fail: 2, warn: 3, manual: 4, skip: 1, error: 0, waived: 0 },
          },
        }),
      },
    ],
  };
}
