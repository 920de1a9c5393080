import { createHash } from 'node:crypto';

/**
 * Key names of the evidence chain and the documents it cites. Records are numbered with twelve
 * digits so that lexical order (what every backend lists in) is chain order.
 */
export const EVIDENCE_PREFIX = 'evidence/';
export const CHECK_REPORT_PREFIX = 'checks/';

const RECORD = /^evidence\/(\d{12})\.intoto\.jsonl$/;
const REVIEW = /^evidence\/(\d{12})\.review-([0-9a-f]{16})\.intoto\.jsonl$/;

export function evidenceKey(sequence: number): string {
  return `${EVIDENCE_PREFIX}${String(sequence).padStart(12, '0')}.intoto.jsonl`;
}

export function parseEvidenceKey(key: string): number | null {
  const m = RECORD.exec(key);
  return m ? Number(m[1]) : null;
}

/** A countersigned copy of record `sequence`, one per reviewer key (named by a hash of its key id). */
export function reviewKey(sequence: number, keyId: string): string {
  const tag = createHash('sha256').update(keyId).digest('hex').slice(0, 16);
  return `${EVIDENCE_PREFIX}${String(sequence).padStart(12, '0')}.review-${tag}.intoto.jsonl`;
}

export function parseReviewKey(key: string): number | null {
  const m = REVIEW.exec(key);
  return m ? Number(m[1]) : null;
}

/** Stored check reports (the JSON report format), one per `barysafe check` run. */
export function checkReportKey(id: string): string {
  return `${CHECK_REPORT_PREFIX}${id}.json`;
}
