import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { BarysafeError } from '../errors.js';

/**
 * SHA-256 of a stream, in order, over buffers it lends out: the caller takes a buffer, fills it
 * (a read lands in it directly), uses it (the restore decrypts it), then submits it to be hashed.
 * For a database-sized stream the hash runs on a worker thread: a restore's decryption keeps the
 * main thread busy, and hashing there too cost ~0.1–0.3 s per 256 MiB restored. The worker's
 * buffers are a few slabs that travel to it and back (transferred, not cloned), so memory stays
 * bounded and no byte is copied on the way: take() waits while every slab is in flight. A backup
 * does not use it: measured, it gained nothing there (the copy and the integrity check already
 * share the second core; with one inspection worker, for blobs, it was 0.24 s slower; again with
 * the ciphertext copied into slabs, 0.885 against 0.875 s) and cost ~10-16 MiB of peak memory.
 * Written here because the libraries we know (worker pools) clone each message and queue without
 * bound.
 */
export interface SlabSha256 {
  /** An empty buffer to fill; waits while all of them are being hashed. */
  take(): Promise<Uint8Array>;
  /** Hashes bytes [0, length) of a buffer from take(); the caller may not touch it afterwards. */
  submit(buffer: Uint8Array, length: number): void;
  /** The hex digest of everything submitted; ends the worker. */
  digest(): Promise<string>;
  /** Ends the worker without a digest (the stream failed). */
  abort(): void;
}

/** Streams at least this long are worth a worker (its start-up costs ~20 ms and ~10 MiB). */
export const OFFLOAD_MIN_BYTES = 16 << 20;
/** One read's worth: sixteen age chunks per hop. */
export const SLAB_BYTES = 1 << 20;
/** Enough to keep reading and decrypting while the worker boots (~80 ms on a slow machine). */
const SLABS = 8;
/** Buffers of the inline hash: objects below OFFLOAD_MIN_BYTES (a key, a config) are small. */
const INLINE_BYTES = 256 << 10;

export function slabSha256(opts: { offload: boolean }): SlabSha256 {
  return opts.offload ? workerSha256() : inlineSha256();
}

function inlineSha256(): SlabSha256 {
  const hash = createHash('sha256');
  // The caller holds at most two at once (one filling while the other is used).
  const free: Uint8Array[] = [];
  return {
    take: async () => free.pop() ?? new Uint8Array(INLINE_BYTES),
    submit: (buffer, length) => {
      hash.update(buffer.subarray(0, length));
      free.push(buffer);
    },
    digest: async () => hash.digest('hex'),
    abort: () => undefined,
  };
}

function workerSha256(): SlabSha256 {
  const worker = new Worker(new URL('./sha256-worker.js', import.meta.url));
  const free: ArrayBuffer[] = Array.from({ length: SLABS }, () => new ArrayBuffer(SLAB_BYTES));
  /** Slabs the caller holds: only those can be submitted (so the pool never grows). */
  const lent = new WeakSet<ArrayBuffer>();
  let failure: BarysafeError | undefined;
  let waiting: Array<() => void> = [];
  let digestOut: ((hex: string) => void) | undefined;
  const wake = () => {
    const w = waiting;
    waiting = [];
    for (const resolve of w) resolve();
  };
  worker.on('message', (m: { slab?: ArrayBuffer; digest?: string }) => {
    if (m.slab) {
      free.push(m.slab);
      wake();
    } else if (m.digest !== undefined) digestOut?.(m.digest);
  });
  // Said as what it is: the caller would otherwise take any error of its read loop for the
  // repository's.
  const lost = (why: string) =>
    new BarysafeError('restore', `the hashing worker exited ${why}; nothing was placed`, {
      hint: 'retry; a worker thread that dies is a bug, or a machine out of memory (dmesg)',
    });
  const failed = (e: BarysafeError) => {
    failure ??= e;
    wake();
  };
  worker.once('error', (e) => failed(lost(`with an error (${e.message})`)));
  worker.once('exit', (code) => failed(lost(`with code ${code}`)));

  const take = async (): Promise<Uint8Array> => {
    for (;;) {
      if (failure) throw failure;
      const slab = free.pop();
      if (slab) {
        lent.add(slab);
        return new Uint8Array(slab);
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  };

  return {
    take,
    submit: (buffer, length) => {
      if (failure) throw failure;
      const slab = buffer.buffer as ArrayBuffer;
      if (!lent.has(slab) || buffer.byteOffset !== 0 || buffer.length !== SLAB_BYTES || length > SLAB_BYTES)
        throw new Error('submit() takes a whole buffer from take()');
      lent.delete(slab);
      worker.postMessage({ slab, length }, [slab]);
    },
    digest: async () => {
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
