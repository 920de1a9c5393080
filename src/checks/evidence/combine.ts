import type { CheckOutcome, Evidence } from '../types.js';

/** The outcome of a check whose one source could not be read: `error`, with the source tried as evidence. */
export function unreadable(failed: { reason: string; source?: string }): CheckOutcome {
  return { status: 'error', summary: failed.reason, evidence: failed.source ? [{ source: failed.source }] : [] };
}

/**
 * A host check usually has several sources (live process, unit file, env file, docker inspect,
 * manifests). Each gives a finding; the outcome is the worst finding, and a check with no
 * readable source is an error carrying every reason, never a pass.
 */
export interface Finding {
  status: 'pass' | 'fail' | 'warn' | 'manual';
  summary: string;
  evidence: Evidence[];
}

const RANK: Record<Finding['status'], number> = { pass: 0, manual: 1, warn: 2, fail: 3 };

export class Findings {
  readonly findings: Finding[] = [];
  readonly unavailable: string[] = [];

  add(status: Finding['status'], summary: string, ...evidence: Evidence[]): void {
    this.findings.push({ status, summary, evidence });
  }
  missing(reason: string): void {
    this.unavailable.push(reason);
  }

  outcome(whenNone: 'error' | 'skip' = 'error'): CheckOutcome {
    const unavailableEvidence = this.unavailable.map((r) => ({ source: 'unavailable source', note: r }));
    if (this.findings.length === 0) {
      return {
        status: whenNone,
        summary: this.unavailable.join('; ') || 'no evidence source available',
        evidence: unavailableEvidence,
      };
    }
    const worst = this.findings.reduce((a, b) => (RANK[b.status] > RANK[a.status] ? b : a)).status;
    const summaries = this.findings.filter((f) => f.status === worst).map((f) => f.summary);
    return {
      status: worst,
      summary: [...new Set(summaries)].join('; '),
      evidence: [...this.findings.flatMap((f) => f.evidence), ...unavailableEvidence],
    };
  }
}
