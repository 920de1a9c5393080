import type { Readable } from 'node:stream';

/**
 * Reads a stream into memory up to `max` bytes. Past that, reading stops and the stream is
 * destroyed: what the other side sends does not decide how much barysafe holds. `over` says the
 * stream had more; `bytes` then holds the first `max` bytes.
 */
export async function readAtMost(
  stream: Readable | AsyncIterable<Uint8Array>,
  max: number,
  signal?: AbortSignal,
): Promise<{ bytes: Buffer; over: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stream as AsyncIterable<Uint8Array>) {
    if (signal?.aborted) break;
    const chunk = Buffer.isBuffer(c) ? c : Buffer.from(c);
    if (size + chunk.length > max) {
      chunks.push(chunk.subarray(0, max - size));
      (stream as Partial<Readable>).destroy?.();
      return { bytes: Buffer.concat(chunks), over: true };
    }
    size += chunk.length;
    chunks.push(chunk);
  }
  return { bytes: Buffer.concat(chunks), over: false };
}
