// The SHA-256 a restore runs on a second core (src/crypto/offloaded-sha256.ts): the digest is
// node:crypto's for every size and chunking, memory stays at its few slabs however fast the
// caller pushes, and a worker that dies fails the hash instead of returning a wrong one.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { streamingSha256 } from '../src/crypto/offloaded-sha256.js';
import { BarysafeError } from '../src/errors.js';

const MiB = 1 << 20;
const reference = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function hashIn(data: Buffer, chunk: number, offload: boolean): Promise<{ hex: string; waits: number }> {
  const h = streamingSha256({ offload });
  let waits = 0;
  for (let i = 0; i < data.length; i += chunk) {
    const behind = h.update(data.subarray(i, i + chunk));
    if (behind) {
      waits++;
      await behind;
    }
  }
  return { hex: await h.digest(), waits };
}

describe('streaming SHA-256, inline and on a worker', () => {
  const data = randomBytes(9 * MiB + 17);
  const sizes = [0, 1, MiB - 1, MiB, MiB + 1, 4 * MiB, data.length];
  for (const offload of [false, true]) {
    test(`${offload ? 'worker' : 'inline'}: the same digest for sizes 0 … 9 MiB+17 in chunks of 1 B … 9 MiB`, async () => {
      for (const size of sizes) {
        const part = data.subarray(0, size);
        for (const chunk of [size < 4096 ? 1 : 4093, 64 * 1024, MiB + 3, Math.max(size, 1)]) {
          const { hex } = await hashIn(part, chunk, offload);
          assert.equal(hex, reference(part), `size ${size}, chunks of ${chunk}`);
        }
      }
    });
  }

  test('worker: a caller pushing faster than the hash is held back (bounded slabs), and the digest is still right', async () => {
    const big = randomBytes(24 * MiB);
    const { hex, waits } = await hashIn(big, 8 * MiB, true);
    assert.equal(hex, reference(big));
    assert.ok(waits > 0, 'an 8 MiB chunk needs more slabs than there are: update() made the caller wait');
  });

  test('worker: a worker that is gone fails the hash (no digest of part of the stream)', async () => {
    const h = streamingSha256({ offload: true });
    h.update(randomBytes(2 * MiB));
    h.abort();
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(
      async () => {
        for (let i = 0; i < 8; i++) await h.update(randomBytes(MiB));
        await h.digest();
      },
      (e: unknown) => {
        // A BarysafeError of the restore, so the restore's read loop does not take it for the repository's.
        assert.ok(e instanceof BarysafeError && e.kind === 'restore', String(e));
        assert.match(e.message, /the hashing worker exited with code \d+; nothing was placed/);
        return true;
      },
    );
  });
});
