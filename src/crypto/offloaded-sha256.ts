import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { BarysafeError } from '../errors.js';

/**
 * SHA-256 of a stream, in order. For a database-sized stream it can run on a worker thread: a
 * restore's decryption keeps the main thread busy, and hashing there too cost ~0.1–0.3 s per
 * 256 MiB restored. Chunks are copied into a few reused slabs that travel to the worker and back
 * (transferred, not cloned), so memory stays bounded: update() returns a promise to wait for when
 * every slab is in flight. A backup does not use it: measured, it gained nothing there (the
 * integrity check's worker already has the second core) and cost ~10 MiB of peak memory.
 * Written here because the libraries we know (worker pools) clone each message and queue without
 * bound.
 */
export interface StreamingSha256 {
  /** Takes the chunk (it may be reused once this returns or its promise resolves). */
  update(chunk: Uint8Array): Promise<void> | undefined;
  /** The hex digest of everything updated; ends the worker. */
  digest(): Promise<string>;
  /** Ends the worker without a digest (the stream failed). */
  abort(): void;
}

/** Streams at least this long are worth a worker (its start-up costs ~20 ms and ~10 MiB). */
export const OFFLOAD_MIN_BYTES = 16 << 20;
const SLAB_BYTES = 1 << 20;
const SLABS = 4;

export function streamingSha256(opts: { offload: boolean }): StreamingSha256 {
  if (!opts.offload) {
    const hash = createHash('sha256');
    return {
      update: (chunk) => void hash.update(chunk),
      digest: async () => hash.digest('hex'),
      abort: () => undefined,
    };
  }
  return workerSha256();
}

function workerSha256(): StreamingSha256 {
  const worker = new Worker(new URL('./sha256-worker.js', import.meta.url));
  const free: ArrayBuffer[] = Array.from({ length: SLABS }, () => new ArrayBuffer(SLAB_BYTES));
  let current: Uint8Array | undefined;
  let filled = 0;
  let failure: BarysafeError | undefined;
  let slabBack: (() => void) | undefined;
  let digestOut: ((hex: string) => void) | undefined;
  const failed = (e: BarysafeError) => {
    failure ??= e;
    slabBack?.();
  };
  worker.on('message', (m: { slab?: ArrayBuffer; digest?: string }) => {
    if (m.slab) {
      free.push(m.slab);
      const wake = slabBack;
      slabBack = undefined;
      wake?.();
    } else if (m.digest !== undefined) digestOut?.(m.digest);
  });
  // Said as what it is: the caller would otherwise take any error of its read loop for the
  // repository's.
  const lost = (why: string) =>
    new BarysafeError('restore', `the hashing worker exited ${why}; nothing was placed`, {
      hint: 'retry; a worker thread that dies is a bug, or a machine out of memory (dmesg)',
    });
  worker.once('error', (e) => failed(lost(`with an error (${e.message})`)));
  worker.once('exit', (code) => failed(lost(`with code ${code}`)));

  const send = () => {
    const slab = current!.buffer as ArrayBuffer;
    worker.postMessage({ slab, length: filled }, [slab]);
    current = undefined;
    filled = 0;
  };
  const waitForSlab = () => new Promise<void>((resolve) => (slabBack = resolve));

  const update = (chunk: Uint8Array): Promise<void> | undefined => {
    let offset = 0;
    while (offset < chunk.length) {
      if (failure) throw failure;
      if (!current) {
        const slab = free.pop();
        if (!slab) return waitForSlab().then(() => update(chunk.subarray(offset)));
        current = new Uint8Array(slab);
      }
      const n = Math.min(chunk.length - offset, SLAB_BYTES - filled);
      current.set(chunk.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === SLAB_BYTES) send();
    }
    return undefined;
  };

  return {
    update,
    digest: async () => {
      if (current && filled > 0) send();
      const hex = await new Promise<string>((resolve, reject) => {
        if (failure) return reject(failure);
        digestOut = resolve;
        worker.once('exit', () => reject(failure ?? lost('before the digest')));
        worker.postMessage('digest');
      });
      void worker.terminate();
      return hex;
    },
    abort: () => void worker.terminate(),
  };
}
