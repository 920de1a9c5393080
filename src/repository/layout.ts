import { createHash } from 'node:crypto';

/**
 * Every key name of a repository, in one place (docs/FORMAT.md describes the same tree). Storage
 * backends see only these relative keys; nothing else in barysafe spells a path of its own.
 */

/** `<UTC timestamp>-<6 hex>`: sorts by creation time, unique enough for one writer at a time. */
export const SNAPSHOT_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

export const SNAPSHOTS_PREFIX = 'snapshots/';
export const DRILLS_PREFIX = 'drills/';
export const LOCKS_PREFIX = 'locks/';
export const EVIDENCE_PREFIX = 'evidence/';
/** Stored check reports (the JSON report), one per `barysafe check` run, cited by its evidence record. */
export const CHECKS_PREFIX = 'checks/';
/** Stored audit report models (`barysafe report --store`), cited by the report's evidence record. */
export const REPORTS_PREFIX = 'reports/';
/** Signed results of `barysafe verify`, one per run. */
export const VERIFICATIONS_PREFIX = 'verifications/';
/** Signed records of what `barysafe forget` removed, by whom and why. */
export const TOMBSTONES_PREFIX = 'tombstones/';
export const WRITER_LOCK_KEY = `${LOCKS_PREFIX}writer.json`;
/** The repository's random id (signed), written by the first backup; hosts anchor it locally. */
export const REPOSITORY_ID_KEY = 'repository.json';
/** Where the file:// backend stages an object before it renames it into place. */
export const FILE_TMP_DIR = '.barysafe-tmp';

/** The artifact (kind env) holding the deployment's own BARYCENTER* environment: unit, container or pod. */
export const SERVICE_ENV = 'service.env';

export function snapshotPrefix(id: string): string {
  return `${SNAPSHOTS_PREFIX}${id}/`;
}

export function manifestKey(id: string): string {
  return `${snapshotPrefix(id)}manifest.json`;
}

/** The snapshot id a manifest key names, or undefined for any other key. */
export function snapshotIdOfManifestKey(key: string): string | undefined {
  const m = /^snapshots\/([^/]+)\/manifest\.json$/.exec(key);
  return m && SNAPSHOT_ID.test(m[1]!) ? m[1] : undefined;
}

export function drillRecordKey(id: string): string {
  return `${DRILLS_PREFIX}${id}.json`;
}

export function verifyRecordKey(id: string): string {
  return `${VERIFICATIONS_PREFIX}${id}.json`;
}

export function tombstoneKey(id: string): string {
  return `${TOMBSTONES_PREFIX}${id}.json`;
}

/** The snapshot id a key under snapshots/ belongs to (manifest or artifact), or undefined. */
export function snapshotIdOfKey(key: string): string | undefined {
  const m = /^snapshots\/([^/]+)\//.exec(key);
  return m && SNAPSHOT_ID.test(m[1]!) ? m[1] : undefined;
}

export function checkReportKey(id: string): string {
  return `${CHECKS_PREFIX}${id}.json`;
}

export function reportKey(id: string): string {
  return `${REPORTS_PREFIX}${id}.json`;
}

// Evidence records are numbered with twelve digits so that lexical order (what every backend
// lists in) is chain order.
const EVIDENCE_RECORD = /^evidence\/(\d{12})\.intoto\.jsonl$/;
const EVIDENCE_REVIEW = /^evidence\/(\d{12})\.review-([0-9a-f]{16})\.intoto\.jsonl$/;

export function evidenceKey(sequence: number): string {
  return `${EVIDENCE_PREFIX}${String(sequence).padStart(12, '0')}.intoto.jsonl`;
}

export function parseEvidenceKey(key: string): number | null {
  const m = EVIDENCE_RECORD.exec(key);
  return m ? Number(m[1]) : null;
}

/** A countersigned copy of record `sequence`, one per reviewer key (named by a hash of its key id). */
export function reviewKey(sequence: number, keyId: string): string {
  const tag = createHash('sha256').update(keyId).digest('hex').slice(0, 16);
  return `${EVIDENCE_PREFIX}${String(sequence).padStart(12, '0')}.review-${tag}.intoto.jsonl`;
}

export function parseReviewKey(key: string): number | null {
  const m = EVIDENCE_REVIEW.exec(key);
  return m ? Number(m[1]) : null;
}
