// The agent's scheduler with an injected clock: DST in a real time zone neither skips nor doubles
// a daily job (hourly jobs run every real hour), a slot missed while the agent was down runs at
// start, a job never overlaps itself and repository writers never run at the same time.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Agent } from '../src/agent/agent.js';
import type { Clock } from '../src/agent/clock.js';
import type { JobSpec } from '../src/agent/jobs.js';
import { parseSchedule, type JobName } from '../src/agent/schedule.js';
import { StateStore } from '../src/agent/state.js';
import { configSchema, type BarysafeConfig } from '../src/config/schema.js';
import { createLogger } from '../src/log.js';
import { FileStorage } from '../src/repository/file-storage.js';
import { FakeClock } from './support/fake-clock.js';

const logger = createLogger({ level: 'silent' });
const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function config(schedule: Record<string, unknown>): Promise<BarysafeConfig> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'barysafe-agent-sched-'));
  dirs.push(dir);
  return configSchema.parse({
    barycenter: { config: path.join(dir, 'config.toml'), workdir: dir },
    repository: { url: `file://${dir}/repo` },
    encryption: { recipients: ['age1w77amjwa04cxyuk7f7zfrvaeu3275u0p06q7g0xztj55ds7xgg5q8q9hq4'] },
    state: { dir: path.join(dir, 'state') },
    schedule,
  });
}

/** Fake jobs that record the slot they served and how many ran at once. */
function recorder(names: JobName[], opts: { writer?: boolean; ms?: number } = {}) {
  const slots = new Map<JobName, string[]>(names.map((n) => [n, []]));
  let concurrent = 0;
  let maxConcurrent = 0;
  const jobs = new Map<JobName, JobSpec>(
    names.map((name) => [
      name,
      {
        name,
        writer: opts.writer ?? true,
        run: async (ctx) => {
          concurrent++;
          maxConcurrent = Math.max(maxConcurrent, concurrent);
          slots.get(name)!.push(ctx.slot?.toISOString() ?? 'now');
          await new Promise((r) => setTimeout(r, opts.ms ?? 1));
          concurrent--;
          return { kind: 'done', exitCode: 0, summary: 'ok' };
        },
      },
    ]),
  );
  return { jobs, slots, max: () => maxConcurrent };
}

function agentWith(c: BarysafeConfig, jobs: Map<JobName, JobSpec>, clock: Clock): Agent {
  return new Agent({
    housekeepingMs: 3600_000,
    config: c,
    configPath: '/nonexistent/barysafe.toml',
    logger,
    storage: new FileStorage(c.repository.url),
    jobs,
    clock,
  });
}

async function runFor(c: BarysafeConfig, jobs: Map<JobName, JobSpec>, start: string, end: string) {
  const clock = new FakeClock(new Date(start));
  const agent = agentWith(c, jobs, clock);
  await agent.init();
  const done = agent.run();
  await clock.runUntil(new Date(end), agent.schedules.length + 1);
  agent.stop();
  await done;
  return agent;
}

describe('DST in Europe/Berlin (injected clock)', () => {
  it('spring forward: the 02:30 daily job runs at 03:00 on the short day, once a day', async () => {
    const c = await config({ backup: '30 2 * * *', check: '0 * * * *', timezone: 'Europe/Berlin', run_missed: false });
    const r = recorder(['backup', 'check'], { writer: false });
    await runFor(c, r.jobs, '2026-03-27T23:00:00Z', '2026-03-30T23:00:00Z');
    assert.deepEqual(r.slots.get('backup'), [
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 02:30 does not exist: 03:00 CEST, not skipped
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
    const hourly = r.slots.get('check')!.map(Date.parse);
    assert.equal(hourly.length, 72);
    for (let i = 1; i < hourly.length; i++) assert.equal(hourly[i]! - hourly[i - 1]!, 3600_000, 'every real hour');
  });

  it('fall back: the 02:30 daily job runs once on the long day (02:30 happens twice)', async () => {
    const c = await config({ backup: '30 2 * * *', check: '0 * * * *', timezone: 'Europe/Berlin', run_missed: false });
    const r = recorder(['backup', 'check'], { writer: false });
    await runFor(c, r.jobs, '2026-10-23T23:00:00Z', '2026-10-26T23:00:00Z');
    assert.deepEqual(r.slots.get('backup'), [
      '2026-10-24T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T00:30:00.000Z', // the first 02:30 (CEST); the second (CET, 01:30Z) does not run again
      '2026-10-26T01:30:00.000Z', // 02:30 CET
    ]);
    const hourly = r.slots.get('check')!.map(Date.parse);
    assert.equal(hourly.length, 72);
    for (let i = 1; i < hourly.length; i++) assert.equal(hourly[i]! - hourly[i - 1]!, 3600_000, 'every real hour');
  });

  it('the expected interval is the longest gap between slots', () => {
    assert.equal(parseSchedule('backup', '0 2 * * *', 'UTC').intervalMs, 86400_000);
    assert.equal(parseSchedule('drill', '0 4 * * 0', 'UTC').intervalMs, 7 * 86400_000);
    assert.equal(parseSchedule('check', '*/5 * * * * *', 'UTC').intervalMs, 5000);
    // Weekdays only: the weekend gap is the period alerts must allow.
    assert.equal(parseSchedule('backup', '0 2 * * 1-5', 'UTC').intervalMs, 3 * 86400_000);
  });
});

describe('missed runs', () => {
  it('a daily job whose last success is older than its period runs at start, for the slot it missed', async () => {
    const c = await config({ backup: '0 2 * * *', timezone: 'UTC' });
    const store = new StateStore(c.state.dir, logger);
    await store.init();
    const at = '2026-06-08T02:00:05.000Z';
    await store.write({
      format: 'barysafe.agent-job-state/v1',
      job: 'backup',
      last_slot: '2026-06-08T02:00:00.000Z',
      last_success: {
        run_id: 'x',
        slot: '2026-06-08T02:00:00.000Z',
        started_at: at,
        finished_at: at,
        duration_seconds: 1,
        exit_code: 0,
        success: true,
        summary: 'ok',
      },
    });
    // The host was down from the 9th until the 10th at 09:00: the 02:00 slots of the 9th and 10th passed.
    const r = recorder(['backup']);
    await runFor(c, r.jobs, '2026-06-10T09:00:00Z', '2026-06-10T12:00:00Z');
    assert.deepEqual(r.slots.get('backup'), ['2026-06-10T02:00:00.000Z'], 'one catch-up run, for the newest slot');
  });

  it('a job that succeeded for its newest slot does not run again at start', async () => {
    const c = await config({ backup: '0 2 * * *', timezone: 'UTC' });
    const r = recorder(['backup']);
    await runFor(c, r.jobs, '2026-06-10T09:00:00Z', '2026-06-10T09:30:00Z'); // first start: never ran → runs
    assert.deepEqual(r.slots.get('backup'), ['2026-06-10T02:00:00.000Z']);
    const again = recorder(['backup']);
    await runFor(c, again.jobs, '2026-06-10T10:00:00Z', '2026-06-11T01:00:00Z');
    assert.deepEqual(again.slots.get('backup'), [], 'restarted the same day: nothing to catch up');
  });

  it('--once runs only what is due', async () => {
    const c = await config({ backup: '0 2 * * *', check: '0 * * * *', timezone: 'UTC' });
    const r = recorder(['backup', 'check']);
    const clock = new FakeClock(new Date('2026-06-10T09:10:00Z'));
    const a = agentWith(c, r.jobs, clock);
    await a.init();
    assert.equal(await a.runOnce(), 0);
    assert.deepEqual([...r.slots.values()], [['2026-06-10T02:00:00.000Z'], ['2026-06-10T09:00:00.000Z']]);
    await a.runOnce();
    assert.deepEqual([...r.slots.values()].flat().length, 2, 'nothing due a second time');
    (clock as unknown as { t: number }).t = Date.parse('2026-06-10T10:00:01Z');
    await a.runOnce();
    assert.deepEqual(r.slots.get('check'), ['2026-06-10T09:00:00.000Z', '2026-06-10T10:00:00.000Z']);
    assert.deepEqual(r.slots.get('backup'), ['2026-06-10T02:00:00.000Z']);
  });
});

describe('overlap (real clock, second-resolution schedules)', () => {
  it('a job never overlaps itself and two writers never run at once', async () => {
    const c = await config({ backup: '* * * * * *', forget: '* * * * * *', timezone: 'UTC', run_missed: false });
    const r = recorder(['backup', 'forget'], { writer: true, ms: 1500 });
    const { systemClock } = await import('../src/agent/clock.js');
    const a = agentWith(c, r.jobs, systemClock);
    await a.init();
    const done = a.run();
    await new Promise((res) => setTimeout(res, 5200));
    a.stop();
    await done;
    assert.equal(r.max(), 1, 'the two writers took turns');
    const all = [...r.slots.values()].flat();
    assert.ok(all.length >= 2 && all.length <= 4, `runs: ${all.join(' ')}`);
    for (const [job, slots] of r.slots) assert.equal(new Set(slots).size, slots.length, `${job} served no slot twice`);
  });
});
