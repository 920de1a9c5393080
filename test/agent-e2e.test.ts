// The agent against a real deployment (the Barycenter stand-in) and a real file:// repository,
// with second-resolution schedules: a backup, a verify, a drill and a check happen in-process through the
// same use cases as the commands; /metrics reports each with the right timestamps, a failed run
// never moves a last-success timestamp, and the node_exporter textfile says the same as /metrics.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent } from '../src/agent/agent.js';
import { jobTable } from '../src/agent/jobs.js';
import { startListener, type Listener } from '../src/agent/server.js';
import type { JobState } from '../src/agent/state.js';
import { commandJobs } from '../src/cli/agent.js';
import { loadConfig } from '../src/config/load.js';
import { openStorage } from '../src/repository/open-storage.js';
import { drillSetup, logger, type DrillSetup } from './drill-fixtures.js';
import { canMakeImmutable, unwritable, writable } from './support/unwritable.js';

/** Prometheus text → { "name{labels}": value }. */
export function parseMetrics(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('agent end to end (file:// repository, stand-in deployment)', () => {
  let s: DrillSetup;
  let agent: Agent;
  let listener: Listener;
  let running: Promise<void>;
  let textfileDir: string;
  const t0 = Date.now();

  before(async () => {
    s = await drillSetup({ drillToml: 'rto_target = "5m"' });
    textfileDir = path.join(s.d.dir.path, 'textfile');
    await writeFile(
      s.setup.configPath,
      (await readFile(s.setup.configPath, 'utf8')) +
        `\n[state]\ndir = "${path.join(s.d.dir.path, 'state')}"\n` +
        `\n[schedule]\nbackup = "*/4 * * * * *"\nverify = "0 0 0 1 1 *"\nread_data_subset = "auto/2"\ndrill = "0 0 0 1 1 *"\ncheck = "*/30 * * * * *"\ntimezone = "UTC"\n` +
        `\n[agent]\nlisten = "127.0.0.1:0"\ntextfile_dir = "${textfileDir}"\nstop_timeout = "30s"\n`,
    );
    const { config, path: configPath } = await loadConfig(s.setup.configPath);
    agent = new Agent({
      config,
      configPath,
      logger,
      storage: openStorage(config.repository),
      jobs: jobTable(commandJobs()),
    });
    await agent.init();
    listener = await startListener('127.0.0.1:0', { view: () => agent.view(), healthy: () => agent.healthy(), logger });
    running = agent.run();
  });

  after(async () => {
    agent?.stop();
    await running;
    await listener?.close();
    await s?.close();
  });

  const state = async (job: string) =>
    JSON.parse(
      await readFile(path.join(s.d.dir.path, 'state', 'agent', `${job}.json`), 'utf8').catch(() => '{}'),
    ) as JobState;

  it('runs the missed jobs at start and the backup again on its second-resolution schedule', async () => {
    // Fresh state: every job is due at start (the verify's and drill's yearly slots passed long ago).
    const backups = await waitFor('two backups', async () => {
      const st = await state('backup');
      return st.last_success && st.last_slot && Date.parse(st.last_success.finished_at) > t0 + 4000 ? st : undefined;
    });
    assert.match(backups.last_success!.snapshot_id!, /^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    const drill = await waitFor('a drill', async () => ((await state('drill')).last_run ? state('drill') : undefined));
    assert.equal(drill.last_run!.exit_code, 0, drill.last_run!.summary);
    assert.equal(drill.drill?.verdict, 'pass');
    assert.ok(drill.drill!.rto_seconds! > 0);
    const verify = await waitFor('a verify', async () =>
      (await state('verify')).last_run ? state('verify') : undefined,
    );
    assert.equal(verify.last_run!.exit_code, 0, verify.last_run!.summary);
    // How many objects slice 1 holds follows from a hash of their keys, which hold random snapshot
    // ids: with the one snapshot the verify may see at start, none of its objects is in slice 1
    // about one run in sixteen.
    assert.match(verify.last_run!.summary, /read-data slice 1\/2\) of \d+ snapshot\(s\): pass, \d+ object\(s\) read/);
    // Slice 1 of an auto/2 cycle read: half of the cycle is done.
    assert.equal(verify.verify?.coverage_ratio, 0.5);
    const check = await waitFor('a check run', async () =>
      (await state('check')).last_run ? state('check') : undefined,
    );
    assert.ok(check.check!.counts.total! > 10, JSON.stringify(check.check));
  });

  it('/metrics reports each job with the timestamps of its state, the textfile matches, /healthz answers', async () => {
    const { stat } = await import('node:fs/promises');
    const written = await stat(path.join(textfileDir, 'barysafe.prom'));
    assert.ok(Date.now() - written.mtimeMs < 10_000, 'the agent keeps the textfile fresh by itself');
    await agent.writeTextfile();
    const [backup, verify, drill, check] = await Promise.all([
      state('backup'),
      state('verify'),
      state('drill'),
      state('check'),
    ]);
    const r = await fetch(`${listener.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await r.text();
    const file = await readFile(path.join(textfileDir, 'barysafe.prom'), 'utf8');
    const m = parseMetrics(text);
    const near = (name: string, iso: string | undefined) => {
      assert.ok(iso, name);
      const v = m.get(name);
      assert.ok(v !== undefined, `${name} missing:\n${text}`);
      // Later runs may have ended between the two reads; never earlier than the state we read.
      assert.ok(v >= Date.parse(iso) / 1000 - 0.001, `${name} = ${v}, state says ${iso}`);
      assert.ok(v >= t0 / 1000 && v <= Date.now() / 1000 + 1, `${name} = ${v} is within the test`);
    };
    near('barysafe_job_last_success_timestamp_seconds{job="backup"}', backup.last_success?.finished_at);
    near('barysafe_job_last_run_timestamp_seconds{job="backup"}', backup.last_run?.finished_at);
    near('barysafe_job_last_success_timestamp_seconds{job="drill"}', drill.last_success?.finished_at);
    near('barysafe_job_last_success_timestamp_seconds{job="verify"}', verify.last_success?.finished_at);
    assert.equal(m.get('barysafe_job_last_run_success{job="verify"}'), 1);
    assert.equal(m.get('barysafe_verify_coverage_ratio'), 0.5);
    near('barysafe_job_last_run_timestamp_seconds{job="check"}', check.last_run?.finished_at);
    assert.equal(m.get('barysafe_job_last_run_success{job="drill"}'), 1);
    assert.equal(m.get('barysafe_job_expected_interval_seconds{job="backup"}'), 4);
    assert.equal(m.get('barysafe_job_expected_interval_seconds{job="check"}'), 30);
    assert.ok(m.get('barysafe_backup_bytes')! > 1000);
    assert.equal(m.get('barysafe_rpo_target_seconds'), 26 * 3600);
    assert.equal(m.get('barysafe_drill_rto_target_seconds'), 300);
    assert.ok(m.get('barysafe_drill_rto_seconds')! > 0 && m.get('barysafe_drill_rto_seconds')! < 300);
    assert.ok(m.get('barysafe_key_age_seconds')! >= 0);
    assert.ok(m.get('barysafe_check_results{status="pass"}')! > 0);
    // No per-snapshot label anywhere: only job and status (and the version of build_info) are labels.
    for (const k of m.keys()) assert.match(k, /^[a-z_]+(\{(job|status|version)="[^"]*"\})?$/, k);
    assert.doesNotMatch(text, /snapshot_id|\d{8}T\d{6}Z/);

    // The textfile: same series; values equal but for what moved since it was written.
    const f = parseMetrics(file);
    assert.deepEqual([...f.keys()].sort(), [...m.keys()].sort());
    assert.ok(file.endsWith('\n'));
    // A backup may have ended between the two reads; what cannot have moved must be equal.
    for (const [k, v] of f) if (!/job="backup"|key_age|backup_|running/.test(k)) assert.equal(v, m.get(k), k);

    assert.equal((await fetch(`${listener.url}/healthz`)).status, 200);
  });

  it(
    'a failed run moves last_run only, never last_success',
    { skip: canMakeImmutable() ? false : 'chattr +i is not available here' },
    async () => {
      const before = await state('backup');
      const okAt = before.last_success!.finished_at;
      // Make the repository unwritable (for root too) for a while.
      unwritable(s.repoRoot);
      try {
        const failed = await waitFor('a failed backup', async () => {
          const st = await state('backup');
          return st.last_run && !st.last_run.success ? st : undefined;
        });
        assert.equal(failed.last_run!.exit_code, 10, failed.last_run!.summary);
        assert.ok(failed.last_success!.finished_at >= okAt);
        const m = parseMetrics(await (await fetch(`${listener.url}/metrics`)).text());
        assert.equal(m.get('barysafe_job_last_run_success{job="backup"}'), 0);
        assert.equal(
          m.get('barysafe_job_last_success_timestamp_seconds{job="backup"}'),
          Date.parse(failed.last_success!.finished_at) / 1000,
        );
      } finally {
        writable(s.repoRoot);
      }
    },
  );
});
