import { constants } from 'node:fs';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { BarysafeError, ExitCode } from '../errors.js';
import { AgeDecryptor, describeDecryptError, isAgeFailure, loadIdentities } from '../crypto/age.js';
import { OFFLOAD_MIN_BYTES, slabSha256 } from '../crypto/offloaded-sha256.js';
import type { ArtifactRecord } from '../repository/manifest.js';
import { repoError, type Repository } from '../repository/repository.js';
import { corruptObject, openObjectReader } from './fetch-artifact.js';
import { siblingTempName } from '../platform/safe-fs.js';
import { errnoOf, fsErrorText, isOutOfSpace } from '../platform/fs-errors.js';
import { EarlyWriteback } from '../platform/early-writeback.js';

/**
 * fetch -> verify -> decrypt -> place, for every artifact of a snapshot: the one path by which
 * plaintext comes out of a repository, shared by restore and the drill. What is decrypted is
 * exactly what was verified against the signed manifest: hashed and decrypted in one pass.
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
    place: (a: ArtifactRecord) => Placement;
    onProgress?: (a: ArtifactRecord, bytes: number) => void;
    onPlaced?: (x: ExtractedArtifact) => void | Promise<void>;
  },
): Promise<ExtractedArtifact[]> {
  // All at once: the small artifacts' downloads and fsyncs wait on latency, and overlap the
  // database's decryption instead of following it. onPlaced still sees them in the manifest's order.
  const extracting = artifacts.map(async (a): Promise<ExtractedArtifact> => {
    const { dest, mode } = o.place(a);
    await mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
    await extractOne(repo, a, o.identities, dest, mode, (n) => o.onProgress?.(a, n));
    return { artifact: a, dest, mode };
  });
  for (const x of extracting) x.catch(() => {}); // each is awaited below, maybe after it failed
  const out: ExtractedArtifact[] = [];
  try {
    for (const x of extracting) {
      out.push(await x);
      await o.onPlaced?.(out[out.length - 1]!);
    }
  } finally {
    // None may still write into the staging directory when the caller cleans it up.
    await Promise.allSettled(extracting);
  }
  return out;
}

/**
 * One artifact in one pass over one download: each ciphertext buffer is counted, decrypted and
 * hashed as it arrives, and the plaintext goes to a temp file that barysafe creates itself
 * (O_EXCL|O_NOFOLLOW, 0600) beside the destination. The download stops as soon as it exceeds the
 * size the signed manifest records. The file is renamed into place only after the age payload's
 * last tag, the SHA-256 and the size all matched; on any failure it is removed.
 *
 * The bytes are read into the hash's own buffers and each buffer is hashed after it was
 * decrypted, so what is hashed is exactly what was decrypted (the worker gets that very buffer).
 * A decryption failure does not stop the hashing: when the object differs from the manifest,
 * that is the error reported (as when the whole object was checked before decrypting), since a
 * damaged object can also look like a wrong identity.
 */
async function extractOne(
  repo: Repository,
  a: ArtifactRecord,
  identities: readonly string[],
  dest: string,
  mode: number,
  onProgress: (bytes: number) => void,
): Promise<void> {
  const reader = await openObjectReader(repo, a);
  const tmp = siblingTempName(dest);
  let fh: FileHandle;
  try {
    fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (e) {
    await reader.close();
    throw cannotWrite(dest, e);
  }
  // The hash runs beside the cipher, on a second core, for anything database-sized.
  const hash = slabSha256({ offload: a.size >= OFFLOAD_MIN_BYTES });
  const dec = new AgeDecryptor(identities);
  let size = 0;
  let decryptError: unknown;
  // One write in flight while the next buffer is decrypted.
  let writing: Promise<unknown> = Promise.resolve();
  const writeback = new EarlyWriteback(() => fh.datasync());
  const write = async (plain: Buffer[]) => {
    try {
      await writing;
      if (plain.length) writeback.wrote(plain.reduce((n, b) => n + b.length, 0));
    } catch (e) {
      throw cannotWrite(dest, e);
    }
    if (plain.length) writing = fh.writev(plain);
  };
  // One read ahead: the next buffer fills while this one is decrypted.
  const fill = async () => {
    const buffer = await hash.take();
    return { buffer, length: await reader.read(buffer) };
  };
  let next: Promise<{ buffer: Uint8Array; length: number }> | undefined;
  try {
    try {
      next = fill();
      for (;;) {
        const { buffer, length } = await next;
        if (length === 0) break;
        size += length;
        if (size > a.size) throw corruptObject(a, size);
        next = fill();
        onProgress(size);
        let plain: Buffer[] = [];
        if (decryptError === undefined) {
          const chunk = buffer.subarray(0, length);
          try {
            plain = dec.headerDone ? dec.push(chunk) : await dec.update(chunk);
          } catch (e) {
            decryptError = e;
          }
        }
        hash.submit(buffer, length); // not before the decryption is done with it
        await write(plain);
      }
    } catch (e) {
      if (e instanceof BarysafeError) throw e;
      throw repoError(repo.storage, e);
    }
    const sha256 = await hash.digest();
    if (size !== a.size || sha256 !== a.sha256) throw corruptObject(a, size, sha256);
    if (decryptError === undefined) {
      try {
        await write(dec.end());
      } catch (e) {
        if (!isAgeFailure(e)) throw e;
        decryptError = e;
      }
    }
    if (decryptError !== undefined) throw describeDecryptError(decryptError);
    await write([]);
    await writeback.settle().catch((e: unknown) => {
      throw cannotWrite(dest, e);
    });
    await fh.chmod(mode); // on the descriptor: the umask played no part, and no path is followed
    await fh.sync();
    await fh.close();
    await rename(tmp, dest);
  } catch (e) {
    hash.abort();
    // First: a read waiting on a stalled download ends only when its stream is destroyed.
    const closing = reader.close();
    await next?.catch(() => {});
    await closing;
    await writing.catch(() => {});
    await writeback.settle().catch(() => {});
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e instanceof BarysafeError ? e : cannotWrite(dest, e);
  } finally {
    await reader.close();
  }
}

function cannotWrite(dest: string, e: unknown): BarysafeError {
  const dir = path.dirname(dest);
  return new BarysafeError('restore', `cannot write ${dest}: ${fsErrorText(e)}`, {
    exitCode: ExitCode.FAILURE,
    ...(isOutOfSpace(e)
      ? { hint: `free space on the file system holding ${dir} (df -h ${dir}), or restore elsewhere` }
      : errnoOf(e) === 'EROFS'
        ? { hint: `${dir} is on a read-only file system` }
        : {}),
    cause: e,
  });
}
