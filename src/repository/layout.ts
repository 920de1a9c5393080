/**
 * Every key name of a repository, in one place (docs/FORMAT.md describes the same tree). Storage
 * backends see only these relative keys; nothing else in barysafe spells a path of its own.
 */

/** `<UTC timestamp>-<6 hex>`: sorts by creation time, unique enough for one writer at a time. */
export const SNAPSHOT_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

export const SNAPSHOTS_PREFIX = 'snapshots/';
export const DRILLS_PREFIX = 'drills/';
export const LOCKS_PREFIX = 'locks/';
export const WRITER_LOCK_KEY = `${LOCKS_PREFIX}writer.json`;
/** Where the file:// backend stages an object before it renames it into place. */
export const FILE_TMP_DIR = '.barysafe-tmp';

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
