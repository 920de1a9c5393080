/**
 * One conformance suite for every storage backend (src/repository/storage.ts states the contract).
 * The same body runs against file:// in a temp dir and s3:// against the harness's S3 server
 * (TEST_S3_ENDPOINT, MinIO in Docker, or s3rver). Backend-specific failure modes follow it.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { FileStorage } from '../src/repository/file-storage.js';
import { FILE_TMP_DIR } from '../src/repository/layout.js';
import { openStorage, type RepositoryLocation } from '../src/repository/open-storage.js';
import { S3Storage } from '../src/repository/s3-storage.js';
import { openReader } from '../src/repository/object-reader.js';
import { openWriter } from '../src/repository/object-writer.js';
import {
  RepositoryMissingError,
  StorageError,
  StorageExistsError,
  StorageNotFoundError,
  type Storage,
} from '../src/repository/storage.js';
import { freeLoopbackPort } from '../src/platform/ports.js';
import { getS3, makeTempDir, useS3Credentials, type TempDir, type TestS3 } from './support/services.js';

const MiB = 1024 * 1024;

/** A stream of `size` random bytes and a promise of their sha256, to compare what comes back. */
function randomStream(size: number, chunk = MiB): { body: Readable; sha256: Promise<string> } {
  const h = createHash('sha256');
  let resolve!: (s: string) => void;
  const sha256 = new Promise<string>((r) => (resolve = r));
  const body = Readable.from(
    (function* () {
      for (let left = size; left > 0; left -= chunk) {
        const b = randomBytes(Math.min(chunk, left));
        h.update(b);
        yield b;
      }
      resolve(h.digest('hex'));
    })(),
  );
  if (size === 0) resolve(h.digest('hex'));
  return { body, sha256 };
}

/** Emits `goodBytes` then fails with `err`, as a dump whose producer dies half-way. */
function failingStream(goodBytes: number, err: Error): Readable {
  return Readable.from(
    (async function* () {
      for (let left = goodBytes; left > 0; left -= MiB) yield randomBytes(Math.min(MiB, left));
      await new Promise((r) => setTimeout(r, 10));
      throw err;
    })(),
  );
}

async function sha256Of(s: Readable): Promise<{ sha: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of s) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { sha: h.digest('hex'), size };
}

async function textOf(s: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts).toString();
}

async function keys(s: Storage, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of s.list(prefix)) out.push(o.key);
  return out;
}

interface Backend {
  storage: Storage;
  /** Larger than one upload part, so S3 goes multipart. */
  bigSize: number;
  /** A repository that does not exist (no folder, no bucket), and one that exists and holds nothing. */
  missing(): Storage;
  empty(): Promise<Storage>;
  cleanup(): Promise<void>;
}

function conformance(name: string, setup: () => Promise<Backend>): void {
  describe(`storage conformance: ${name}`, () => {
    let b: Backend;
    let s: Storage;
    before(async () => {
      b = await setup();
      s = b.storage;
    });
    after(async () => {
      await s?.close?.();
      await b?.cleanup();
    });

    it('probeWritable succeeds on a writable repository', async () => {
      await s.probeWritable();
    });

    it('round-trips a multi-part stream byte for byte (sha256), with size, head and progress', async () => {
      const size = b.bigSize + 12345; // not a multiple of the part size
      const { body, sha256 } = randomStream(size);
      let progress = 0;
      const info = await s.put('rt/big.bin', body, { onProgress: (n) => (progress = n) });
      assert.deepEqual(info, { key: 'rt/big.bin', size });
      assert.equal(progress, size);
      assert.deepEqual(await s.head('rt/big.bin'), { key: 'rt/big.bin', size });
      const got = await sha256Of(await s.get('rt/big.bin'));
      assert.equal(got.size, size);
      assert.equal(got.sha, await sha256);
    });

    it("openReader reads the same bytes into the caller's buffers, full but for the last read", async () => {
      const size = b.bigSize + 12345;
      const { body, sha256 } = randomStream(size, 65536 + 7);
      await s.put('or/big.bin', body);
      const r = await openReader(s, 'or/big.bin');
      const h = createHash('sha256');
      const reads: number[] = [];
      try {
        for (;;) {
          const buf = new Uint8Array(MiB);
          const n = await r.read(buf);
          reads.push(n);
          if (n === 0) break;
          h.update(buf.subarray(0, n));
        }
      } finally {
        await r.close();
      }
      assert.equal(h.digest('hex'), await sha256);
      assert.equal(
        reads.reduce((x, y) => x + y, 0),
        size,
      );
      assert.ok(reads.slice(0, -2).every((n) => n === MiB));
      await assert.rejects(
        openReader(s, 'or/missing'),
        (e: unknown) => e instanceof StorageNotFoundError && e.key === 'or/missing',
      );
    });

    it('round-trips small and empty objects', async () => {
      await s.put('rt/small.txt', Readable.from([Buffer.from('hello '), Buffer.from('world')]));
      assert.equal(await textOf(await s.get('rt/small.txt')), 'hello world');
      const info = await s.put('rt/empty', Readable.from([] as Buffer[]));
      assert.equal(info.size, 0);
      assert.deepEqual(await s.head('rt/empty'), { key: 'rt/empty', size: 0 });
      assert.equal(await textOf(await s.get('rt/empty')), '');
    });

    it('getRange reads only the bytes asked for, clamped to the object', async () => {
      await s.put('gr/obj', Readable.from([Buffer.from('0123456789abcdef')]));
      const text = async (a: number, z: number) => (await s.getRange('gr/obj', a, z)).toString();
      assert.equal(await text(0, 4), '0123');
      assert.equal(await text(10, 16), 'abcdef');
      assert.equal(await text(12, 100), 'cdef');
      assert.equal(await text(16, 20), '');
      assert.equal(await text(3, 3), '');
      await s.put('gr/empty', Readable.from([] as Buffer[]));
      assert.equal((await s.getRange('gr/empty', 0, 10)).length, 0);
      await assert.rejects(
        s.getRange('gr/missing', 0, 10),
        (e: unknown) => e instanceof StorageNotFoundError && e.key === 'gr/missing',
      );
      await assert.rejects(s.getRange('gr/obj', 5, 2), StorageError);
    });

    it('getRange of a multi-part object returns exactly those bytes', async () => {
      const { body } = randomStream(b.bigSize + 1);
      await s.put('gr/big', body);
      const whole: Buffer[] = [];
      for await (const c of await s.get('gr/big')) whole.push(c as Buffer);
      const all = Buffer.concat(whole);
      assert.deepEqual(await s.getRange('gr/big', 0, 300), all.subarray(0, 300));
      const mid = 5 * MiB - 7;
      assert.deepEqual(await s.getRange('gr/big', mid, mid + 20), all.subarray(mid, mid + 20));
      assert.deepEqual(await s.getRange('gr/big', all.length - 5, all.length + 5), all.subarray(all.length - 5));
    });

    it('head is a stat: size, and no retention where none was set', async () => {
      await s.put('hd/k', Readable.from([Buffer.from('12345')]));
      const st = await s.head('hd/k');
      assert.equal(st?.size, 5);
      assert.equal(st?.retention, undefined);
    });

    it('overwrites an existing key without ifNoneMatch', async () => {
      await s.put('ow/k', Readable.from([Buffer.from('one')]));
      await s.put('ow/k', Readable.from([Buffer.from('two')]));
      assert.equal(await textOf(await s.get('ow/k')), 'two');
    });

    it('missing keys: get rejects StorageNotFoundError, head is null, delete is a no-op', async () => {
      await assert.rejects(
        s.get('missing/nothing'),
        (e: unknown) => e instanceof StorageNotFoundError && e.key === 'missing/nothing',
      );
      assert.equal(await s.head('missing/nothing'), null);
      await s.delete('missing/nothing');
      assert.deepEqual(await keys(s, 'missing/'), []);
    });

    it('lists recursively, in lexical order, filtered by prefix', async () => {
      const ks = ['ls/b', 'ls/a/b/10', 'ls/a/b/2', 'ls/a/c', 'ls/a/b/1/x', 'ls/a-b', 'ls/aa'];
      for (const k of ks) await s.put(k, Readable.from([Buffer.from(k)]));
      const sorted = [...ks].sort();
      assert.deepEqual(await keys(s, 'ls/'), sorted);
      assert.deepEqual(await keys(s, 'ls/a/b/'), ['ls/a/b/1/x', 'ls/a/b/10', 'ls/a/b/2']);
      assert.deepEqual(
        await keys(s, 'ls/a'),
        sorted.filter((k) => k.startsWith('ls/a')),
      );
      assert.deepEqual(await keys(s, 'ls/zzz'), []);
      const sizes = [];
      for await (const o of s.list('ls/a/c')) sizes.push(o);
      assert.deepEqual(sizes, [{ key: 'ls/a/c', size: 'ls/a/c'.length }]);
    });

    it('lists more than one page of keys', async () => {
      // S3 pages hold 1000 keys; s3rver needs --openssl-legacy-provider for the continuation token.
      const n = 1005;
      const todo = Array.from({ length: n }, (_, i) => `page/${String(i).padStart(4, '0')}`);
      const worker = async () => {
        for (let k = todo.pop(); k !== undefined; k = todo.pop()) await s.put(k, Readable.from([Buffer.from('x')]));
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      const got = await keys(s, 'page/');
      assert.equal(got.length, n);
      assert.equal(got[0], 'page/0000');
      assert.equal(got[n - 1], `page/${n - 1}`);
    });

    it('delete removes the object', async () => {
      await s.put('del/k', Readable.from([Buffer.from('x')]));
      await s.delete('del/k');
      assert.equal(await s.head('del/k'), null);
      assert.deepEqual(await keys(s, 'del/'), []);
    });

    it('ifNoneMatch refuses to replace an existing object, and keeps it', async () => {
      await s.put('inm/manifest.json', Readable.from([Buffer.from('first')]), { ifNoneMatch: true });
      await assert.rejects(
        s.put('inm/manifest.json', Readable.from([Buffer.from('second')]), { ifNoneMatch: true }),
        (e: unknown) => e instanceof StorageExistsError && e.key === 'inm/manifest.json',
      );
      assert.equal(await textOf(await s.get('inm/manifest.json')), 'first');
    });

    for (const [label, good] of [
      ['before the first part is complete', 1000],
      ['after several parts were sent', -1],
    ] as const) {
      it(`a body stream that errors ${label} rejects with its own error and leaves no object`, async () => {
        const boom = new Error('pg_dump exited with code 1');
        const bytes = good === -1 ? b.bigSize : good;
        await assert.rejects(s.put('err/dump.age', failingStream(bytes, boom)), (e: unknown) => {
          assert.equal(e, boom, `expected the stream's own error, got ${String(e)}`);
          return true;
        });
        assert.equal(await s.head('err/dump.age'), null);
        assert.deepEqual(await keys(s, 'err/'), []);
      });
    }

    it('a repository that does not exist is not an empty one: list and get say "no repository at"', async () => {
      const m = b.missing();
      try {
        const missing = (e: unknown) => {
          assert.ok(e instanceof RepositoryMissingError, `expected RepositoryMissingError, got ${String(e)}`);
          assert.match(
            e.message,
            new RegExp(`^no repository at ${m.displayUrl.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `),
          );
          assert.ok(e.hint, 'a hint says what to fix');
          return true;
        };
        await assert.rejects(keys(m, 'snapshots/'), missing);
        await assert.rejects(keys(m, ''), missing);
        await assert.rejects(m.get('snapshots/x/manifest.json'), missing);
        await assert.rejects(openReader(m, 'snapshots/x/manifest.json'), missing);
        assert.equal(await m.head('snapshots/x/manifest.json'), null);
        await m.delete('snapshots/x/manifest.json');
      } finally {
        await m.close?.();
      }
      const e = await b.empty();
      try {
        assert.deepEqual(await keys(e, 'snapshots/'), []);
        assert.deepEqual(await keys(e, ''), []);
      } finally {
        await e.close?.();
      }
    });

    it('an object writer stores its buffers in order, and an aborted one leaves no object', async () => {
      const parts = [randomBytes(65536), randomBytes(16), randomBytes(MiB + 3), Buffer.alloc(0), randomBytes(7)];
      let progress = 0;
      const w = await openWriter(s, 'writer/whole.bin', { onProgress: (n) => (progress = n) });
      await w.write(parts.slice(0, 2));
      await w.write(parts.slice(2));
      const size = parts.reduce((n, p) => n + p.length, 0);
      assert.deepEqual(await w.close(), { key: 'writer/whole.bin', size });
      assert.equal(progress, size);
      const got = await sha256Of(await s.get('writer/whole.bin'));
      assert.equal(got.sha, createHash('sha256').update(Buffer.concat(parts)).digest('hex'));

      const a = await openWriter(s, 'writer/aborted.bin');
      await a.write([randomBytes(2 * MiB)]);
      await a.abort();
      assert.equal(await s.head('writer/aborted.bin'), null);
      assert.deepEqual(await keys(s, 'writer/'), ['writer/whole.bin']);

      await assert.rejects(
        (async () => {
          const x = await openWriter(s, 'writer/whole.bin', { ifNoneMatch: true });
          await x.write([Buffer.from('other')]);
          return x.close();
        })(),
        StorageExistsError,
      );
      assert.equal((await s.head('writer/whole.bin'))?.size, size, 'a create-if-absent writer replaced the object');
    });

    it('rejects keys that could escape the repository', async () => {
      for (const k of ['', '../x', 'a/../../x', '/abs', 'a//b']) {
        await assert.rejects(s.put(k, Readable.from([Buffer.from('x')])), StorageError, `key ${JSON.stringify(k)}`);
      }
    });
  });
}

// ------------------------------------------------------------------ file://

let fileTmp: TempDir;
conformance('file://', async () => {
  fileTmp = await makeTempDir('barysafe-file-repo-');
  const storage = openStorage({ url: pathToFileURL(path.join(fileTmp.path, 'repo')).href });
  assert.ok(storage instanceof FileStorage);
  return {
    storage,
    bigSize: 20 * MiB,
    missing: () => openStorage({ url: pathToFileURL(path.join(fileTmp.path, 'does/not/exist')).href }),
    empty: async () => {
      await mkdir(path.join(fileTmp.path, 'empty'));
      return openStorage({ url: pathToFileURL(path.join(fileTmp.path, 'empty')).href });
    },
    cleanup: () => fileTmp.cleanup(),
  };
});

describe('file:// specifics', () => {
  let tmp: TempDir;
  before(async () => (tmp = await makeTempDir('barysafe-file-spec-')));
  after(() => tmp.cleanup());

  it('a create-if-absent writer whose key appeared meanwhile fails at close, and its abort then does nothing', async () => {
    const s = new FileStorage(pathToFileURL(path.join(tmp.path, 'r-race')).href);
    const w = await openWriter(s, 'snapshots/x/manifest.json', { ifNoneMatch: true });
    await w.write([Buffer.from('late')]);
    await s.put('snapshots/x/manifest.json', Readable.from([Buffer.from('first')]));
    await assert.rejects(w.close(), StorageExistsError);
    await w.abort(); // as storeArtifact does after any failure
    assert.equal(await textOf(await s.get('snapshots/x/manifest.json')), 'first');
    assert.deepEqual(await readdir(path.join(tmp.path, 'r-race', FILE_TMP_DIR)), [], 'a temp file was left');
    // The folder descriptors were closed once: the storage still works.
    await s.put('snapshots/x/other', Readable.from([Buffer.from('ok')]));
    assert.equal(await textOf(await s.get('snapshots/x/other')), 'ok');
  });

  it('writes 0600 files in 0700 directories and leaves no temp files behind', async () => {
    const s = new FileStorage(pathToFileURL(path.join(tmp.path, 'r1')).href);
    await s.put('snapshots/x/data.age', Readable.from([Buffer.from('x')]));
    await assert.rejects(s.put('snapshots/x/bad', failingStream(10, new Error('boom'))), /boom/);
    assert.equal((await stat(path.join(tmp.path, 'r1/snapshots/x/data.age'))).mode & 0o777, 0o600);
    assert.equal((await stat(path.join(tmp.path, 'r1/snapshots/x'))).mode & 0o777, 0o700);
    assert.deepEqual(await readdir(path.join(tmp.path, 'r1/.barysafe-tmp')), []);
    assert.deepEqual(await keys(s, ''), ['snapshots/x/data.age']);
  });

  // Tests run as root in CI, where permission bits stop nobody; a repository path that runs through
  // a regular file (ENOTDIR) fails for root too, so that is what this test uses.
  it('a repository that cannot be written fails with "not writable" naming the path', async () => {
    const file = path.join(tmp.path, 'a-file');
    await writeFile(file, 'not a directory');
    const s = new FileStorage(pathToFileURL(path.join(file, 'repo')).href);
    await assert.rejects(
      s.probeWritable(),
      (e: unknown) => e instanceof StorageError && /is not writable/.test(e.message) && e.message.includes(file),
    );
    await assert.rejects(s.put('k', Readable.from([Buffer.from('x')])), /is not writable/);
    await assert.rejects(
      keys(s, ''),
      (e: unknown) => e instanceof RepositoryMissingError && /is a file/.test(e.message),
    );
  });

  it('hints speak of the local folder, never of an endpoint, credentials or the network', async () => {
    const file = path.join(tmp.path, 'a-file-2');
    await writeFile(file, 'not a directory');
    const s = new FileStorage(pathToFileURL(path.join(file, 'repo')).href);
    for (const op of [() => s.probeWritable(), () => keys(s, 'snapshots/')]) {
      await assert.rejects(op(), (e: unknown) => {
        assert.ok(e instanceof StorageError && e.hint, String(e));
        assert.doesNotMatch(e.hint, /endpoint|credentials|network/);
        assert.match(e.hint, /repository\.url/);
        return true;
      });
    }
  });

  it(
    'a read-only directory fails with "not writable" (skipped as root: modes do not stop root)',
    { skip: process.getuid?.() === 0 },
    async () => {
      const { chmod, mkdir } = await import('node:fs/promises');
      const dir = path.join(tmp.path, 'ro');
      await mkdir(dir, { mode: 0o500 });
      await chmod(dir, 0o500);
      const s = new FileStorage(pathToFileURL(dir).href);
      await assert.rejects(s.probeWritable(), /is not writable/);
      await chmod(dir, 0o700);
    },
  );

  // The listing walks folders and lstat()s files concurrently: it must still see every object,
  // refuse a link found deep among many folders, and not return (or throw) before every walk it
  // started has closed its folder's descriptor.
  it('lists many folders completely, and a link deep among them is refused with no descriptor left open', async () => {
    const root = path.join(tmp.path, 'many');
    const s = new FileStorage(pathToFileURL(root).href);
    const expected: string[] = [];
    for (let i = 0; i < 30; i++) {
      const dir = path.join(root, 'snapshots', `s${String(i).padStart(2, '0')}`);
      await mkdir(path.join(dir, 'deeper'), { recursive: true });
      for (const f of ['a.age', 'b.age', 'deeper/c.json']) {
        await writeFile(path.join(dir, f), randomBytes(i + 1));
        expected.push(`snapshots/s${String(i).padStart(2, '0')}/${f}`);
      }
    }
    const listed: Array<{ key: string; size: number }> = [];
    for await (const o of s.list('snapshots/')) listed.push(o);
    assert.deepEqual(
      listed.map((o) => o.key),
      expected.sort(),
    );
    assert.equal(listed.find((o) => o.key === 'snapshots/s29/a.age')?.size, 30);

    const { symlink, readdir: ls } = await import('node:fs/promises');
    await symlink('/etc', path.join(root, 'snapshots', 's17', 'deeper', 'planted'));
    const fds = async () => (await ls('/proc/self/fd')).length;
    const before = await fds();
    await assert.rejects(keys(s, 'snapshots/'), /refusing to follow the symlink .*planted/);
    assert.equal(await fds(), before, 'a descriptor of the listing stayed open');
  });
});

// ------------------------------------------------------------------ s3://

let s3: TestS3 | undefined;
const s3Storage = (bucket: string, extra: Partial<RepositoryLocation> = {}) =>
  openStorage({
    url: `s3://${bucket}/conformance/run-${randomBytes(3).toString('hex')}`,
    endpoint: s3!.endpoint,
    region: s3!.region,
    force_path_style: true,
    checksum: 'when_required',
    part_size_mib: 5,
    queue_size: 2,
    ...extra,
  });

before(async () => {
  s3 = await getS3();
  useS3Credentials(s3);
});
after(async () => {
  await s3?.stop();
});

conformance('s3://', async () => {
  const bucket = await s3!.createBucket();
  return {
    storage: s3Storage(bucket),
    bigSize: 20 * MiB,
    missing: () => s3Storage(`missing-${randomBytes(4).toString('hex')}`),
    empty: async () => s3Storage(await s3!.createBucket()),
    cleanup: async () => {},
  };
});

describe('s3:// specifics', () => {
  it('a dead endpoint (closed port) fails fast with "unreachable" and the endpoint', async () => {
    const port = await freeLoopbackPort(); // nothing listens there now
    const s = new S3Storage('s3://bucket/p', { endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true });
    for (const op of [
      () => s.probeWritable(),
      () => s.head('k'),
      () => s.put('k', Readable.from([Buffer.from('x')])),
    ]) {
      const t0 = Date.now();
      await assert.rejects(op(), (e: unknown) => {
        assert.ok(e instanceof StorageError, String(e));
        assert.match(e.message, /unreachable/);
        assert.ok(e.message.includes(`127.0.0.1:${port}`), e.message);
        assert.match(e.hint ?? '', /endpoint and the network/);
        return true;
      });
      assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
    }
    await s.close();
  });

  it('a missing bucket is named in the error, with a hint to create it', async () => {
    const s = s3Storage(`missing-${randomBytes(4).toString('hex')}`);
    await assert.rejects(
      s.probeWritable(),
      (e: unknown) =>
        e instanceof RepositoryMissingError &&
        /bucket missing-\w+ does not exist/.test(e.message) &&
        /create the bucket/.test(e.hint ?? ''),
    );
    await s.close?.();
  });

  it('the endpoint password never appears in errors', async () => {
    const port = await freeLoopbackPort();
    const s = new S3Storage('s3://bucket/p', {
      endpoint: `http://user:hunter2secret@127.0.0.1:${port}`,
      forcePathStyle: true,
      maxAttempts: 1,
    });
    await assert.rejects(s.head('k'), (e: unknown) => !String((e as Error).message).includes('hunter2secret'));
    await s.close();
  });

  // What the default flexible checksums do depends on the store (s3rver stored aws-chunked
  // framing for streamed PutObject). Whatever the setting, what we fetch must be what we sent.
  for (const checksum of ['when_supported', 'when_required'] as const) {
    it(`checksum=${checksum}: uploaded objects come back byte-identical (no aws-chunked framing)`, async () => {
      const s = s3Storage(await s3!.createBucket(), { checksum });
      for (const size of [100, 6 * MiB + 1]) {
        const { body, sha256 } = randomStream(size, 64 * 1024);
        await s.put(`cs/${size}`, body);
        const got = await sha256Of(await s.get(`cs/${size}`));
        assert.equal(got.size, size);
        assert.equal(got.sha, await sha256);
      }
      await s.close?.();
    });
  }
});

describe('the object writer of a backend without its own (over put() of a stream)', () => {
  it("fails a write with the store's own error, and does not hang on a store that stopped reading", async () => {
    const refused = new StorageError('the store refused the upload');
    const stub = {
      displayUrl: 'stub://',
      put: async (_key: string, body: Readable) => {
        for await (const _ of body) break; // reads one chunk, then refuses (and reads no more)
        throw refused;
      },
    } as unknown as Storage;
    const w = await openWriter(stub, 'k');
    await assert.rejects(
      (async () => {
        for (let i = 0; i < 8; i++) await w.write([randomBytes(MiB)]);
      })(),
      (e: unknown) => e === refused,
    );
    await assert.rejects(w.write([Buffer.from('x')]), (e: unknown) => e === refused, 'a later write went on');
    await w.abort();
  });
});
