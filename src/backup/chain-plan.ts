import type { Logger } from '../log.js';
import type { Signer } from '../crypto/signing.js';
import { AnchorStore } from '../repository/anchor.js';
import {
  advanceAnchor,
  compareWithAnchor,
  ensureRepositoryId,
  newestVerified,
  nextSnapshotId,
  readAnchor,
} from '../repository/chain.js';
import type { GoodSnapshot, Repository } from '../repository/repository.js';

export interface ChainPlan {
  id: string;
  previous: { id: string; sha256: string } | null;
  sequence: number;
  repositoryId: string;
  /** IGNORED: … (junk or future-dated manifests passed over), ROLLBACK: … (the anchor is not reached). */
  warnings: string[];
  /** Records the saved snapshot as this host's anchor (best effort: a warning when it cannot). */
  anchor(saved: GoodSnapshot): Promise<void>;
}

/**
 * Where a new snapshot goes in the chain. It chains to the newest manifest that verifies (junk
 * and ids dated in the future are reported and ignored, so they can neither freeze the backup nor
 * poison the chain). When the repository no longer reaches this host's anchor (rolled back, its
 * id changed or removed), the backup still saves — chained to the anchor, so the gap stays visible
 * — and says ROLLBACK in its warnings (the command then exits 3).
 */
export async function planChain(
  repo: Repository,
  store: AnchorStore,
  signer: Signer,
  now: Date,
  log: Logger,
): Promise<ChainPlan> {
  const anchored = await readAnchor(repo, store); // before the listing, as compareWithAnchor needs
  const { entry: newest, skipped } = await newestVerified(repo, now);
  const warnings = skipped.map((s) => `IGNORED: ${s}`);
  for (const w of warnings) log.warn(w);
  const check = await compareWithAnchor(repo, anchored, newest);
  const repositoryId = check.repositoryId ?? (await ensureRepositoryId(repo, signer, check.anchor?.repository_id));
  let previous = newest ? { id: newest.id, sha256: newest.sha256 } : null;
  let sequence = (newest?.manifest.sequence ?? 0) + 1;
  if (check.problems.length) {
    for (const p of check.problems) {
      warnings.push(`ROLLBACK: ${p}`);
      log.warn(`ROLLBACK: ${p}`);
    }
    if (check.anchor) {
      const a = check.anchor.snapshot;
      if (!newest || a.id > newest.id) previous = { id: a.id, sha256: a.sha256 };
      sequence = Math.max(sequence, (a.sequence ?? 0) + 1);
    }
  }
  const after = [previous?.id, newest?.id, check.anchor?.snapshot.id]
    .filter((x): x is string => !!x)
    .sort()
    .pop();
  return {
    id: nextSnapshotId(after, now),
    previous,
    sequence,
    repositoryId,
    warnings,
    anchor: async (saved) => {
      try {
        await advanceAnchor(store, repositoryId, repo.storage.displayUrl, saved);
      } catch (e) {
        log.warn(`the snapshot is saved, but this host's anchor was not updated: ${(e as Error).message}`);
      }
    },
  };
}
