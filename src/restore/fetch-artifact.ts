import { createHash } from 'node:crypto';
import { closeSync, constants, createReadStream, createWriteStream, fchmodSync, openSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import { decryptStream } from '../crypto/age.js';
import type { ArtifactRecord } from '../repository/manifest.js';
import { repoError, type Repository } from '../repository/repository.js';
import { StorageNotFoundError } from '../repository/storage.js';
import { exclusiveWriteStream, siblingTempName } from '../platform/safe-fs.js';

/**
 * Ciphertext that was hashed, held by the descriptor it was written through: what is decrypted
 * is read back from that same descriptor, never re-opened by path (a path can be swapped after
 * the hash was checked).
 */
export interface VerifiedCiphertext {
  ciphertextPath: string;
  fd: number;
}

/**
 * Downloads an artifact's ciphertext into the private temp dir and checks its size and SHA-256
 * against the signed manifest before anything is decrypted. Ciphertext on local disk is as safe
 * as in the repository, and checking first means a swapped object never reaches pg_restore. The
 * download stops as soon as it is larger than the manifest says (the bucket does not decide how
 * much barysafe writes).
 */
export async function fetchVerified(
  repo: Repository,
  artifact: ArtifactRecord,
  tempDir: string,
  onProgress?: (bytes: number) => void,
): Promise<VerifiedCiphertext> {
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
  let fd: number;
  try {
    // Created by us (O_EXCL|O_NOFOLLOW, fchmod 0600) and kept open read-write for the decryption.
    fd = openSync(ciphertextPath, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    fchmodSync(fd, 0o600);
  } catch (e) {
    body.destroy();
    throw new BarysafeError('restore', `cannot create ${ciphertextPath}: ${errorText(e)}`, { cause: e });
  }
  const tooBig = () =>
    new BarysafeError(
      'integrity',
      `object ${artifact.object} (${artifact.name}) is corrupt: larger than the ${artifact.size} bytes the manifest says; download stopped`,
      { exitCode: ExitCode.INTEGRITY, hint: 'the object was replaced after upload; restore another snapshot' },
    );
  const sink = createWriteStream('', { fd, autoClose: false });
  try {
    await pipeline(
      body,
      async function* (src: AsyncIterable<Buffer>) {
        for await (const chunk of src) {
          size += chunk.length;
          if (size > artifact.size) throw tooBig();
          hash.update(chunk);
          onProgress?.(size);
          yield chunk;
        }
      },
      sink,
    );
  } catch (e) {
    // Destroying an fs stream closes its fd even with autoClose:false (then sink.fd is null).
    if ((sink as unknown as { fd: number | null }).fd !== null) closeSync(fd);
    await rm(ciphertextPath, { force: true });
    if (e instanceof BarysafeError) throw e;
    throw repoError(repo.storage, e);
  }
  const sha256 = hash.digest('hex');
  if (size !== artifact.size || sha256 !== artifact.sha256) {
    closeSync(fd);
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
  return { ciphertextPath, fd };
}

const { O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;

/** Decrypts verified ciphertext from its own descriptor (closed when the stream ends or fails). */
export async function decryptToStream(
  source: VerifiedCiphertext | string,
  identities: readonly string[],
): Promise<Readable> {
  const input =
    typeof source === 'string'
      ? createReadStream(source)
      : createReadStream('', { fd: source.fd, start: 0, autoClose: true });
  try {
    return await decryptStream(identities, input);
  } catch (e) {
    input.destroy();
    throw e;
  }
}

/** Decrypts into a sibling temp file and renames it into place, so a failure leaves no partial file. */
export async function decryptToFile(
  source: VerifiedCiphertext | string,
  identities: readonly string[],
  dest: string,
  mode: number,
): Promise<void> {
  const tmp = siblingTempName(dest);
  try {
    const plain = await decryptToStream(source, identities);
    // O_EXCL|O_NOFOLLOW and fchmod: nothing planted at tmp is written through or re-moded.
    await pipeline(plain, await exclusiveWriteStream(tmp, mode));
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
export async function decryptToBuffer(
  source: VerifiedCiphertext | string,
  identities: readonly string[],
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await decryptToStream(source, identities)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
