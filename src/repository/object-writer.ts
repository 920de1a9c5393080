import { PassThrough } from 'node:stream';
import type { ObjectWriter, Storage, WriterOptions } from './storage.js';

/** The backend's own writer, or one over put() of a stream for backends without (S3). */
export async function openWriter(storage: Storage, key: string, opts: WriterOptions = {}): Promise<ObjectWriter> {
  return storage.openWriter ? storage.openWriter(key, opts) : streamWriter(storage, key, opts);
}

/** Sixteen age chunks: what one write of a backup hands over. */
const BODY_BUFFER = 1 << 20;

/**
 * A write left in flight while the caller reads on: awaited at the caller's next write, but it may
 * fail before that, and a rejection nobody listens to yet would end the process.
 */
export function pending(write: Promise<void>): Promise<void> {
  write.catch(() => {});
  return write;
}

class WriterAborted extends Error {
  constructor() {
    super('the write was abandoned');
    this.name = 'WriterAborted';
  }
}

/**
 * Writes into put()'s body stream. A put that fails (the store refused it) fails the write that
 * waits on it, and every later call, with put()'s own error.
 */
function streamWriter(storage: Storage, key: string, opts: WriterOptions): ObjectWriter {
  const body = new PassThrough({ highWaterMark: BODY_BUFFER });
  const put = storage.put(key, body, opts);
  let failure: { error: unknown } | undefined;
  const failed = put.then(
    () => new Promise<never>(() => {}), // put() resolves only once the body ended: after close()
    (error: unknown) => {
      failure = { error };
      throw error;
    },
  );
  failed.catch(() => {}); // said by the next write(), close() or abort()
  return {
    write: async (buffers) => {
      for (const b of buffers) {
        if (failure) throw failure.error;
        if (!body.write(b)) await Promise.race([new Promise<void>((resolve) => body.once('drain', resolve)), failed]);
      }
      if (failure) throw failure.error;
    },
    close: async () => {
      body.end();
      return put;
    },
    abort: async () => {
      body.destroy(new WriterAborted());
      await put.catch(() => undefined);
    },
  };
}
