import { BarysafeError, ExitCode, errorText } from '../errors.js';
import type { GoodSnapshot, Repository } from '../repository/repository.js';
import { artifactProblems } from '../repository/manifest.js';
import type { AnchorStore } from '../repository/anchor.js';
import { advanceAnchor, compareWithAnchor, newestVerified, readAnchor } from '../repository/chain.js';

export interface OpenOptions {
  /** This host's anchors: a repository that no longer reaches its anchor is refused (rolled back). */
  anchors?: AnchorStore;
  /** Proceed anyway when the repository was rolled back (the finding becomes a warning). */
  allowRollback?: boolean;
  /** `ref` meant "latest" (also when the caller already resolved it to an id). */
  latest?: boolean;
  /** Without an anchor, "latest" older than this is warned about (a rollback this host cannot see). */
  rpoMs?: number;
  now?: Date;
}

export interface OpenedSnapshot {
  entry: GoodSnapshot;
  chain: { ok: boolean; detail: string };
  warnings: string[];
}

/**
 * Resolves and verifies a snapshot before anything is fetched: a manifest whose signature fails is
 * refused (age has no sender authentication, so an unsigned manifest could install a forged key).
 * "latest" is the newest snapshot whose manifest verifies: junk and future-dated manifests are
 * passed over with a warning instead of blocking every restore. With `anchors`, a repository that
 * was rolled back below what this host has seen is an INTEGRITY error for "latest" unless
 * `allowRollback`: "latest" is what an attacker who removed the newest snapshots would steer. A
 * snapshot named by its id was chosen by the operator; for it the rollback is a warning.
 */
export async function openSnapshot(repo: Repository, ref: string, o: OpenOptions = {}): Promise<OpenedSnapshot> {
  if (!repo.verifier) {
    throw new BarysafeError('signature', 'no key to verify snapshot manifests', {
      exitCode: ExitCode.USAGE,
      hint: 'set encryption.verify_key (the signing.pub.pem `barysafe init` wrote) or encryption.signing_key_file in barysafe.toml',
    });
  }
  const now = o.now ?? new Date();
  const warnings: string[] = [];
  // Before the listing: a backup committed meanwhile is then newer than the anchor, not a rollback.
  const anchored = o.anchors ? await readAnchor(repo, o.anchors) : undefined;
  const newest = await newestVerified(repo, now);
  const latest = ref === 'latest' || o.latest === true;
  let id: string;
  if (ref === 'latest') {
    if (!newest.entry) {
      await repo.resolve('latest'); // "holds no snapshot" when there is none at all
      throw new BarysafeError('snapshot', `no snapshot in ${repo.storage.displayUrl} has a manifest that verifies`, {
        exitCode: ExitCode.INTEGRITY,
        hint: `${newest.skipped.join('; ')}`,
      });
    }
    id = newest.entry.id;
  } else id = await repo.resolve(ref);
  if (latest) warnings.push(...newest.skipped);
  const entry = id === newest.entry?.id ? newest.entry : await repo.readManifest(id, { requireSignature: true });
  // The repository's state first: a replaced manifest is reported as what it is, a rollback.
  if (o.anchors && anchored) {
    const check = await compareWithAnchor(repo, anchored, newest.entry);
    if (check.problems.length) {
      if (latest && !o.allowRollback) {
        throw new BarysafeError(
          'rollback',
          `the repository ${repo.storage.displayUrl} was rolled back: ${check.problems.join('; ')}`,
          {
            exitCode: ExitCode.INTEGRITY,
            hint: 'someone who can write the repository removed or replaced snapshots; investigate before trusting it, or pass --allow-rollback to go on anyway',
          },
        );
      }
      warnings.push(...check.problems.map((p) => `rollback${latest ? ' (allowed)' : ''}: ${p}`));
    } else {
      if (!check.anchor && latest && o.rpoMs !== undefined) {
        const age = now.getTime() - Date.parse(entry.manifest.created_at);
        if (age > o.rpoMs)
          warnings.push(
            `this host has no anchor for ${repo.storage.displayUrl}, so it cannot tell whether newer snapshots were removed; the newest verified snapshot ${entry.id} is ${Math.round(age / 3_600_000)} h old, older than the RPO target`,
          );
      }
      // What this host has now seen verified becomes its anchor (never moved backwards).
      if (check.repositoryId && newest.entry)
        await advanceAnchor(o.anchors, check.repositoryId, repo.storage.displayUrl, newest.entry).catch((e: unknown) =>
          warnings.push(`this host's anchor was not updated: ${errorText(e)}`),
        );
    }
  }
  // Signed, but a restore still never follows a name out of its target (a signer bug, a stolen key).
  const problems = artifactProblems(entry.manifest);
  if (problems.length) {
    throw new BarysafeError('manifest', `manifest of snapshot ${id} lists unsafe artifacts: ${problems.join('; ')}`, {
      exitCode: ExitCode.INTEGRITY,
      hint: 'do not restore from it; investigate who holds the signing key',
    });
  }
  const chain = await repo.chainLink(entry);
  return { entry, chain, warnings };
}
