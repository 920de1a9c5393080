import type { CheckStatus } from '../../checks/types.js';

/**
 * The auditor's report (docs/REPORT.md; JSON schema docs/schemas/audit-report.v1.json). Every
 * number is derived from the evidence chain and the documents it cites, for a period ending at
 * `generated_at`; the renderers (html, markdown, json) only present it.
 */
export const AUDIT_REPORT_FORMAT = 'barysafe.audit-report/v1';

export type SectionStatus = 'pass' | 'warn' | 'fail' | 'none';

export interface Cited {
  name: string;
  digest: { sha256: string };
}

export interface ControlRow {
  id: string;
  section: string;
  title: string;
  severity: string;
  status: CheckStatus;
  summary: string;
  evidence: string[];
  remediation: string;
  waiver: { reason: string; expires: string; expired: boolean } | null;
  frameworks: Record<string, string[]>;
}

export interface BackupRun {
  sequence: number;
  finished_at: string;
  outcome: string;
  snapshot_id: string | null;
  bytes: number | null;
  kid: string | null;
  thumbprint: string | null;
  summary: string;
}

export interface DrillRun {
  sequence: number;
  drill_id: string | null;
  finished_at: string;
  snapshot_id: string | null;
  verdict: string;
  rto_ms: number | null;
  rpo_ms: number | null;
  rto_target_ms: number | null;
  rpo_target_ms: number | null;
  rto_met: boolean | null;
  rpo_met: boolean | null;
  barycenter: string | null;
  failed_steps: string[];
}

export interface AuditReport {
  format: typeof AUDIT_REPORT_FORMAT;
  id: string;
  generated_at: string;
  period: { since: string; until: string; days: number };
  tool: { name: 'barysafe'; version: string };
  environment: {
    host: string;
    deployment: string | null;
    issuer: string | null;
    repository: string;
    /** SHA-256 of Barycenter's effective settings with every secret value replaced; null when unreadable. */
    config_digest: string | null;
    signing_key: string;
  };
  summary: {
    status: Exclude<SectionStatus, 'none'>;
    sections: Array<{ name: string; status: SectionStatus; detail: string }>;
    checks: Record<CheckStatus, number> | null;
    open_fails: string[];
  };
  controls: { report: Cited | null; generated_at: string | null; rows: ControlRow[] };
  backups: {
    rpo_target_ms: number;
    succeeded: number;
    failed: number;
    bytes_last: number | null;
    per_day: Array<{ date: string; count: number; bytes: number }>;
    gaps: Array<{ from: string; to: string; hours: number }>;
    recipients: Array<{ fingerprint: string; snapshots: number }>;
    runs: BackupRun[];
  };
  verification: {
    snapshots: number;
    drilled: number;
    verified: number;
    coverage_ratio: number | null;
    runs: Array<{ sequence: number; finished_at: string; outcome: string; summary: string }>;
  };
  drills: {
    count: number;
    passed: number;
    failed: number;
    last_pass: string | null;
    rto_target_ms: number | null;
    rpo_target_ms: number | null;
    runs: DrillRun[];
  };
  keys: {
    current: { kid: string | null; thumbprint: string; first_seen: string; age_days: number } | null;
    rotations: Array<{ at: string; snapshot_id: string | null; from: string | null; to: string | null }>;
    snapshots: Array<{ snapshot_id: string | null; created_at: string; kid: string | null; thumbprint: string | null }>;
  };
  evidence: {
    ok: boolean;
    records: number;
    head: { sequence: number; key: string; sha256: string } | null;
    runs_in_period: number;
    by_run: Record<string, { pass: number; fail: number; inconclusive: number; error: number }>;
    problems: Array<{ key: string; problem: string }>;
    notes: string[];
  };
  /** Every evidence record and document this report relies on, by digest (verify-report checks them). */
  cites: Cited[];
}

const RANK: Record<SectionStatus, number> = { none: 0, pass: 1, warn: 2, fail: 3 };

export function worstStatus(list: SectionStatus[]): Exclude<SectionStatus, 'none'> {
  const w = list.reduce<SectionStatus>((a, b) => (RANK[b] > RANK[a] ? b : a), 'pass');
  return w === 'none' ? 'pass' : w;
}
