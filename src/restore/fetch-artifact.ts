import { createHash } from 'node:crypto';
import { closeSync, constants, createReadStream, createWriteStream, fchmodSync, openSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import { STREAM_BUFFER, decryptStream } from '../crypto/age.js';
import type { ArtifactRecord } from '../repository/manifest.js';
import { repoError, type Repository } from '../repository/repository.js';
import { StorageNotFoundError, type ObjectReader } from '../repository/storage.js';
import { openReader } from '../repository/object-reader.js';

const { O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;

/**
 * Ciphertext that was hashed, held by the descriptor it was written through: what is decrypted
 * is read back from that same descriptor, never re-opened by path (a path can be swapped after
 * the hash was checked).
 */
export interface VerifiedCiphertext {
  ciphertextPath: string;
  fd: number;
}

/** The object's download stream; a missing object is an integrity failure of the snapshot. */
export async function openObject(repo: Repository, artifact: ArtifactRecord): Promise<Readable> {
  return opening(repo, artifact, () => repo.storage.get(artifact.object));
}

/** The object read into the caller's buffers (object-reader.ts); missing as for openObject. */
export async function openObjectReader(repo: Repository, artifact: ArtifactRecord): Promise<ObjectReader> {
  return opening(repo, artifact, () => openReader(repo.storage, artifact.object));
}

async function opening<T>(repo: Repository, artifact: ArtifactRecord, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
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
}

/** The object does not match the signed manifest: `size` (as far as read) and `sha256` are what arrived. */
export function corruptObject(artifact: ArtifactRecord, size: number, sha256?: string): BarysafeError {
  const what =
    size !== artifact.size
      ? size > artifact.size
        ? `larger than the ${artifact.size} bytes the manifest records; download stopped`
        : `${size} bytes, manifest says ${artifact.size}`
      : `sha256 ${sha256?.slice(0, 16)}… ≠ ${artifact.sha256.slice(0, 16)}… in the manifest`;
  return new BarysafeError('integrity', `object ${artifact.object} (${artifact.name}) is corrupt: ${what}`, {
    exitCode: ExitCode.INTEGRITY,
    hint: 'the object was altered or truncated after upload; restore another snapshot',
  });
}

/**
 * Downloads an artifact's ciphertext into the private temp dir and checks its size and SHA-256
 * against the signed manifest before anything is decrypted. Checking the whole object first means
 * a swapped object never reaches pg_restore (which executes what it reads); files are extracted in
 * one pass instead (extract.ts). The download stops as soon as it is larger than the manifest says
 * (the bucket does not decide how much barysafe writes).
 */
export async function fetchVerified(
  repo: Repository,
  artifact: ArtifactRecord,
  tempDir: string,
  onProgress?: (bytes: number) => void,
): Promise<VerifiedCiphertext> {
  const ciphertextPath = path.join(tempDir, `${artifact.name.replace(/[^A-Za-z0-9._-]/g, '_')}.age`);
  const body = await openObject(repo, artifact);
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
  const sink = createWriteStream('', { fd, autoClose: false });
  try {
    await pipeline(
      body,
      async function* (src: AsyncIterable<Buffer>) {
        for await (const chunk of src) {
          size += chunk.length;
          if (size > artifact.size) throw corruptObject(artifact, size);
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
    throw corruptObject(artifact, size, sha256);
  }
  return { ciphertextPath, fd };
}

/** Decrypts verified ciphertext from its own descriptor (closed when the stream ends or fails). */
export async function decryptToStream(source: VerifiedCiphertext, identities: readonly string[]): Promise<Readable> {
  const input = createReadStream('', { fd: source.fd, start: 0, autoClose: true, highWaterMark: STREAM_BUFFER });
  try {
    return await decryptStream(identities, input);
  } catch (e) {
    input.destroy();
    throw e;
  }
}
