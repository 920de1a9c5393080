// barysafe's age streams against age itself: the published test vectors (C2SP CCTV testkit), the
// age CLI in both directions, and typage's own decrypter, for the sizes where chunking has edges.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { Decrypter, generateHybridIdentity, identityToRecipient } from 'age-encryption';
import { run } from './support/deployments.js';
import { makeTempDir } from './support/services.js';
import { AgeDecryptor, decryptStream, encryptStream, newIdentity } from '../src/crypto/age.js';
import { BarysafeError, ExitCode } from '../src/errors.js';

const TESTKIT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/age-testkit');
const KiB = 1024;
const MiB = 1024 * KiB;

interface Vector {
  name: string;
  expect: string;
  payload?: string;
  identities: string[];
  file: Buffer;
}

function readVector(name: string): Vector {
  const raw = readFileSync(path.join(TESTKIT, name));
  const split = raw.indexOf('\n\n');
  const fields = raw
    .subarray(0, split)
    .toString('utf8')
    .split('\n')
    .map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)] as const);
  const get = (k: string) => fields.filter(([key]) => key === k).map(([, v]) => v);
  const body = raw.subarray(split + 2);
  return {
    name,
    expect: get('expect')[0]!,
    payload: get('payload')[0],
    identities: get('identity'),
    file: get('compressed')[0] === 'zlib' ? inflateSync(body) : body,
  };
}

/** Feeds the file in uneven pieces, so chunk and header boundaries fall inside input buffers. */
function pieces(file: Buffer): Readable {
  const parts: Buffer[] = [];
  const sizes = [1, 7, 100, 65_536, 3, 70_000, 131_072];
  for (let off = 0, i = 0; off < file.length; i++) {
    const n = sizes[i % sizes.length]!;
    parts.push(file.subarray(off, off + n));
    off += n;
  }
  return Readable.from(parts);
}

async function collect(s: Readable, into: Buffer[]): Promise<void> {
  for await (const c of s) into.push(c as Buffer);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('age testkit (C2SP CCTV vectors, X25519 and binary format)', () => {
  const names = readdirSync(TESTKIT).filter((n) => !n.includes('.'));
  test('the fixture set is complete', () => {
    assert.equal(names.length, 67);
  });
  for (const name of names) {
    test(name, async () => {
      const v = readVector(name);
      let stream: Readable;
      try {
        stream = await decryptStream(v.identities, pieces(v.file));
      } catch (e) {
        assert.ok(e instanceof BarysafeError, `${name}: ${String(e)}`);
        switch (v.expect) {
          case 'no match':
            assert.equal(e.exitCode, ExitCode.IDENTITY, e.message);
            return;
          case 'HMAC failure':
            assert.equal(e.exitCode, ExitCode.INTEGRITY);
            assert.match(e.message, /MAC does not verify/);
            return;
          case 'header failure':
            assert.equal(e.exitCode, ExitCode.INTEGRITY, e.message);
            assert.doesNotMatch(e.message, /MAC does not verify/, 'a parse error, not a MAC mismatch');
            return;
          default:
            assert.fail(`${name}: expected ${v.expect}, the header was refused: ${e.message}`);
        }
      }
      assert.ok(
        v.expect === 'success' || v.expect === 'payload failure',
        `${name}: expected ${v.expect}, but the header was accepted`,
      );
      const out: Buffer[] = [];
      let failure: unknown;
      await collect(stream, out).catch((e: unknown) => (failure = e));
      if (v.expect === 'success') assert.equal(failure, undefined, `${name}: ${String(failure)}`);
      else {
        assert.ok(failure instanceof BarysafeError, `${name}: expected a payload failure`);
        assert.equal(failure.exitCode, ExitCode.INTEGRITY);
        assert.match(failure.message, /corrupt or truncated/);
      }
      // Whatever was released before a failure must be exactly the vector's plaintext prefix.
      assert.equal(sha256(Buffer.concat(out)), v.payload, `${name}: released plaintext`);
    });
  }
});

const SIZES = [0, 1, 64 * KiB - 1, 64 * KiB, 64 * KiB + 1, 5 * MiB + 12_345, 4 * MiB];

async function encryptToBuffer(recipients: string[], plain: Buffer, chunk = 1 * MiB): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let off = 0; off < plain.length; off += chunk) parts.push(plain.subarray(off, off + chunk));
  const out: Buffer[] = [];
  await collect(await encryptStream(recipients, Readable.from(parts)), out);
  return Buffer.concat(out);
}

async function decryptToBuffer(identities: string[], file: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  await collect(await decryptStream(identities, pieces(file)), out);
  return Buffer.concat(out);
}

describe('interop with the age CLI and typage', () => {
  test('the age CLI and typage decrypt what barysafe encrypts, one and three recipients', async () => {
    const dir = await makeTempDir();
    try {
      const keys = await Promise.all([newIdentity(), newIdentity(), newIdentity()]);
      const files = await Promise.all(
        keys.map(async (k, i) => {
          const f = path.join(dir.path, `id${i}.txt`);
          await writeFile(f, k.identity + '\n', { mode: 0o600 });
          return f;
        }),
      );
      for (const size of SIZES) {
        const plain = randomBytes(size);
        for (const recipients of [[keys[0]!.recipient], keys.map((k) => k.recipient)]) {
          const ct = await encryptToBuffer(recipients, plain, size % 2 ? 65_000 : 1 * MiB);
          // ciphertext size = header + 16-byte nonce + one 16-byte tag per 64 KiB chunk (at least one)
          const chunks = Math.max(1, Math.ceil(size / (64 * KiB)));
          assert.equal(ct.length - ct.indexOf('\n---') - 49, 16 + size + 16 * chunks, `size ${size}`);
          const viaCli = await run('age', ['--decrypt', '-i', files[recipients.length - 1]!], { input: ct });
          assert.equal(viaCli.code, 0, `age -d, ${size} bytes: ${viaCli.stderr}`);
          assert.ok(viaCli.stdout.equals(plain), `age -d, ${size} bytes, ${recipients.length} recipients`);
          const d = new Decrypter();
          d.addIdentity(keys[recipients.length - 1]!.identity);
          const viaTypage = Buffer.from(await d.decrypt(ct));
          assert.ok(viaTypage.equals(plain), `typage, ${size} bytes, ${recipients.length} recipients`);
          assert.ok((await decryptToBuffer([keys[0]!.identity], ct)).equals(plain), `barysafe, ${size} bytes`);
        }
      }
    } finally {
      await dir.cleanup();
    }
  });

  test('barysafe decrypts what the age CLI encrypts, one and two recipients', async () => {
    const dir = await makeTempDir();
    try {
      const a = await newIdentity();
      const b = await newIdentity();
      for (const size of SIZES) {
        const plain = randomBytes(size);
        const input = path.join(dir.path, 'plain');
        await writeFile(input, plain);
        for (const recipients of [[a.recipient], [a.recipient, b.recipient]]) {
          const r = await run('age', [...recipients.flatMap((x) => ['-r', x]), input]);
          assert.equal(r.code, 0, r.stderr);
          const got = await decryptToBuffer([recipients.length === 1 ? a.identity : b.identity], r.stdout);
          assert.ok(got.equals(plain), `${size} bytes, ${recipients.length} recipients`);
        }
      }
    } finally {
      await dir.cleanup();
    }
  });
});

describe('hybrid post-quantum keys (typage does their header)', () => {
  test('a file to an X25519 and a hybrid recipient opens with either identity, in barysafe and typage', async () => {
    const x = await newIdentity();
    const pq = await generateHybridIdentity();
    const plain = randomBytes(150 * KiB);
    const ct = await encryptToBuffer([x.recipient, await identityToRecipient(pq)], plain);
    assert.match(ct.toString('latin1', 0, 400), /\n-> mlkem768x25519 /);
    assert.ok((await decryptToBuffer([x.identity], ct)).equals(plain), 'X25519 identity, native header');
    assert.ok((await decryptToBuffer([pq], ct)).equals(plain), 'hybrid identity, typage header');
    const d = new Decrypter();
    d.addIdentity(pq);
    assert.ok(Buffer.from(await d.decrypt(ct)).equals(plain), 'typage');
    const dir = await makeTempDir();
    try {
      const idFile = path.join(dir.path, 'id.txt');
      await writeFile(idFile, x.identity + '\n', { mode: 0o600 });
      const viaCli = await run('age', ['--decrypt', '-i', idFile], { input: ct });
      assert.equal(viaCli.code, 0, viaCli.stderr);
      assert.ok(viaCli.stdout.equals(plain), 'the age CLI skips the hybrid stanza');
    } finally {
      await dir.cleanup();
    }
  });
});

describe('damaged files give the clear errors of before', () => {
  const sample = async () => {
    const k = await newIdentity();
    const plain = randomBytes(200 * KiB);
    return { k, plain, ct: await encryptToBuffer([k.recipient], plain) };
  };
  const failure = async (identities: string[], file: Buffer): Promise<BarysafeError> => {
    try {
      await decryptToBuffer(identities, file);
    } catch (e) {
      assert.ok(e instanceof BarysafeError, String(e));
      return e;
    }
    assert.fail('decrypted a damaged file');
  };

  test('wrong identity', async () => {
    const { ct } = await sample();
    const e = await failure([(await newIdentity()).identity], ct);
    assert.equal(e.exitCode, ExitCode.IDENTITY);
    assert.match(e.message, /identity does not match any recipient/);
  });

  test('a flipped byte in the payload, the header and the MAC', async () => {
    const { k, ct } = await sample();
    for (const at of [ct.length - 100, 70_000, 20, ct.indexOf('\n---') + 10]) {
      const bad = Buffer.from(ct);
      bad[at]! ^= 0x01;
      const e = await failure([k.identity], bad);
      assert.ok(e.exitCode === ExitCode.INTEGRITY || e.exitCode === ExitCode.IDENTITY, `${at}: ${e.message}`);
    }
    const bad = Buffer.from(ct);
    bad[ct.length - 100]! ^= 0x01;
    const e = await failure([k.identity], bad);
    assert.equal(e.exitCode, ExitCode.INTEGRITY);
    assert.match(e.message, /corrupt or truncated .*invalid tag/);
  });

  test('truncated at a chunk boundary, inside a chunk, inside the header, and empty', async () => {
    const { k, ct } = await sample();
    const start = ct.indexOf('\n---') + 49 + 16; // "\n--- " + 43 base64 + "\n", then the nonce
    for (const end of [start + 65_552, start + 65_552 * 2, ct.length - 1, start + 5, start, start - 3, 10, 0]) {
      const e = await failure([k.identity], ct.subarray(0, end));
      assert.equal(e.exitCode, ExitCode.INTEGRITY, `${end}: ${e.message}`);
      assert.match(e.message, /corrupt or truncated/);
    }
  });

  test('trailing garbage after the last chunk', async () => {
    const { k, ct } = await sample();
    for (const extra of [Buffer.from([0]), randomBytes(70_000)]) {
      const e = await failure([k.identity], Buffer.concat([ct, extra]));
      assert.equal(e.exitCode, ExitCode.INTEGRITY);
      assert.match(e.message, /corrupt or truncated/);
    }
  });

  test('AgeDecryptor: update and end give the same plaintext as the stream', async () => {
    const { k, plain, ct } = await sample();
    const d = new AgeDecryptor([k.identity]);
    const out: Buffer[] = [];
    for (let off = 0; off < ct.length; off += 10_000) await d.update(ct.subarray(off, off + 10_000), out);
    d.end(out);
    assert.ok(Buffer.concat(out).equals(plain));
  });
});
