import type { BufferPool } from './buffer-pool.js';

/**
 * The bytes of `source`, regrouped into full buffers of `pool.size` (the last one shorter). A
 * pipe hands a reader whatever its writer has written since the last read: pg_dump's output
 * arrives in ~14 KiB pieces, and each piece cost a trip through every stream of the backup (about
 * 0.3 s of CPU per 70 MiB dumped, beside a pg_dump that needs the other core). Copying them into
 * pooled buffers costs a memcpy; the consumer gives each buffer back (pool.give) once done with it.
 */
export async function* coalesce(source: AsyncIterable<Uint8Array>, pool: BufferPool): AsyncGenerator<Buffer> {
  let buffer = pool.take();
  let filled = 0;
  for await (const piece of source) {
    for (let at = 0; at < piece.length;) {
      const n = Math.min(piece.length - at, buffer.length - filled);
      buffer.set(piece.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === buffer.length) {
        yield buffer;
        buffer = pool.take();
        filled = 0;
      }
    }
  }
  if (filled > 0) yield buffer.subarray(0, filled);
}
