import { close as closeCb, read as readCb } from 'node:fs';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { ObjectReader, Storage } from './storage.js';

// The readers of an ObjectReader (storage.ts): a local file's descriptor, or any backend's stream.

/** The object's reader: the backend's own where it has one (a local file), else over get(). */
export async function openReader(storage: Storage, key: string): Promise<ObjectReader> {
  return storage.openReader ? storage.openReader(key) : streamReader(await storage.get(key));
}

const readAt = promisify(readCb);
const closeFd = promisify(closeCb);

/** Reads a descriptor from offset 0 by position (it never moves the descriptor's own offset). */
export function descriptorReader(fd: number): ObjectReader {
  let position = 0;
  let inFlight: Promise<unknown> = Promise.resolve();
  let closed: Promise<void> | undefined;
  const fill = async (into: Uint8Array): Promise<number> => {
    let n = 0;
    while (n < into.length) {
      const { bytesRead: got } = await readAt(fd, into, n, into.length - n, position);
      if (got === 0) break;
      n += got;
      position += got;
    }
    return n;
  };
  return {
    read: (into) => {
      if (closed) return Promise.reject(new Error('read() after close()'));
      const p = fill(into);
      inFlight = p.catch(() => {});
      return p;
    },
    // Not before the read in flight is done: its descriptor number could belong to another file by then.
    close: () => (closed ??= inFlight.then(() => closeFd(fd))),
  };
}

/** Copies a stream's chunks into the caller's buffers; the stream's errors come out of read(). */
export function streamReader(body: Readable): ObjectReader {
  const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let left: Buffer | undefined;
  let ended = false;
  return {
    read: async (into) => {
      let n = 0;
      while (n < into.length) {
        if (!left?.length) {
          if (ended) break;
          const next = await chunks.next();
          if (next.done) {
            ended = true;
            break;
          }
          left = next.value;
          continue;
        }
        const k = Math.min(left.length, into.length - n);
        into.set(left.subarray(0, k), n);
        left = left.subarray(k);
        n += k;
      }
      return n;
    },
    close: async () => {
      ended = true;
      body.destroy();
    },
  };
}
