import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open, readdir, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GrowingFile, readGrowing } from '../src/platform/growing-file.js';
import { BufferPool } from '../src/platform/buffer-pool.js';
import { makeTempDir } from './support/services.js';

/** Collects a stream's chunks, noting how far the writer had written when each arrived. */
async function collect(stream: AsyncIterable<Buffer>, written: () => number) {
  const chunks: Buffer[] = [];
  let overtook = false;
  for await (const c of stream) {
    chunks.push(c);
    if (Buffer.concat(chunks).length > written()) overtook = true;
  }
  return { bytes: Buffer.concat(chunks), overtook };
}

test('a reader of a growing file gets every byte, never past what the writer has written, and ends with the file', async () => {
  const dir = await makeTempDir('barysafe-growing-');
  try {
    const file = path.join(dir.path, 'copy');
    const data = randomBytes(3 * 1024 * 1024 + 17);
    await writeFile(file, '');
    const growing = new GrowingFile();
    let written = 0;
    const reading = collect(readGrowing(file, growing, new BufferPool(64 * 1024, 4)), () => written);
    const fh = await open(file, 'r+');
    // Uneven writes with pauses: the reader catches up and must wait, not stop at the end of file.
    for (let at = 0; at < data.length;) {
      const n = Math.min(data.length - at, 100_000 + (at % 7) * 50_000);
      await fh.write(data, at, n, at);
      at += n;
      written = at;
      growing.grew(at);
      if (at % 3 === 0) await sleep(5);
    }
    await fh.close();
    await sleep(20);
    growing.end();
    const { bytes, overtook } = await reading;
    assert.equal(overtook, false);
    assert.equal(bytes.length, data.length);
    assert.ok(bytes.equals(data));
  } finally {
    await dir.cleanup();
  }
});

test('a reader that the writer never feeds waits, and is stopped by destroying it', async () => {
  const dir = await makeTempDir('barysafe-growing-');
  try {
    const file = path.join(dir.path, 'copy');
    await writeFile(file, 'these bytes were not announced');
    const stream = readGrowing(file, new GrowingFile(), new BufferPool(1024, 4));
    let data = 0;
    stream.on('data', (c: Buffer) => (data += c.length));
    await sleep(50);
    assert.equal(data, 0, 'nothing is read before the writer says it wrote it');
    const failed = new Promise<Error>((resolve) => stream.once('error', resolve));
    const closed = new Promise((resolve) => stream.once('close', resolve));
    stream.destroy(new Error('the copy failed'));
    assert.equal((await failed).message, 'the copy failed');
    await closed;
    assert.equal(data, 0);
  } finally {
    await dir.cleanup();
  }
});

test('a file shorter than its writer said is an error, not a short stream', async () => {
  const dir = await makeTempDir('barysafe-growing-');
  try {
    const file = path.join(dir.path, 'copy');
    await writeFile(file, Buffer.alloc(1000));
    const growing = new GrowingFile();
    growing.grew(5000);
    await assert.rejects(
      collect(readGrowing(file, growing, new BufferPool(4096, 4)), () => 5000),
      /shorter \(1000 bytes\) than its writer said it wrote/,
    );
  } finally {
    await dir.cleanup();
  }
});

test('a missing file fails the stream with the file system error', async () => {
  const dir = await makeTempDir('barysafe-growing-');
  try {
    const growing = new GrowingFile();
    growing.end();
    await assert.rejects(
      collect(readGrowing(path.join(dir.path, 'absent'), growing, new BufferPool(4096, 4)), () => 0),
      /ENOENT/,
    );
  } finally {
    await dir.cleanup();
  }
});

test('a reader destroyed while its read-ahead waits for the writer closes at once, with its file', async () => {
  const dir = await makeTempDir('barysafe-growing-');
  try {
    const file = path.join(dir.path, 'copy');
    await writeFile(file, Buffer.alloc(8192, 7));
    const growing = new GrowingFile();
    growing.grew(4096);
    const stream = readGrowing(file, growing, new BufferPool(4096, 4));
    const first = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
    assert.equal(first.length, 4096);
    stream.pause();
    await sleep(30); // the read after it now waits for the writer's next grew()
    const closed = new Promise((resolve) => stream.once('close', resolve));
    stream.destroy();
    await closed;
    // The writer goes on after the reader left: nothing more reaches the destroyed stream.
    let later = 0;
    stream.on('data', (c: Buffer) => (later += c.length));
    growing.grew(8192);
    growing.end();
    await sleep(30);
    assert.equal(later, 0);
    const fds = await readdir('/proc/self/fd');
    const targets = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
    assert.equal(targets.includes(file), false, 'the file is closed');
  } finally {
    await dir.cleanup();
  }
});
