// The shipped Prometheus rules pass `promtool check rules` and `promtool test rules`; what the
// agent exports passes `promtool check metrics` (naming and unit lint) and carries no per-snapshot
// label; the Grafana dashboard only queries metrics the agent exports.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { METRIC_NAMES, renderMetrics } from '../src/agent/metrics.js';
import { fullView } from './support/agent-view.js';
import { REPO_ROOT } from './support/deployments.js';

const PROM = path.join(REPO_ROOT, 'deploy', 'prometheus');
const promtool = spawnSync('promtool', ['--version']).status === 0;
const skip = promtool ? false : 'promtool is not installed (scripts/install-test-deps.sh installs Debian prometheus)';

function run(args: string[], input?: string) {
  const r = spawnSync('promtool', args, { cwd: PROM, input, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('Prometheus', { skip }, () => {
  it('promtool check rules: the alert rules are valid', () => {
    const r = run(['check', 'rules', 'barysafe-alerts.yml']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS: \d+ rules found/);
  });

  it('promtool test rules: every alert fires when it should and only then', () => {
    const r = run(['test', 'rules', 'barysafe-alerts.test.yml']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });

  it('promtool check metrics: the exported names and units lint clean, no per-snapshot label', async () => {
    const text = await renderMetrics(fullView());
    const r = run(['check', 'metrics'], text);
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out.trim(), '', r.out);
    for (const name of METRIC_NAMES) assert.match(text, new RegExp(`^# TYPE ${name} gauge$`, 'm'), name);
    assert.doesNotMatch(text, /snapshot(_id)?="/);
    assert.match(text, /^barysafe_job_last_success_timestamp_seconds\{job="backup"\} 1796004000$/m);
    assert.match(text, /^barysafe_job_expected_interval_seconds\{job="drill"\} 604800$/m);
    assert.match(text, /^barysafe_check_results\{status="fail"\} 2$/m);
    assert.match(text, /^barysafe_key_age_seconds 28900800$/m);
  });

  it('every alert rule and dashboard query names only metrics the agent exports (or Prometheus/node_exporter own)', () => {
    const known = new Set<string>([...METRIC_NAMES, 'up', 'node_textfile_mtime_seconds']);
    const dashboard = JSON.parse(readFileSync(path.join(PROM, 'barysafe-dashboard.json'), 'utf8')) as {
      panels: Array<{ targets: Array<{ expr: string }> }>;
    };
    const exprs = [
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...[
        ...readFileSync(path.join(PROM, 'barysafe-alerts.yml'), 'utf8').matchAll(
          /expr: >?\n?([\s\S]*?)\n\s+(?:for|labels):/g,
        ),
      ].map((m) => m[1]!),
    ];
    assert.ok(exprs.length > 15);
    for (const e of exprs)
      for (const name of e.match(/\b(barysafe_[a-z_]+|up|node_[a-z_]+)\b/g) ?? [])
        assert.ok(known.has(name), `${name} in ${e}`);
  });
});
