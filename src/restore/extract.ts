import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { BarysafeError, ExitCode } from '../errors.js';
import { loadIdentities } from '../crypto/age.js';
import type { ArtifactRecord } from '../repository/manifest.js';
import type { Repository } from '../repository/repository.js';
import { decryptToFile, fetchVerified } from './fetch-artifact.js';

/**
 * fetch -> verify -> decrypt -> place, for every artifact of a snapshot: the one path by which
 * plaintext comes out of a repository, shared by restore and the drill. Each ciphertext is checked
 * against the signed manifest before it is decrypted, and removed as soon as it was.
 */

/** Modes restored files get: secrets 0600, the config 0640 (root:barycenter in production). */
export const RESTORED_MODES: Record<ArtifactRecord['kind'], number> = {
  key: 0o600,
  jwks: 0o600,
  database: 0o600,
  config: 0o640,
  env: 0o600,
  extra: 0o600,
};

export interface Placement {
  dest: string;
  mode: number;
}

export interface ExtractedArtifact extends Placement {
  artifact: ArtifactRecord;
}

/** The age identities to decrypt with: --identity, else encryption.identity_file. */
export async function identitiesFor(identityFile: string | undefined): Promise<string[]> {
  if (!identityFile) {
    throw new BarysafeError('identity', 'no age identity to decrypt the snapshot with', {
      exitCode: ExitCode.IDENTITY,
      hint: 'pass --identity FILE or set encryption.identity_file',
    });
  }
  return loadIdentities(identityFile);
}

export async function extractArtifacts(
  repo: Repository,
  artifacts: readonly ArtifactRecord[],
  o: {
    identities: readonly string[];
    /** A private (0700) directory for the ciphertext while it is checked. */
    tempDir: string;
    place: (a: ArtifactRecord) => Placement;
    onProgress?: (a: ArtifactRecord, bytes: number) => void;
    onPlaced?: (x: ExtractedArtifact) => void | Promise<void>;
  },
): Promise<ExtractedArtifact[]> {
  const out: ExtractedArtifact[] = [];
  for (const a of artifacts) {
    const { dest, mode } = o.place(a);
    const fetched = await fetchVerified(repo, a, o.tempDir, (n) => o.onProgress?.(a, n));
    try {
      await mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
      // From the descriptor the ciphertext was hashed through, not re-opened by path.
      await decryptToFile(fetched, o.identities, dest, mode);
    } finally {
      await rm(fetched.ciphertextPath, { force: true });
    }
    const x = { artifact: a, dest, mode };
    out.push(x);
    await o.onPlaced?.(x);
  }
  return out;
}
