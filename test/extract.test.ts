// Extraction in one pass: what is decrypted is what was verified, nothing is placed before the
// last tag, the SHA-256 and the size all passed, a failure leaves no file behind, and a download
// larger than the manifest says stops there.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { makeTempDir } from './support/services.js';
import { encryptStream, newIdentity } from '../src/crypto/age.js';
import { BarysafeError, ExitCode } from '../src/errors.js';
import type { ArtifactRecord } from '../src/repository/manifest.js';
import { Repository } from '../src/repository/repository.js';
import { StorageNotFoundError, type Storage } from '../src/repository/storage.js';
import { extractArtifacts } from '../src/restore/extract.js';
import { OFFLOAD_MIN_BYTES } from '../src/crypto/offloaded-sha256.js';

/** A storage that serves in-memory objects (or endless streams) and counts what was read. */
function memoryStorage(objects: Record<string, Buffer | (() => Readable)>): Storage & { served: number } {
  const s = {
    displayUrl: 'memory:',
    served: 0,
    async get(key: string) {
      const o = objects[key];
      if (!o) throw new StorageNotFoundError(key);
      const body = typeof o === 'function' ? o() : Readable.from([o.subarray(0, 70_000), o.subarray(70_000)]);
      return Readable.from(
        (async function* () {
          for await (const c of body) {
            s.served += (c as Buffer).length;
            yield c as Buffer;
          }
        })(),
        { objectMode: false },
      );
    },
    put: async () => assert.fail('no writes'),
    head: async () => null,
    async *list() {},
    delete: async () => {},
    probeWritable: async () => {},
  };
  return s as unknown as Storage & { served: number };
}

/** The one object these tests serve, and a storage serving only it. */
const OBJECT = 'snapshots/x/barycenter.db.age';
const serving = (body: Buffer | (() => Readable)) => memoryStorage({ [OBJECT]: body });

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function encrypted(recipient: string, plain: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of await encryptStream([recipient], Readable.from([plain]))) out.push(c as Buffer);
  return Buffer.concat(out);
}

function record(object: Buffer, size = object.length): ArtifactRecord {
  return {
    name: 'barycenter.db',
    kind: 'database',
    object: OBJECT,
    source: '/var/lib/barycenter/barycenter.db',
    size,
    sha256: sha256(object),
    plaintext_size: 0,
  };
}

async function extractFails(
  storage: Storage,
  a: ArtifactRecord,
  identity: string,
  dir: string,
): Promise<BarysafeError> {
  const dest = path.join(dir, 'out', 'barycenter.db');
  try {
    await extractArtifacts(new Repository(storage), [a], {
      identities: [identity],
      place: () => ({ dest, mode: 0o600 }),
    });
  } catch (e) {
    assert.ok(e instanceof BarysafeError, String(e));
    assert.deepEqual(await readdir(path.dirname(dest)), [], 'nothing placed, no temp file left');
    return e;
  }
  assert.fail('extracted a bad object');
}

describe('extract: one pass, all-or-nothing', () => {
  test('places the plaintext with its mode; nothing else is left in the directory', async () => {
    const dir = await makeTempDir();
    try {
      const k = await newIdentity();
      const plain = randomBytes(300_000);
      const ct = await encrypted(k.recipient, plain);
      const dest = path.join(dir.path, 'out', 'config.toml');
      const placed = await extractArtifacts(new Repository(serving(ct)), [record(ct)], {
        identities: [k.identity],
        place: () => ({ dest, mode: 0o640 }),
      });
      assert.equal(placed.length, 1);
      assert.ok((await readFile(dest)).equals(plain));
      assert.equal(statSync(dest).mode & 0o777, 0o640);
      assert.deepEqual(await readdir(path.dirname(dest)), ['config.toml']);
    } finally {
      await dir.cleanup();
    }
  });

  test('an object that matches the manifest but lacks its last chunk is refused, and nothing is placed', async () => {
    const dir = await makeTempDir();
    try {
      const k = await newIdentity();
      const ct = (await encrypted(k.recipient, randomBytes(200_000))).subarray(0, -1000);
      const e = await extractFails(serving(ct), record(ct), k.identity, dir.path);
      assert.equal(e.exitCode, ExitCode.INTEGRITY);
      assert.match(e.message, /corrupt or truncated/);
    } finally {
      await dir.cleanup();
    }
  });

  test('a wrong identity, with the object intact: the identity error, nothing placed', async () => {
    const dir = await makeTempDir();
    try {
      const k = await newIdentity();
      const ct = await encrypted(k.recipient, randomBytes(200_000));
      const other = await newIdentity();
      const e = await extractFails(serving(ct), record(ct), other.identity, dir.path);
      assert.equal(e.exitCode, ExitCode.IDENTITY);
    } finally {
      await dir.cleanup();
    }
  });

  test('a flipped byte: the object is reported as not matching the manifest', async () => {
    const dir = await makeTempDir();
    try {
      const k = await newIdentity();
      const ct = await encrypted(k.recipient, randomBytes(200_000));
      const bad = Buffer.from(ct);
      bad[100_000]! ^= 1;
      const e = await extractFails(serving(bad), record(ct), k.identity, dir.path);
      assert.equal(e.exitCode, ExitCode.INTEGRITY);
      assert.match(e.message, /barycenter\.db\.age \(barycenter\.db\) is corrupt: sha256/);
    } finally {
      await dir.cleanup();
    }
  });

  test('a download larger than the recorded size stops right there', async () => {
    const dir = await makeTempDir();
    try {
      const k = await newIdentity();
      const ct = await encrypted(k.recipient, randomBytes(200_000));
      const piece = randomBytes(1 << 20);
      const endless = () =>
        new Readable({
          read() {
            this.push(piece);
          },
        });
      const storage = serving(() => Readable.from([ct, ...Array.from({ length: 10_000 }, () => piece)]));
      const e = await extractFails(storage, record(ct), k.identity, dir.path);
      assert.equal(e.exitCode, ExitCode.INTEGRITY);
      assert.match(e.message, /is corrupt: larger than the \d+ bytes the manifest records; download stopped/);
      assert.ok(storage.served < ct.length + 4 * (1 << 20), `read ${storage.served} bytes`);
      const endlessStorage = serving(endless);
      const e2 = await extractFails(endlessStorage, record(ct), k.identity, dir.path);
      assert.match(e2.message, /larger than the/);
      assert.ok(existsSync(dir.path));
    } finally {
      await dir.cleanup();
    }
  });

  // From OFFLOAD_MIN_BYTES on, the SHA-256 runs on a worker thread beside the cipher: the same
  // all-or-nothing outcomes, for an object that crosses many of its slabs in one 20 MiB chunk.
  test('database-sized: placed byte for byte; a flipped byte in the last MiB or a lost tail places nothing', async () => {
    const dir = await makeTempDir();
    try {
      const k = await newIdentity();
      const plain = randomBytes(OFFLOAD_MIN_BYTES + (4 << 20) + 12_345);
      const ct = await encrypted(k.recipient, plain);
      const dest = path.join(dir.path, 'big', 'barycenter.db');
      await extractArtifacts(new Repository(serving(ct)), [record(ct)], {
        identities: [k.identity],
        place: () => ({ dest, mode: 0o600 }),
      });
      assert.ok((await readFile(dest)).equals(plain));

      const bad = Buffer.from(ct);
      bad[ct.length - 500_000]! ^= 1;
      const e = await extractFails(serving(bad), record(ct), k.identity, dir.path);
      assert.equal(e.exitCode, ExitCode.INTEGRITY);
      assert.match(e.message, /barycenter\.db\.age \(barycenter\.db\) is corrupt: sha256/);

      const short = ct.subarray(0, ct.length - 70_000);
      const e2 = await extractFails(serving(short), record(ct), k.identity, dir.path);
      assert.equal(e2.exitCode, ExitCode.INTEGRITY);
    } finally {
      await dir.cleanup();
    }
  });
});

describe('extract: several artifacts at once', () => {
  /** The database's object served slowly, so the small artifacts end while it is still being decrypted. */
  const slowly = (ct: Buffer) => () =>
    Readable.from(
      (async function* () {
        for (let at = 0; at < ct.length; at += 256 * 1024) {
          await new Promise((r) => setTimeout(r, 10));
          yield ct.subarray(at, at + 256 * 1024);
        }
      })(),
    );
  const artifactOf = (name: string, kind: ArtifactRecord['kind'], ct: Buffer): ArtifactRecord => ({
    name,
    kind,
    object: `snapshots/x/${name}.age`,
    source: `/etc/barycenter/${name}`,
    size: ct.length,
    sha256: sha256(ct),
    plaintext_size: 0,
  });

  test('they are placed in the manifest order, and a small one that fails is reported once the database has stopped', async () => {
    const dir = await makeTempDir();
    try {
      const k = await newIdentity();
      const db = randomBytes(OFFLOAD_MIN_BYTES + 3 * 1024 * 1024);
      const small = {
        'private_key.pem': randomBytes(1700),
        'jwks.json': randomBytes(500),
        'config.toml': randomBytes(900),
      };
      const cts: Record<string, Buffer> = { 'barycenter.db': await encrypted(k.recipient, db) };
      for (const [n, b] of Object.entries(small)) cts[n] = await encrypted(k.recipient, b);
      const artifacts = [
        artifactOf('barycenter.db', 'database', cts['barycenter.db']!),
        artifactOf('private_key.pem', 'key', cts['private_key.pem']!),
        artifactOf('jwks.json', 'jwks', cts['jwks.json']!),
        artifactOf('config.toml', 'config', cts['config.toml']!),
      ];
      const objects = (jwks: Buffer) => ({
        [artifacts[0]!.object]: slowly(cts['barycenter.db']!),
        [artifacts[1]!.object]: cts['private_key.pem']!,
        [artifacts[2]!.object]: jwks,
        [artifacts[3]!.object]: cts['config.toml']!,
      });
      const out = path.join(dir.path, 'good');
      const placed: string[] = [];
      const staged = await extractArtifacts(new Repository(memoryStorage(objects(cts['jwks.json']!))), artifacts, {
        identities: [k.identity],
        place: (a) => ({ dest: path.join(out, a.name), mode: 0o600 }),
        onPlaced: (x) => void placed.push(x.artifact.name),
      });
      assert.deepEqual(placed, ['barycenter.db', 'private_key.pem', 'jwks.json', 'config.toml']);
      assert.deepEqual(
        staged.map((x) => x.artifact.name),
        placed,
      );
      assert.ok((await readFile(path.join(out, 'barycenter.db'))).equals(db));
      assert.ok((await readFile(path.join(out, 'jwks.json'))).equals(small['jwks.json']));

      const bad = Buffer.from(cts['jwks.json']!);
      bad[bad.length - 20]! ^= 1;
      const failing = path.join(dir.path, 'bad');
      // jwks.json first this time: it fails at once, while the database is still being decrypted.
      const failFirst = [artifacts[2]!, artifacts[0]!, artifacts[1]!, artifacts[3]!];
      const seen: string[] = [];
      const e = await extractArtifacts(new Repository(memoryStorage(objects(bad))), failFirst, {
        identities: [k.identity],
        place: (a) => ({ dest: path.join(failing, a.name), mode: 0o600 }),
        onPlaced: (x) => void seen.push(x.artifact.name),
      }).then(
        () => assert.fail('extracted a corrupt jwks.json'),
        (err: unknown) => err,
      );
      assert.ok(e instanceof BarysafeError && e.exitCode === ExitCode.INTEGRITY, String(e));
      assert.match(e.message, /jwks\.json\.age \(jwks\.json\) is corrupt/);
      // The database, still downloading when jwks.json failed, had ended too: no temp file is left.
      const left = await readdir(failing);
      assert.deepEqual(
        left.filter((f) => f.includes('.tmp') || f.startsWith('.')),
        [],
        `left: ${left.join(', ')}`,
      );
      assert.deepEqual(seen, [], 'nothing after the failed one was handed on');

      // In the manifest's order jwks.json fails while the database is awaited: reported in its turn.
      const inOrder: string[] = [];
      await assert.rejects(
        extractArtifacts(new Repository(memoryStorage(objects(bad))), artifacts, {
          identities: [k.identity],
          place: (a) => ({ dest: path.join(dir.path, 'bad2', a.name), mode: 0o600 }),
          onPlaced: (x) => void inOrder.push(x.artifact.name),
        }),
        /jwks\.json\.age \(jwks\.json\) is corrupt/,
      );
      assert.deepEqual(inOrder, ['barycenter.db', 'private_key.pem']);
    } finally {
      await dir.cleanup();
    }
  });
});
