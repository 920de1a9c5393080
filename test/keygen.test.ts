import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createPrivateKey, createPublicKey, diffieHellman, sign, verify } from 'node:crypto';
import { test } from 'node:test';
import { parseIdentity, generateIdentity, rawPublicKey } from '../src/crypto/age-keys.js';
import { newJwkPair, newPemPair, newX25519Key } from '../src/crypto/keygen.js';

const KEYGEN = new URL('../src/crypto/keygen.js', import.meta.url).href;
const AGE_KEYS = new URL('../src/crypto/age-keys.js', import.meta.url).href;
const AGE_HEADER = new URL('../src/crypto/age-header.js', import.meta.url).href;

test('X25519 keys from random bytes agree with each other and round-trip as age identities', () => {
  const a = newX25519Key();
  const b = newX25519Key();
  assert.equal(a.scalar.length, 32);
  assert.notDeepEqual(a.scalar, b.scalar);
  const ab = diffieHellman({ privateKey: a.privateKey, publicKey: createPublicKey(b.privateKey) });
  const ba = diffieHellman({ privateKey: b.privateKey, publicKey: createPublicKey(a.privateKey) });
  assert.deepEqual(ab, ba);
  const { identity, recipient } = generateIdentity();
  assert.match(identity, /^AGE-SECRET-KEY-1[0-9A-Z]{58}$/);
  assert.match(recipient, /^age1[0-9a-z]{58}$/);
  const parsed = parseIdentity(identity);
  assert.equal(rawPublicKey(createPublicKey(parsed.privateKey)).length, 32);
});

test('Ed25519 PEM and RSA, EC and Ed25519 JWK pairs sign and verify', () => {
  const data = Buffer.from('barysafe');
  const ed = newPemPair({ type: 'ed25519' });
  assert.match(ed.privatePem, /^-----BEGIN PRIVATE KEY-----/);
  assert.match(ed.publicPem, /^-----BEGIN PUBLIC KEY-----/);
  assert.ok(verify(null, data, ed.publicPem, sign(null, data, ed.privatePem)));
  for (const [spec, alg] of [
    [{ type: 'rsa', modulusLength: 2048 }, 'sha256'],
    [{ type: 'ec', namedCurve: 'P-256' }, 'sha256'],
    [{ type: 'ed25519' }, null],
  ] as const) {
    const { privateJwk, publicJwk } = newJwkPair(spec);
    assert.ok(privateJwk.d, `${spec.type}: the private JWK has its private member`);
    assert.equal(publicJwk.d, undefined, `${spec.type}: the public JWK has none`);
    const priv = createPrivateKey({ key: privateJwk, format: 'jwk' });
    const pub = createPublicKey({ key: publicJwk, format: 'jwk' });
    assert.ok(verify(alg, data, pub, sign(alg, data, priv)), spec.type);
  }
  assert.equal(newJwkPair({ type: 'rsa', modulusLength: 2048 }).publicJwk.e, 'AQAB');
});

/**
 * Runs `body` (an ES module's text) in a child node with a garbage collection every `interval`
 * allocations; resolves "hung" when it has not exited within `ms`.
 */
function underGcStress(body: string, interval: number, ms: number): Promise<'exited' | 'hung'> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`--gc-interval=${interval}`, '--input-type=module', '-e', body], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('hung');
    }, ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') return;
      if (code !== 0) reject(new Error(`child exited ${code}: ${stderr.slice(-2000)}`));
      else resolve('exited');
    });
  });
}

// Intervals at which the old pattern deadlocked in half to all of its runs here (Node 20.20.2;
// exporting the private key, which allocates more under the lock, hangs more often than the public).
const INTERVALS = [150, 173, 300];

test("exporting a key that generateKeyPairSync made can deadlock this Node (the control), barysafe's key generation does not", async (t) => {
  // The control: the pattern keygen.ts avoids. It shows that this harness catches the deadlock;
  // without it, the check of barysafe's generators below could not fail.
  const oldPattern = `import { generateKeyPairSync } from 'node:crypto';
    for (let i = 0; i < 30000; i++) generateKeyPairSync('x25519').privateKey.export({ format: 'jwk' });`;
  // One at a time: run side by side on two cores, eight of them did not hang once.
  let hung = 0;
  let runs = 0;
  while (hung === 0 && runs < 8) {
    if ((await underGcStress(oldPattern, INTERVALS[runs % INTERVALS.length]!, 6000)) === 'hung') hung++;
    runs++;
  }
  t.diagnostic(`the old pattern hung in ${hung} of ${runs} runs`);

  // What a backup does for every artifact (an age header's X25519 stanza), what init does (an
  // age identity, an Ed25519 signing key), and the demo's RSA key: none may ever hang.
  const ours = `import { newJwkPair, newPemPair, newX25519Key } from ${JSON.stringify(KEYGEN)};
    import { generateIdentity } from ${JSON.stringify(AGE_KEYS)};
    import { wrapX25519 } from ${JSON.stringify(AGE_HEADER)};
    import { createPublicKey, randomBytes } from 'node:crypto';
    const recipient = createPublicKey(newX25519Key().privateKey).export({ format: 'jwk' });
    const raw = Buffer.from(recipient.x, 'base64url');
    for (let i = 0; i < 4000; i++) {
      wrapX25519(randomBytes(16), raw);
      generateIdentity();
      if (i % 8 === 0) newPemPair({ type: 'ed25519' });
      if (i % 8 === 4) newJwkPair({ type: 'ed25519' });
    }
    newJwkPair({ type: 'rsa', modulusLength: 2048 });`;
  for (const n of INTERVALS) assert.equal(await underGcStress(ours, n, 60_000), 'exited', `--gc-interval=${n}`);

  // Without a hang of the control the loop above proved nothing about this Node: said so, not passed.
  if (hung === 0)
    t.skip('this Node did not deadlock on the old pattern in these runs: the check above proves less here');
});
