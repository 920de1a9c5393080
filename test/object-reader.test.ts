// Reading an object into the caller's buffers (src/repository/object-reader.ts): a local file by
// position, any other backend by copying from its stream. Each gives back exactly the object's
// bytes whatever the buffer size, says when it ended, passes the stream's error on, and never
// closes a descriptor that a read in flight still uses.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fstatSync, openSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { descriptorReader, streamReader } from '../src/repository/object-reader.js';
import type { ObjectReader } from '../src/repository/storage.js';
import { makeTempDir } from './support/services.js';

const MiB = 1 << 20;

async function readAll(r: ObjectReader, bufferSize: number): Promise<{ bytes: Buffer; reads: number[] }> {
  const parts: Buffer[] = [];
  const reads: number[] = [];
  for (;;) {
    const buf = new Uint8Array(bufferSize);
    const n = await r.read(buf);
    reads.push(n);
    if (n === 0) break;
    parts.push(Buffer.from(buf.subarray(0, n)));
  }
  return { bytes: Buffer.concat(parts), reads };
}

describe('object readers', () => {
  const data = randomBytes(3 * MiB + 5);

  test('a file: its exact bytes for buffers of 1 B … 4 MiB, every read full but the last, then 0', async () => {
    const tmp = await makeTempDir('barysafe-reader-');
    try {
      const file = path.join(tmp.path, 'object');
      await writeFile(file, data);
      for (const size of [4093, 64 * 1024, MiB, 4 * MiB]) {
        const r = descriptorReader(openSync(file, 'r'));
        const { bytes, reads } = await readAll(r, size);
        await r.close();
        assert.ok(bytes.equals(data), `buffers of ${size}`);
        assert.ok(
          reads.slice(0, -2).every((n) => n === size),
          `full reads of ${size}`,
        );
        assert.equal(reads[reads.length - 1], 0);
      }
      await writeFile(file, 'abc');
      const r = descriptorReader(openSync(file, 'r'));
      const { bytes, reads } = await readAll(r, 1);
      await r.close();
      assert.equal(bytes.toString(), 'abc');
      assert.deepEqual(reads, [1, 1, 1, 0]);
    } finally {
      await tmp.cleanup();
    }
  });

  test('a file: close() waits for the read in flight, then closes the descriptor; no read after it', async () => {
    const tmp = await makeTempDir('barysafe-reader-');
    try {
      const file = path.join(tmp.path, 'object');
      await writeFile(file, data);
      const fd = openSync(file, 'r');
      const r = descriptorReader(fd);
      const buf = new Uint8Array(data.length);
      const reading = r.read(buf);
      const closing = r.close();
      assert.equal(await reading, data.length, 'the read was not cut off by the close');
      await closing;
      assert.ok(Buffer.from(buf).equals(data));
      assert.throws(() => fstatSync(fd), { code: 'EBADF' });
      await assert.rejects(r.read(new Uint8Array(1)), /after close/);
      await r.close(); // twice is fine
    } finally {
      await tmp.cleanup();
    }
  });

  test('a stream: its exact bytes across chunk boundaries, for buffers smaller and larger than its chunks', async () => {
    const cuts = [0, 3, 70_000, 70_001, MiB + 9, 2 * MiB, data.length];
    const chunks = cuts.slice(1).map((end, i) => data.subarray(cuts[i], end));
    for (const size of [1000, 64 * 1024, MiB, 4 * MiB]) {
      const r = streamReader(Readable.from(chunks));
      const { bytes, reads } = await readAll(r, size);
      assert.ok(bytes.equals(data), `buffers of ${size}`);
      assert.ok(
        reads.slice(0, -2).every((n) => n === size),
        `full reads of ${size}`,
      );
      assert.equal(await r.read(new Uint8Array(10)), 0, 'still ended');
    }
  });

  test('a stream: its error comes out of read(), after the bytes before it; close() destroys it', async () => {
    const failing = Readable.from(
      (async function* () {
        yield data.subarray(0, 100);
        throw new Error('connection reset by the bucket');
      })(),
    );
    const r = streamReader(failing);
    const buf = new Uint8Array(50);
    assert.equal(await r.read(buf), 50);
    assert.equal(await r.read(buf), 50);
    await assert.rejects(r.read(buf), /connection reset by the bucket/);

    const body = Readable.from([data]);
    const s = streamReader(body);
    await s.read(new Uint8Array(10));
    await s.close();
    assert.ok(body.destroyed);
  });
});
