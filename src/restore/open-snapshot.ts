import { BarysafeError, ExitCode } from '../errors.js';
import type { GoodSnapshot, Repository } from '../repository/repository.js';

/**
 * Resolves and verifies a snapshot before anything is fetched: a manifest whose signature fails is
 * refused (age has no sender authentication, so an unsigned manifest could install a forged key).
 */
export async function openSnapshot(
  repo: Repository,
  ref: string,
): Promise<{ entry: GoodSnapshot; chain: { ok: boolean; detail: string } }> {
  if (!repo.verifier) {
    throw new BarysafeError('signature', 'no key to verify snapshot manifests', {
      exitCode: ExitCode.USAGE,
      hint: 'set encryption.verify_key (the signing.pub.pem `barysafe init` wrote) or encryption.signing_key_file in barysafe.toml',
    });
  }
  const id = await repo.resolve(ref);
  const entry = await repo.readManifest(id, { requireSignature: true });
  const chain = await repo.chainLink(entry);
  return { entry, chain };
}
