import assert from 'node:assert/strict';
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { EarlyWriteback } from '../src/platform/early-writeback.js';
import { makeTempDir } from './support/services.js';

test('a file written in pieces is synced every N bytes, one datasync at a time, and settles before its fsync', async () => {
  const dir = await makeTempDir('barysafe-writeback-');
  try {
    const file = path.join(dir.path, 'object');
    const fh = await open(file, 'w');
    let started = 0;
    let running = 0;
    let overlapped = false;
    const writeback = new EarlyWriteback(async () => {
      started++;
      running++;
      if (running > 1) overlapped = true;
      try {
        await fh.datasync();
      } finally {
        running--;
      }
    }, 1 << 20);
    const piece = Buffer.alloc(256 << 10, 1);
    for (let i = 0; i < 40; i++) {
      await fh.write(piece);
      writeback.wrote(piece.length);
      if (i % 8 === 7) await new Promise((r) => setTimeout(r, 20)); // let the syncs finish now and then
    }
    await writeback.settle();
    assert.equal(running, 0, 'no datasync is left in flight once settled');
    assert.equal(overlapped, false, 'never two at once');
    // 10 MiB in 1 MiB steps: at least one sync per pause, at most one per MiB.
    assert.ok(started >= 5 && started <= 10, `${started} datasyncs for 10 MiB`);
    await fh.sync();
    await fh.close();
    assert.equal((await readFile(file)).length, 40 * piece.length);
  } finally {
    await dir.cleanup();
  }
});

test('a failed datasync fails the next write and the settle, even when a later fsync would succeed', async () => {
  // On Linux a write-back error is reported once per open file: the datasync that saw it may be
  // the only one told, so its error must not be lost.
  const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
  const writeback = new EarlyWriteback(() => Promise.reject(eio), 10);
  writeback.wrote(10);
  await assert.rejects(writeback.settle(), /EIO/);
  assert.throws(() => writeback.wrote(1), /EIO/);
});
