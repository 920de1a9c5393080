import { describeIdentity } from '../barycenter/identity.js';
import type { DrillResult, StepResult, Verdict } from '../verify/types.js';

/**
 * Renders a drill result: the `--json` document (stable, docs/DRILL.md) and the terminal text.
 * The result holds no secret by construction (steps redact their details); nothing is added here.
 */
export function drillJson(r: DrillResult): Record<string, unknown> {
  return { ok: r.verdict === 'pass', ...r };
}

const MARK: Record<Verdict, string> = { pass: 'PASS', fail: 'FAIL', inconclusive: 'INCONCLUSIVE', error: 'ERROR' };

export function drillText(r: DrillResult): string {
  const lines: string[] = [];
  lines.push(
    `restore drill ${r.drill_id} of snapshot ${r.snapshot_id ?? '(unresolved)'}${r.launcher ? ` — ${r.launcher}` : ''}`,
  );
  const width = Math.max(...r.steps.map((s) => s.name.length));
  for (const s of r.steps) lines.push(stepLine(s, width));
  lines.push('');
  const b = r.barycenter_build;
  lines.push(
    `Barycenter build: production ${describeIdentity(b.production)}; drill ${describeIdentity(b.drill)} — ${b.comparison === 'same' ? 'the same build' : b.comparison === 'different' ? 'DIFFERENT builds' : 'not comparable'}`,
  );
  lines.push(
    `RTO ${r.rto_ms === null ? 'not reached (the scratch instance was not verified)' : seconds(r.rto_ms)}${target(r.rto_target_ms, r.rto_met)}`,
  );
  lines.push(
    `RPO ${r.rpo_ms === null ? 'unknown (no verified snapshot)' : human(r.rpo_ms)}${target(r.rpo_target_ms, r.rpo_met)}`,
  );
  lines.push(
    r.record_key
      ? `drill record: ${r.record_key} (signed)`
      : `drill record NOT stored: ${r.record_error ?? 'unknown reason'}`,
  );
  if (r.evidence) lines.push(`evidence: #${r.evidence.sequence} (${r.evidence.key})`);
  else if (r.record_key && r.record_error) lines.push(`evidence NOT recorded: ${r.record_error}`);
  lines.push(`verdict: ${MARK[r.verdict]} (exit ${r.exit_code})`);
  return lines.join('\n') + '\n';
}

function stepLine(s: StepResult, width: number): string {
  const [first, ...rest] = s.detail.split('\n');
  const head = `  ${MARK[s.verdict].padEnd(12)} ${s.name.padEnd(width)} ${String(s.duration_ms).padStart(6)} ms  ${first}`;
  const pad = ' '.repeat(width + 26);
  return [head, ...rest.map((l) => `${pad}| ${l}`), ...(s.warnings ?? []).map((w) => `${pad}warning: ${w}`)].join('\n');
}

function target(ms: number | undefined, met: boolean | undefined): string {
  if (ms === undefined) return '';
  return ` (target ${human(ms)}: ${met ? 'met' : 'MISSED'})`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function human(ms: number): string {
  if (ms < 120_000) return seconds(ms);
  if (ms < 2 * 3600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 3 * 86400_000) return `${(ms / 3600_000).toFixed(1)} h`;
  return `${(ms / 86400_000).toFixed(1)} d`;
}
