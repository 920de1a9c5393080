import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { BufferPool } from './buffer-pool.js';

/**
 * How much of a file another task of this process has written so far, from its start. The writer
 * calls grew() after each write and end() once the file is complete.
 */
export class GrowingFile {
  private written = 0;
  private complete = false;
  private waiting: Array<() => void> = [];

  grew(bytes: number): void {
    this.written = bytes;
    this.wake();
  }

  /** The file is complete: readers go on to its end of file. */
  end(): void {
    this.complete = true;
    this.wake();
  }

  /** How far a reader may read now (Infinity once the file is complete). */
  get readable(): number {
    return this.complete ? Infinity : this.written;
  }

  get ended(): boolean {
    return this.complete;
  }

  /** Resolves at the next grew() or end(). */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private wake() {
    const w = this.waiting;
    this.waiting = [];
    for (const resolve of w) resolve();
  }
}

/**
 * Reads `file` while it is being written, never past what the writer has written, to its end once
 * the writer calls end(). Written by hand: a file stream stops at the current end of file, and
 * following a file by polling its size (as `tail -f` does) would read bytes the writer has not
 * finished. The writer never waits for this reader; a reader that is faster waits for the writer.
 * The stream does not end on its own if the writer fails: the writer's owner destroys it.
 *
 * One read runs ahead of the consumer: the next chunk comes from the page cache while the consumer
 * works on this one, instead of each read waiting for the consumer and the consumer for each read.
 * Reads are of `pool.size` bytes, into the pool's buffers: a consumer that gives each chunk back
 * once done with it (pool.give) keeps the reads from allocating.
 */
export function readGrowing(file: string, growing: GrowingFile, pool: BufferPool): Readable {
  const chunkSize = pool.size;
  let fh: FileHandle | undefined;
  let at = 0;
  let ahead: Promise<Buffer | null> | undefined;
  const readNext = async (stream: Readable): Promise<Buffer | null> => {
    if (!fh) {
      const opened = await open(file, 'r');
      if (stream.destroyed) {
        await opened.close();
        return null;
      }
      fh = opened;
    }
    for (;;) {
      const limit = growing.readable;
      if (at < limit) {
        const want = Math.min(chunkSize, limit - at);
        const buffer = pool.take();
        const { bytesRead } = await fh.read(buffer, 0, want, at);
        if (bytesRead > 0) {
          at += bytesRead;
          return bytesRead < chunkSize ? buffer.subarray(0, bytesRead) : buffer;
        }
        pool.give(buffer);
        if (growing.ended) return null; // end of the complete file
        throw new Error(`${file} is shorter (${at} bytes) than its writer said it wrote`);
      }
      if (growing.ended) return null;
      await growing.changed();
      if (stream.destroyed) return null;
    }
  };
  return new Readable({
    highWaterMark: chunkSize,
    read() {
      void (async () => {
        const chunk = await (ahead ?? readNext(this));
        ahead = chunk && !this.destroyed ? readNext(this) : undefined;
        ahead?.catch(() => undefined); // rejects when it is awaited, at the next read()
        if (!this.destroyed) this.push(chunk);
      })().catch((e: unknown) => this.destroy(e as Error));
    },
    destroy(err, callback) {
      // A FileHandle closes once the read in flight, if any, has ended.
      const closing = fh ? fh.close() : Promise.resolve();
      closing.then(
        () => callback(err),
        () => callback(err),
      );
    },
  });
}
