import * as z from 'zod';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import type { Signer } from '../crypto/signing.js';
import { REPOSITORY_ID_KEY, manifestKey } from './layout.js';
import { newSnapshotId } from './manifest.js';
import type { GoodSnapshot, Repository } from './repository.js';
import { parseAndVerify, signDocument } from './signed-document.js';
import { StorageExistsError } from './storage.js';
import { AnchorStore, newRepositoryId, type Anchor } from './anchor.js';

/**
 * The chain as something that can be frozen, poisoned or rolled back only visibly:
 *
 * - Only manifests that verify count: the newest snapshot, what a backup chains to, what is
 *   compared with the anchor. Junk (a manifest that does not verify) is reported and skipped.
 * - Ids dated more than a small skew in the future are reported and ignored (one forged
 *   `99999999T999999Z-…` manifest froze every later backup), and the next id is computed in one
 *   step from the clock and the previous verified id.
 * - The repository carries a random id (signed), and each manifest a signed, monotonic
 *   `sequence`, which the host's anchor (anchor.ts) remembers.
 */

/** How far in the future a snapshot id may be (clock skew between hosts) before it is ignored. */
export const FUTURE_SKEW_MS = 10 * 60_000;

/** The creation time a snapshot id spells (ms since the epoch), NaN for a malformed one. */
export function idTime(id: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-/.exec(id);
  if (!m) return NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

/** The next snapshot id in one step: now, or one second after the previous verified id if that is later. */
export function nextSnapshotId(previousId: string | undefined, now: Date): string {
  const prev = previousId ? idTime(previousId) : NaN;
  const t = Number.isFinite(prev) ? Math.max(now.getTime(), prev + 1000) : now.getTime();
  return newSnapshotId(new Date(t));
}

export interface NewestVerified {
  entry?: GoodSnapshot;
  /** Newer snapshots that were passed over, and why (for warnings). */
  skipped: string[];
}

/** The newest snapshot whose manifest verifies, newest first, ignoring ids beyond FUTURE_SKEW_MS. */
export async function newestVerified(repo: Repository, now = new Date()): Promise<NewestVerified> {
  const skipped: string[] = [];
  const ids = await repo.snapshotIds();
  for (const id of [...ids].reverse()) {
    if (idTime(id) > now.getTime() + FUTURE_SKEW_MS) {
      skipped.push(`snapshot ${id} is dated in the future; ignored`);
      continue;
    }
    try {
      return { entry: await repo.readManifest(id, { requireSignature: !!repo.verifier }), skipped };
    } catch (e) {
      if (!(e instanceof BarysafeError) || e.exitCode !== ExitCode.INTEGRITY) throw e;
      skipped.push(`snapshot ${id} does not verify (${e.message}); ignored`);
    }
  }
  return { skipped };
}

const repositoryIdSchema = z.object({
  format: z.literal('barysafe.repository/v1'),
  id: z.string().regex(/^[0-9a-f]{32}$/),
  created_at: z.string(),
});

/**
 * The repository's id: null when it has none (made before ids existed, or removed). One that is
 * present but does not verify is an INTEGRITY error.
 */
export async function readRepositoryId(repo: Repository): Promise<string | null> {
  if (!(await repo.storage.head(REPOSITORY_ID_KEY).catch(() => null))) return null;
  const bytes = await repo.readSmall(REPOSITORY_ID_KEY, 'the repository id');
  if (!repo.verifier) return null;
  return parseAndVerify(bytes, repo.verifier, 'the repository id (repository.json)', repositoryIdSchema).id;
}

/**
 * Writes the repository id if there is none: `id` (the one this host's anchor knows, when the
 * id vanished) or a new random one. Returns the id now in the repository.
 */
export async function ensureRepositoryId(repo: Repository, signer: Signer, id = newRepositoryId()): Promise<string> {
  const doc = signDocument(
    { format: 'barysafe.repository/v1' as const, id, created_at: new Date().toISOString() },
    signer,
  );
  try {
    await repo.putDocument(REPOSITORY_ID_KEY, doc);
    return id;
  } catch (e) {
    if (!(e instanceof StorageExistsError)) throw e;
    return (await readRepositoryId(repo)) ?? id; // another writer was first
  }
}

export interface AnchorCheck {
  /** The anchor this repository is compared with (by id, else by URL), if the host has one. */
  anchor?: Anchor;
  repositoryId: string | null;
  /** What shows a rollback, in words; empty when none. */
  problems: string[];
}

/** This host's anchors for a repository, read before the repository is listed (see compareWithAnchor). */
export interface AnchorRead {
  repositoryId: string | null;
  byId?: Anchor;
  byUrl?: Anchor;
  problems: string[];
}

/**
 * Reads what this host has anchored for `repo`. Call it before listing the repository for the
 * newest snapshot: a backup on this host moves the anchor only after its manifest is in the
 * repository, so an anchor read first is never newer than what a later listing finds, while one
 * read after the listing may already name a snapshot committed in between (a false rollback).
 */
export async function readAnchor(repo: Repository, store: AnchorStore): Promise<AnchorRead> {
  const problems: string[] = [];
  let repositoryId: string | null;
  try {
    repositoryId = await readRepositoryId(repo);
  } catch (e) {
    repositoryId = null;
    problems.push(`the repository id does not verify (${errorText(e)})`);
  }
  const byId = repositoryId ? await store.forRepository(repositoryId) : undefined;
  const byUrl = await store.forUrl(repo.storage.displayUrl);
  return { repositoryId, problems, ...(byId ? { byId } : {}), ...(byUrl ? { byUrl } : {}) };
}

/**
 * Compares the repository with the host's anchor (read by readAnchor before `newest` was found):
 * the repository id must be the one anchored for this URL, the anchored snapshot must still be
 * there unchanged, and the newest verified snapshot must not be older than it.
 */
export async function compareWithAnchor(
  repo: Repository,
  read: AnchorRead,
  newest: GoodSnapshot | undefined,
): Promise<AnchorCheck> {
  const url = repo.storage.displayUrl;
  const { repositoryId, byId, byUrl } = read;
  const problems = [...read.problems];
  if (byUrl && !repositoryId && !problems.length)
    problems.push(`the repository id vanished: this host knew ${url} as repository ${byUrl.repository_id}`);
  if (byUrl && repositoryId && byUrl.repository_id !== repositoryId)
    problems.push(
      `the repository id changed: this host knew ${url} as ${byUrl.repository_id}, it is now ${repositoryId}`,
    );
  const anchor = byId ?? byUrl;
  if (!anchor) return { repositoryId, problems };
  const a = anchor.snapshot;
  try {
    // The newest snapshot was read and verified a moment ago: most often it is the anchored one.
    const entry = newest?.id === a.id ? newest : await repo.readManifest(a.id, { requireSignature: !!repo.verifier });
    if (entry.sha256 !== a.sha256)
      problems.push(
        `the anchored snapshot ${a.id} changed (manifest sha256 ${entry.sha256.slice(0, 16)}…, anchored ${a.sha256.slice(0, 16)}…)`,
      );
  } catch (e) {
    if (!(e instanceof BarysafeError) || e.exitCode !== ExitCode.INTEGRITY) throw e;
    // Removed by `forget` (a signed tombstone names exactly these bytes): a prune, not a rollback,
    // as long as a newer snapshot still verifies (the comparison below).
    const pruned = (await repo.storage.head(manifestKey(a.id)).catch(() => undefined)) === null;
    if (!pruned || !(await repo.tombstoned(a.id, a.sha256)))
      problems.push(`the anchored snapshot ${a.id} (seen ${anchor.updated_at}) is gone or no longer verifies`);
  }
  if (!newest) problems.push(`no snapshot verifies any more; this host last saw ${a.id}`);
  else {
    const seq = newest.manifest.sequence;
    const older = newest.id < a.id || (typeof seq === 'number' && a.sequence !== null && seq < a.sequence);
    if (older)
      problems.push(
        `the newest verified snapshot ${newest.id}${typeof seq === 'number' ? ` (sequence ${seq})` : ''} is older than ${a.id}${a.sequence !== null ? ` (sequence ${a.sequence})` : ''}, which this host saw at ${anchor.updated_at}`,
      );
  }
  return { anchor, repositoryId, problems };
}

/** Moves the anchor forward to `entry` when it is newer than what is anchored (never backwards). */
export async function advanceAnchor(
  store: AnchorStore,
  repositoryId: string,
  url: string,
  entry: GoodSnapshot,
): Promise<void> {
  const current = await store.forRepository(repositoryId);
  const seq = typeof entry.manifest.sequence === 'number' ? entry.manifest.sequence : null;
  if (current && current.snapshot.id >= entry.id) return;
  await store.save({
    repository_id: repositoryId,
    repository_url: url,
    snapshot: { id: entry.id, sha256: entry.sha256, sequence: seq },
  });
}
