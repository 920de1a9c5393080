/**
 * Buffers of one size, lent out and given back, so a stream that reads a large file does not
 * allocate a new buffer per read. In a backup those reads were half of the process's garbage:
 * each 256 KiB buffer counts as external memory, and V8 starts a full collection for every
 * ~64 MiB of it, so a 256 MiB copy cost about ten extra mark-compacts running beside the cipher.
 *
 * A buffer is reused only after whoever read it gave it back, so a slow consumer (a chunk sitting
 * in a stream's queue) is never overwritten: take() allocates when none is free. give() accepts
 * only a buffer this pool lent and has not had back (a view of it is enough), so giving a foreign
 * buffer, or the same one twice, cannot make two readers share one. A lent buffer that is never
 * given back is simply garbage, as it would have been without the pool.
 * Written by hand: it is a free list of a dozen lines, not worth a dependency.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly lent = new WeakSet<ArrayBufferLike>();
  /** Buffers allocated so far: what reuse saved is the number of take()s beyond it. */
  allocated = 0;

  /** `keep`: at most this many free buffers are held for reuse; the rest are left to the GC. */
  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}

  /** A buffer of `size` bytes whose contents are arbitrary. */
  take(): Buffer {
    let b = this.free.pop();
    if (!b) {
      b = Buffer.allocUnsafeSlow(this.size); // its own ArrayBuffer, never a slice of Node's shared pool
      this.allocated++;
    }
    this.lent.add(b.buffer);
    return b;
  }

  /** Gives back a buffer from take(), or any view of one; its holder may not touch it afterwards. */
  give(chunk: Uint8Array): void {
    const ab = chunk.buffer;
    if (!this.lent.delete(ab)) return;
    if (this.free.length < this.keep) this.free.push(Buffer.from(ab, 0, this.size));
  }
}
