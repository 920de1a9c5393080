import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BufferPool } from '../src/platform/buffer-pool.js';
import { GrowingFile, readGrowing } from '../src/platform/growing-file.js';
import { coalesce } from '../src/platform/coalesce.js';
import { pathToFileURL } from 'node:url';
import { newIdentity } from '../src/crypto/age.js';
import { storeArtifact } from '../src/backup/store-artifact.js';
import { FileStorage } from '../src/repository/file-storage.js';
import type { ObjectWriter } from '../src/repository/storage.js';
import { run } from './support/deployments.js';
import { makeTempDir } from './support/services.js';

test('a pool reuses what it gets back, and ignores foreign buffers, second gives and what it cannot keep', () => {
  const pool = new BufferPool(4096, 2);
  const a = pool.take();
  const b = pool.take();
  assert.equal(a.length, 4096);
  assert.notEqual(a.buffer, b.buffer);
  assert.equal(pool.allocated, 2);

  pool.give(a.subarray(0, 10)); // a view of a lent buffer gives back the whole buffer
  pool.give(a); // the second give of the same buffer is ignored
  const c = pool.take();
  assert.equal(c.buffer, a.buffer);
  assert.equal(c.length, 4096);
  const d = pool.take();
  assert.notEqual(d.buffer, a.buffer, 'a buffer given twice was lent twice');
  assert.equal(pool.allocated, 3);

  pool.give(Buffer.alloc(4096)); // never lent: ignored
  pool.give(b);
  pool.give(c);
  pool.give(d); // beyond `keep`: left to the GC
  assert.notEqual(pool.take().buffer, d.buffer);
  pool.take();
  pool.take();
  assert.equal(pool.allocated, 4, 'only two buffers were kept for reuse');
});

// What a backup does with the copy of a database: reads into pooled buffers, which the
// encryption gives back once it has sealed them. The repository here is slow, so the reads go on
// while writes wait: a reused buffer must never be one whose bytes are still to be sealed, and
// the age CLI must decrypt exactly the file's bytes.
test('reads of a growing file into pooled buffers, given back by the encryption, reach the ciphertext intact', async () => {
  const dir = await makeTempDir('barysafe-pool-');
  try {
    const { identity, recipient } = await newIdentity();
    const identityFile = path.join(dir.path, 'identity.txt');
    await writeFile(identityFile, `${identity}\n`, { mode: 0o600 });
    const file = path.join(dir.path, 'copy');
    const data = randomBytes(6 * 1024 * 1024 + 4321);
    await writeFile(file, data);
    const growing = new GrowingFile();
    growing.end();
    const pool = new BufferPool(256 * 1024, 8);
    const repo = path.join(dir.path, 'repo');
    await mkdir(repo, { mode: 0o700 });
    const storage = new FileStorage(pathToFileURL(repo).href);
    let writes = 0;
    const slow = Object.assign(Object.create(storage) as FileStorage, {
      openWriter: async (key: string): Promise<ObjectWriter> => {
        const w = await storage.openWriter(key);
        return {
          ...w,
          write: async (buffers) => {
            if (writes++ % 4 === 0) await sleep(2);
            return w.write(buffers);
          },
        };
      },
    });
    const stored = await storeArtifact(slow, [recipient], 'x/copy.age', readGrowing(file, growing, pool), {
      release: (chunk) => pool.give(chunk),
    });
    assert.equal(stored.plaintext_size, data.length);
    const reads = Math.ceil(data.length / pool.size);
    assert.ok(writes >= 6, `${writes} writes of ${data.length} bytes: the slow writer was not used`);
    assert.ok(pool.allocated < reads / 2, `${pool.allocated} buffers allocated for ${reads} reads`);
    const dec = await run('age', ['-d', '-i', identityFile, path.join(repo, 'x', 'copy.age')]);
    assert.equal(dec.code, 0, dec.stderr);
    assert.ok(dec.stdout.equals(data), 'the age CLI decrypted other bytes than the file holds');
  } finally {
    await dir.cleanup();
  }
});

// pg_dump's output through a pipe: pieces of every size, regrouped into full pooled buffers.
test('coalesce regroups pieces into full buffers, reused once given back, and keeps every byte in order', async () => {
  const data = randomBytes(5 * 65536 + 1234);
  const sizes = [1, 13, 14 * 1024, 65536, 3, 200_000, 65535, 7];
  async function* pieces() {
    for (let at = 0, i = 0; at < data.length; i++) {
      const n = Math.min(sizes[i % sizes.length]!, data.length - at);
      yield data.subarray(at, at + n);
      at += n;
    }
  }
  const pool = new BufferPool(65536, 2);
  const out: Buffer[] = [];
  const lengths: number[] = [];
  for await (const b of coalesce(pieces(), pool)) {
    lengths.push(b.length);
    out.push(Buffer.from(b)); // a copy: the buffer itself goes back to the pool
    pool.give(b);
  }
  assert.deepEqual(lengths, [65536, 65536, 65536, 65536, 65536, 1234]);
  assert.ok(Buffer.concat(out).equals(data));
  assert.equal(pool.allocated, 1, 'the buffers given back were not reused'); // each is back before the next is taken

  const empty: Buffer[] = [];
  for await (const b of coalesce((async function* () {})(), new BufferPool(16, 1))) empty.push(b);
  assert.equal(empty.length, 0, 'an empty source yields no buffer');
});
