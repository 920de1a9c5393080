import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import { decryptStream } from '../crypto/age.js';
import type { ArtifactRecord } from '../repository/manifest.js';
import { repoError, type Repository } from '../repository/repository.js';
import { StorageNotFoundError } from '../repository/storage.js';

/**
 * Downloads an artifact's ciphertext into the private temp dir and checks its size and SHA-256
 * against the signed manifest before anything is decrypted. Ciphertext on local disk is as safe
 * as in the repository, and checking first means a swapped object never reaches pg_restore.
 */
export async function fetchVerified(
  repo: Repository,
  artifact: ArtifactRecord,
  tempDir: string,
  onProgress?: (bytes: number) => void,
): Promise<{ ciphertextPath: string }> {
  const ciphertextPath = path.join(tempDir, `${artifact.name.replace(/[^A-Za-z0-9._-]/g, '_')}.age`);
  let body: Readable;
  try {
    body = await repo.storage.get(artifact.object);
  } catch (e) {
    if (e instanceof StorageNotFoundError) {
      throw new BarysafeError(
        'missing',
        `object ${artifact.object} (${artifact.name}) is missing from the repository`,
        { exitCode: ExitCode.INTEGRITY, hint: 'the snapshot is damaged; restore another one' },
      );
    }
    throw repoError(repo.storage, e);
  }
  const hash = createHash('sha256');
  let size = 0;
  try {
    await pipeline(
      body,
      async function* (src: AsyncIterable<Buffer>) {
        for await (const chunk of src) {
          hash.update(chunk);
          size += chunk.length;
          onProgress?.(size);
          yield chunk;
        }
      },
      createWriteStream(ciphertextPath, { mode: 0o600 }),
    );
  } catch (e) {
    await rm(ciphertextPath, { force: true });
    throw repoError(repo.storage, e);
  }
  const sha256 = hash.digest('hex');
  if (size !== artifact.size || sha256 !== artifact.sha256) {
    await rm(ciphertextPath, { force: true });
    throw new BarysafeError(
      'integrity',
      `object ${artifact.object} (${artifact.name}) is corrupt: ${size !== artifact.size ? `${size} bytes, manifest says ${artifact.size}` : `sha256 ${sha256.slice(0, 16)}… ≠ ${artifact.sha256.slice(0, 16)}… in the manifest`}`,
      {
        exitCode: ExitCode.INTEGRITY,
        hint: 'the object was altered or truncated after upload; restore another snapshot',
      },
    );
  }
  return { ciphertextPath };
}

export async function decryptToStream(ciphertextPath: string, identities: readonly string[]): Promise<Readable> {
  return decryptStream(identities, createReadStream(ciphertextPath));
}

/** Decrypts into a sibling temp file and renames it into place, so a failure leaves no partial file. */
export async function decryptToFile(
  ciphertextPath: string,
  identities: readonly string[],
  dest: string,
  mode: number,
): Promise<void> {
  const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.barysafe-${process.pid}.tmp`);
  try {
    const plain = await decryptToStream(ciphertextPath, identities);
    await pipeline(plain, createWriteStream(tmp, { mode, flags: 'wx', flush: true }));
    await chmod(tmp, mode); // the umask may have narrowed or the file pre-existed
    await rename(tmp, dest);
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof BarysafeError) throw e;
    throw new BarysafeError('restore', `cannot write ${dest}: ${errorText(e)}`, {
      exitCode: ExitCode.FAILURE,
      cause: e,
    });
  }
}

/** Reads a small decrypted artifact (key, jwks, config) into memory. */
export async function decryptToBuffer(ciphertextPath: string, identities: readonly string[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await decryptToStream(ciphertextPath, identities)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
