import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { BarysafeError, ExitCode } from '../errors.js';
import { encryptStream } from '../crypto/age.js';
import type { Storage } from '../repository/storage.js';

export interface StoredArtifact {
  size: number;
  sha256: string;
  plaintext_size: number;
}

/**
 * plaintext → age → storage, as one stream, counting the plaintext and hashing the ciphertext
 * inside the encryption step (no extra stream hops): memory stays bounded whatever the size.
 * An error anywhere (the source, e.g. pg_dump exiting non-zero, or the upload) rejects, and the
 * storage contract guarantees no object is left at `key`.
 */
export async function storeArtifact(
  storage: Storage,
  recipients: readonly string[],
  key: string,
  plaintext: Readable | AsyncIterable<Uint8Array>,
  opts: {
    onProgress?: (plainBytes: number) => void;
    signal?: AbortSignal;
    /** Takes back each plaintext buffer once it was encrypted (a source that reuses its buffers). */
    release?: (chunk: Uint8Array) => void;
  } = {},
): Promise<StoredArtifact> {
  let plainBytes = 0;
  const hash = createHash('sha256');
  let size = 0;
  throwIfStopped(opts.signal);
  const source = plaintext instanceof Readable ? plaintext : Readable.from(plaintext, { objectMode: false });
  // A stop destroys the source at once (even a stalled one); the error travels down the stream and
  // the upload fails as a whole, so the storage contract leaves no object at `key`.
  const onStop = () => source.destroy(stoppedError());
  opts.signal?.addEventListener('abort', onStop, { once: true });
  try {
    const ciphertext = await encryptStream(recipients, source, {
      onPlaintext: (chunk) => {
        plainBytes += chunk.length;
        opts.onProgress?.(plainBytes);
      },
      onCiphertext: (chunk) => {
        hash.update(chunk);
        size += chunk.length;
      },
      ...(opts.release ? { release: opts.release } : {}),
    });
    await storage.put(key, ciphertext);
  } finally {
    opts.signal?.removeEventListener('abort', onStop);
  }
  const stored = await storage.head(key);
  if (!stored || stored.size !== size) {
    await storage.delete(key).catch(() => undefined);
    throw new BarysafeError(
      'upload',
      `the store kept ${stored ? stored.size : 'no'} bytes of ${key} but ${size} were sent`,
      {
        exitCode: ExitCode.REPOSITORY,
        hint: 'the S3-compatible store may not understand streaming checksums; set repository.checksum = "when_required"',
      },
    );
  }
  return { size, sha256: hash.digest('hex'), plaintext_size: plainBytes };
}

function stoppedError(): BarysafeError {
  return new BarysafeError('interrupted', 'the backup was stopped before it completed; no snapshot was made', {
    exitCode: ExitCode.INTERRUPTED,
  });
}

/** A stopped backup is an interruption, not a failure of the source or the repository. */
export function throwIfStopped(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw stoppedError();
}
