import type { CheckStatus } from '../../checks/types.js';
import type { EvidenceEntry, EvidenceVerification } from '../../repository/evidence-verify.js';
import { VERSION } from '../../version.js';
import type { CheckReport } from '../../checks/report.js';
import { STATUSES } from '../../checks/report.js';
import {
  AUDIT_REPORT_FORMAT,
  worstStatus,
  type AuditReport,
  type BackupRun,
  type Cited,
  type ControlRow,
  type DrillRun,
  type SectionStatus,
} from './model.js';

/**
 * Builds the report from the verified chain: a pure function of its inputs (the clock included),
 * so a history built in a test gives numbers the test can state exactly.
 */
export interface AuditInput {
  id: string;
  now: Date;
  since: Date;
  verification: EvidenceVerification;
  /** The newest check run in the period and its stored report, if any. */
  check: { report: CheckReport; cited: Cited } | null;
  rpoTargetMs: number;
  environment: AuditReport['environment'];
}

const DAY = 86400_000;
type Pred = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- predicates are typed by docs/EVIDENCE.md

export function buildAuditReport(input: AuditInput): AuditReport {
  const { verification: v, now, since } = input;
  const runs = v.runs;
  const of = (kind: string) => runs.filter((r) => r.info.run === kind);

  const backupRuns = of('backup').map(backupRun);
  const good = backupRuns.filter((b) => b.outcome === 'pass');
  const gaps = findGaps(good, now, input.rpoTargetMs);
  const drills = of('drill').map(drillRun);
  const passed = drills.filter((d) => d.verdict === 'pass');
  const verifyRuns = of('verify');
  const snapshotIds = new Set(good.map((b) => b.snapshot_id).filter(Boolean));
  const drilled = new Set(drills.map((d) => d.snapshot_id).filter((id) => id && snapshotIds.has(id)));
  const verified = new Set<string>();
  for (const r of verifyRuns)
    for (const s of ((r.statement.predicate as Pred).snapshots ?? []) as Pred[])
      if (s?.ok && snapshotIds.has(s.id)) verified.add(s.id as string);
  const covered = new Set([...drilled, ...verified]);

  const keys = keyHistory(good, now);
  const rows = input.check ? controlRows(input.check.report) : [];
  const checkCounts = input.check ? countStatuses(input.check.report) : null;
  const lastDrill = drills[drills.length - 1];
  const lastBackup = good[good.length - 1];
  const lastJwksOk = lastBackup ? (backupPred(lastBackup.sequence, runs)?.key?.jwksMatches ?? true) : true;

  const sections: AuditReport['summary']['sections'] = [
    {
      name: 'checks',
      status: !checkCounts
        ? 'none'
        : checkCounts.fail + checkCounts.error > 0
          ? 'fail'
          : checkCounts.warn > 0
            ? 'warn'
            : 'pass',
      detail: checkCounts
        ? STATUSES.filter((s) => checkCounts[s] > 0)
            .map((s) => `${checkCounts[s]} ${s}`)
            .join(', ')
        : 'no check run in the period',
    },
    {
      name: 'backups',
      status: good.length === 0 || gaps.length > 0 ? 'fail' : backupRuns.length > good.length ? 'warn' : 'pass',
      detail: `${good.length} succeeded, ${backupRuns.length - good.length} failed, ${gaps.length} gap(s) longer than the RPO`,
    },
    {
      name: 'drills',
      status: passed.length === 0 || (lastDrill && lastDrill.verdict !== 'pass') ? 'fail' : 'pass',
      detail: `${drills.length} drill(s), ${passed.length} passed${lastDrill ? `, latest ${lastDrill.verdict}` : ''}`,
    },
    {
      name: 'verification',
      status: snapshotIds.size === 0 ? 'none' : covered.size === 0 ? 'warn' : 'pass',
      detail: `${covered.size} of ${snapshotIds.size} snapshot(s) drilled or verified`,
    },
    {
      name: 'keys',
      status: !keys.current ? 'none' : lastJwksOk ? 'pass' : 'fail',
      detail: keys.current
        ? `kid ${keys.current.kid}, ${keys.rotations.length} rotation(s), key age ${keys.current.age_days} d`
        : 'no backup in the period',
    },
    {
      name: 'evidence',
      status: v.ok ? 'pass' : 'fail',
      detail: v.ok ? `${v.total} record(s) verified` : `${v.problems.length} problem(s)`,
    },
  ];

  const byRun: AuditReport['evidence']['by_run'] = {};
  for (const r of runs) {
    const c = (byRun[r.info.run] ??= { pass: 0, fail: 0, inconclusive: 0, error: 0 });
    c[r.info.outcome]++;
  }

  return {
    format: AUDIT_REPORT_FORMAT,
    id: input.id,
    generated_at: now.toISOString(),
    period: {
      since: since.toISOString(),
      until: now.toISOString(),
      days: Math.round((now.getTime() - since.getTime()) / DAY),
    },
    tool: { name: 'barysafe', version: VERSION },
    environment: input.environment,
    summary: {
      status: worstStatus(sections.map((s) => s.status)),
      sections,
      checks: checkCounts,
      open_fails: rows.filter((r) => r.status === 'fail' || r.status === 'error').map((r) => r.id),
    },
    controls: {
      report: input.check?.cited ?? null,
      generated_at: input.check?.report.generated_at ?? null,
      rows,
    },
    backups: {
      rpo_target_ms: input.rpoTargetMs,
      succeeded: good.length,
      failed: backupRuns.length - good.length,
      bytes_last: lastBackup?.bytes ?? null,
      per_day: perDay(good, since, now),
      gaps,
      recipients: recipientCounts(good, runs),
      runs: backupRuns,
    },
    verification: {
      snapshots: snapshotIds.size,
      drilled: drilled.size,
      verified: verified.size,
      coverage_ratio: snapshotIds.size ? Math.round((covered.size / snapshotIds.size) * 1000) / 1000 : null,
      runs: verifyRuns.map((r) => ({
        sequence: r.sequence,
        finished_at: r.info.finishedAt,
        outcome: r.info.outcome,
        summary: r.info.summary,
      })),
    },
    drills: {
      count: drills.length,
      passed: passed.length,
      failed: drills.filter((d) => d.verdict === 'fail' || d.verdict === 'error').length,
      last_pass: passed[passed.length - 1]?.finished_at ?? null,
      rto_target_ms: lastDrill?.rto_target_ms ?? null,
      rpo_target_ms: lastDrill?.rpo_target_ms ?? null,
      runs: drills,
    },
    keys,
    evidence: {
      ok: v.ok,
      records: v.total,
      head: v.head,
      runs_in_period: runs.length,
      by_run: byRun,
      problems: v.problems,
      notes: v.notes,
    },
    cites: [
      ...runs.map((r) => ({ name: r.key, digest: { sha256: r.sha256 } })),
      ...(input.check ? [input.check.cited] : []),
    ],
  };
}

function backupPred(sequence: number, runs: EvidenceEntry[]): Pred | undefined {
  return (runs.find((r) => r.sequence === sequence)?.statement.predicate as Pred | undefined)?.snapshot;
}

function backupRun(r: EvidenceEntry): BackupRun {
  const s = (r.statement.predicate as Pred).snapshot as Pred | undefined;
  return {
    sequence: r.sequence,
    finished_at: r.info.finishedAt,
    outcome: r.info.outcome,
    snapshot_id: s?.id ?? null,
    bytes: typeof s?.bytes === 'number' ? s.bytes : null,
    kid: s?.key?.kid ?? null,
    thumbprint: s?.key?.thumbprint ?? null,
    summary: r.info.summary,
  };
}

function drillRun(r: EvidenceEntry): DrillRun {
  const p = r.statement.predicate as Pred;
  const d = (p.barysafeDrill ?? {}) as Pred;
  const bin = ((p.configuration ?? []) as Pred[]).find((c) => c?.name === 'barycenter');
  return {
    sequence: r.sequence,
    drill_id: d.drillId ?? null,
    finished_at: r.info.finishedAt,
    snapshot_id: d.snapshotId ?? null,
    verdict: d.verdict ?? r.info.outcome,
    rto_ms: d.rtoMs ?? null,
    rpo_ms: d.rpoMs ?? null,
    rto_target_ms: d.rtoTargetMs ?? null,
    rpo_target_ms: d.rpoTargetMs ?? null,
    rto_met: d.rtoMet ?? null,
    rpo_met: d.rpoMet ?? null,
    barycenter: bin
      ? `${bin.uri ?? ''}${bin.digest?.sha256 ? ` sha256:${String(bin.digest.sha256).slice(0, 16)}` : ''}`
      : null,
    failed_steps: (p.failedTests ?? []) as string[],
  };
}

/** Intervals between successful backups (and from the last one to now) longer than the RPO. */
function findGaps(good: BackupRun[], now: Date, rpo: number): AuditReport['backups']['gaps'] {
  const times = good.map((b) => b.finished_at);
  const out: AuditReport['backups']['gaps'] = [];
  const pairs: Array<[string, string]> = times.slice(1).map((t, i) => [times[i]!, t]);
  if (times.length) pairs.push([times[times.length - 1]!, now.toISOString()]);
  for (const [from, to] of pairs) {
    const ms = Date.parse(to) - Date.parse(from);
    if (ms > rpo) out.push({ from, to, hours: Math.round((ms / 3600_000) * 10) / 10 });
  }
  return out;
}

function perDay(good: BackupRun[], since: Date, now: Date): AuditReport['backups']['per_day'] {
  const days = new Map<string, { count: number; bytes: number }>();
  for (let t = Date.parse(since.toISOString().slice(0, 10)); t <= now.getTime(); t += DAY)
    days.set(new Date(t).toISOString().slice(0, 10), { count: 0, bytes: 0 });
  for (const b of good) {
    const d = days.get(b.finished_at.slice(0, 10));
    if (d) {
      d.count++;
      d.bytes = Math.max(d.bytes, b.bytes ?? 0);
    }
  }
  return [...days.entries()].map(([date, d]) => ({ date, ...d }));
}

function recipientCounts(good: BackupRun[], runs: EvidenceEntry[]): AuditReport['backups']['recipients'] {
  const counts = new Map<string, number>();
  for (const b of good)
    for (const f of (backupPred(b.sequence, runs)?.recipients ?? []) as unknown[])
      if (typeof f === 'string') counts.set(f, (counts.get(f) ?? 0) + 1);
  return [...counts.entries()].map(([fingerprint, snapshots]) => ({ fingerprint, snapshots }));
}

function keyHistory(good: BackupRun[], now: Date): AuditReport['keys'] {
  const snapshots = good.map((b) => ({
    snapshot_id: b.snapshot_id,
    created_at: b.finished_at,
    kid: b.kid,
    thumbprint: b.thumbprint,
  }));
  const rotations: AuditReport['keys']['rotations'] = [];
  let firstSeen = snapshots[0]?.created_at ?? null;
  for (let i = 1; i < snapshots.length; i++) {
    const a = snapshots[i - 1]!;
    const b = snapshots[i]!;
    if (a.thumbprint !== b.thumbprint) {
      rotations.push({ at: b.created_at, snapshot_id: b.snapshot_id, from: a.kid, to: b.kid });
      firstSeen = b.created_at;
    }
  }
  const last = snapshots[snapshots.length - 1];
  return {
    current:
      last && last.thumbprint && firstSeen
        ? {
            kid: last.kid,
            thumbprint: last.thumbprint,
            first_seen: firstSeen,
            age_days: Math.floor((now.getTime() - Date.parse(firstSeen)) / DAY),
          }
        : null,
    rotations,
    snapshots,
  };
}

function controlRows(report: CheckReport): ControlRow[] {
  return report.results.map((r) => ({
    id: r.id,
    section: r.section,
    title: r.title,
    severity: r.severity,
    status: r.status,
    summary: r.summary,
    evidence: r.evidence.map(
      (e) =>
        `${e.source}${e.observed === undefined ? '' : ` → ${typeof e.observed === 'string' ? e.observed : JSON.stringify(e.observed)}`}`,
    ),
    remediation: r.status === 'pass' ? '' : r.remediation,
    waiver: r.waiver ? { reason: r.waiver.reason, expires: r.waiver.expires, expired: r.waiver.expired } : null,
    frameworks: (r.controls ?? {}) as Record<string, string[]>,
  }));
}

function countStatuses(report: CheckReport): Record<CheckStatus, number> {
  const out = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<CheckStatus, number>;
  for (const r of report.results) out[r.status]++;
  return out;
}

export type { SectionStatus };
