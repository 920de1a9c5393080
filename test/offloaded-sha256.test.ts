// The SHA-256 a restore runs on a second core (src/crypto/offloaded-sha256.ts), over buffers it
// lends out: the digest is node:crypto's for every size and fill, memory stays at its few slabs
// however fast the caller fills them, and a worker that dies fails the hash instead of returning
// a wrong one.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { SLAB_BYTES, slabSha256 } from '../src/crypto/offloaded-sha256.js';
import { BarysafeError } from '../src/errors.js';

const MiB = 1 << 20;
const reference = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Hashes `data` as a restore does: take a buffer, fill up to `fill` bytes of it, submit. */
async function hashIn(data: Buffer, fill: number, offload: boolean): Promise<string> {
  const h = slabSha256({ offload });
  for (let i = 0; i < data.length;) {
    const buf = await h.take();
    const n = Math.min(fill, buf.length, data.length - i);
    buf.set(data.subarray(i, i + n));
    h.submit(buf, n);
    i += n;
  }
  return h.digest();
}

describe('slab SHA-256, inline and on a worker', () => {
  const data = randomBytes(9 * MiB + 17);
  const sizes = [0, 1, MiB - 1, MiB, MiB + 1, 4 * MiB, data.length];
  for (const offload of [false, true]) {
    test(`${offload ? 'worker' : 'inline'}: the same digest for sizes 0 … 9 MiB+17, buffers filled with 1 B … all`, async () => {
      for (const size of sizes) {
        const part = data.subarray(0, size);
        for (const fill of [size < 4096 ? 1 : 4093, 64 * 1024, MiB]) {
          assert.equal(await hashIn(part, fill, offload), reference(part), `size ${size}, fills of ${fill}`);
        }
      }
    });
  }

  test('worker: the buffers lent out are few, and take() waits until the worker gives one back', async () => {
    const h = slabSha256({ offload: true });
    const held: Uint8Array[] = [];
    // Taken and never submitted: the pool runs dry, and the next take() does not resolve.
    let waiting: Promise<Uint8Array>;
    for (;;) {
      const taking = h.take();
      const next = await Promise.race([taking, new Promise<null>((r) => setTimeout(() => r(null), 200))]);
      if (!next) {
        waiting = taking;
        break;
      }
      held.push(next);
      assert.ok(held.length <= 16, 'the pool is bounded');
    }
    assert.ok(held.length >= 2, `${held.length} buffers: enough for one filling while one is decrypted`);
    assert.ok(held.every((b) => b.length === SLAB_BYTES));
    const fill = randomBytes(SLAB_BYTES);
    held[0]!.set(fill);
    h.submit(held[0]!, SLAB_BYTES);
    assert.equal(held[0]!.length, 0, 'a submitted buffer is gone from the caller (transferred, not copied)');
    const back = await waiting; // the worker hashed it and gave it back
    assert.equal(back.length, SLAB_BYTES);
    assert.equal(await h.digest(), reference(fill));
  });

  test('worker: only a whole buffer from take() can be submitted', async () => {
    const h = slabSha256({ offload: true });
    try {
      assert.throws(() => h.submit(new Uint8Array(SLAB_BYTES), 1), /take\(\)/);
      const buf = await h.take();
      assert.throws(() => h.submit(buf.subarray(1), 1), /take\(\)/);
      assert.throws(() => h.submit(buf, SLAB_BYTES + 1), /take\(\)/);
      h.submit(buf, 0);
      assert.equal(buf.length, 0, 'submitted: the caller holds it no more');
      assert.equal(await h.digest(), reference(Buffer.alloc(0)));
    } finally {
      h.abort();
    }
  });

  test('worker: a worker that is gone fails the hash (no digest of part of the stream)', async () => {
    const h = slabSha256({ offload: true });
    const first = await h.take();
    h.submit(first, first.length);
    h.abort();
    await new Promise((r) => setTimeout(r, 50));
    const lostWorker = (e: unknown) => {
      // A BarysafeError of the restore, so the restore's read loop does not take it for the repository's.
      assert.ok(e instanceof BarysafeError && e.kind === 'restore', String(e));
      assert.match(e.message, /the hashing worker exited with code \d+; nothing was placed/);
      return true;
    };
    await assert.rejects(async () => {
      for (let i = 0; i < 32; i++) h.submit(await h.take(), 1);
    }, lostWorker);
    await assert.rejects(h.digest(), lostWorker);
  });
});
