import { z } from 'zod';
// Small pure pieces: Barycenter config resolution, JWK/JWKS matching, signed documents, redaction.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { newJwkPair, newPemPair } from '../src/crypto/keygen.js';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { resolveBarycenter, locateDatabase } from '../src/config/barycenter.js';
import { matchKeyToJwks, parseJwks, parsePrivateJwk } from '../src/barycenter/jwk.js';
import { generateSigningKey, loadSigner, loadVerifier } from '../src/crypto/signing.js';
import { parseAndVerify, serialize, signDocument } from '../src/repository/signed-document.js';
import { redactText, redactUrl } from '../src/redact.js';
import { checkRecipient, newIdentity } from '../src/crypto/age.js';
import { BarysafeError } from '../src/errors.js';

describe('effective Barycenter settings', () => {
  test('defaults < file < env_file < environment; relative paths against the workdir', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bs-unit-'));
    const cfg = path.join(dir, 'config.toml');
    await writeFile(
      cfg,
      '[server]\nport = 9000\npublic_base_url = "https://id.example.org/"\n[keys]\nprivate_key_path = "keys/k.json"\n[Unknown]\nx = 1\n',
    );
    const envFile = path.join(dir, 'env');
    await writeFile(
      envFile,
      'BARYCENTER__SERVER__PORT=9100\nBARYCENTER__DATABASE__URL="postgres://u:pw@db/bc"\nRUST_LOG=debug\n',
    );
    const bc = resolveBarycenter(
      { config: cfg, workdir: '/var/lib/bc', env_file: envFile, extra_files: [] },
      { BARYCENTER__SERVER__ADMIN_PORT: '9999' },
    );
    assert.equal(bc.settings.server.port, 9100);
    assert.equal(bc.sources['server.port'], 'env_file');
    assert.equal(bc.adminPort, 9999);
    assert.equal(bc.sources['server.admin_port'], 'env');
    assert.equal(bc.issuer, 'https://id.example.org');
    assert.equal(bc.privateKeyPath, '/var/lib/bc/keys/k.json');
    assert.equal(bc.jwksPath, '/var/lib/bc/data/jwks.json');
    assert.deepEqual(bc.database, { engine: 'postgres', url: 'postgres://u:pw@db/bc' });
    assert.equal(bc.serviceEnv.RUST_LOG, 'debug');
  });

  test('a missing config file means defaults, as Barycenter silently does', () => {
    const bc = resolveBarycenter({ config: '/nonexistent/config.toml', workdir: '/srv/bc', extra_files: [] }, {});
    assert.equal(bc.configExists, false);
    assert.equal(bc.issuer, 'http://0.0.0.0:8080');
    assert.equal(bc.adminPort, 8081);
    assert.deepEqual(bc.database, {
      engine: 'sqlite',
      path: '/srv/bc/barycenter.db',
      memory: false,
      createIfMissing: true,
    });
  });

  test('sqlx URL forms', () => {
    assert.deepEqual(locateDatabase('sqlite:///abs/x.db?mode=rwc', '/w'), {
      engine: 'sqlite',
      path: '/abs/x.db',
      memory: false,
      createIfMissing: true,
    });
    assert.deepEqual(locateDatabase('sqlite://data/x.db', '/w'), {
      engine: 'sqlite',
      path: '/w/data/x.db',
      memory: false,
      createIfMissing: false,
    });
    assert.equal(locateDatabase('sqlite::memory:', '/w').engine, 'sqlite');
    assert.throws(() => locateDatabase('mysql://x', '/w'), BarysafeError);
  });
});

describe('key and JWKS', () => {
  const jwkOf = (kid: string) =>
    ({
      ...newJwkPair({ type: 'rsa', modulusLength: 2048 }).privateJwk,
      kid,
      alg: 'RS256',
      use: 'sig',
    }) as Record<string, string>;
  const publicOf = (j: Record<string, string>) => ({
    kty: j.kty,
    n: j.n,
    e: j.e,
    kid: j.kid,
    alg: 'RS256',
    use: 'sig',
  });

  test('a matching pair; a stale JWKS by kid; same kid with another modulus; private members published', async () => {
    const a = jwkOf('kid-a');
    const b = jwkOf('kid-b');
    const { facts } = await parsePrivateJwk(JSON.stringify(a));
    assert.equal(facts.modulusBits, 2048);
    assert.equal(matchKeyToJwks(facts, await parseJwks(JSON.stringify({ keys: [publicOf(a)] }))).exact, true);
    const stale = matchKeyToJwks(facts, await parseJwks(JSON.stringify({ keys: [publicOf(b)] })));
    assert.equal(stale.exact, false);
    assert.match(stale.problems[0]!, /unknown kid/);
    const sameKid = matchKeyToJwks(
      facts,
      await parseJwks(JSON.stringify({ keys: [{ ...publicOf(b), kid: 'kid-a' }] })),
    );
    assert.match(sameKid.problems[0]!, /different modulus/);
    const leaky = matchKeyToJwks(facts, await parseJwks(JSON.stringify({ keys: [a] })));
    assert.equal(leaky.published, true);
    assert.match(leaky.problems.join(' '), /private key members \(d, p, q, dp, dq, qi\)/);
  });

  test('a PEM or a public-only JWK is refused without echoing content', async () => {
    const pem = newPemPair({ type: 'rsa', modulusLength: 2048 }).privatePem;
    await assert.rejects(
      parsePrivateJwk(pem),
      (e: Error) => /not a JSON JWK \(it is PEM/.test(e.message) && !e.message.includes('MII'),
    );
    const a = jwkOf('x');
    await assert.rejects(parsePrivateJwk(JSON.stringify(publicOf(a))), /no private exponent/);
  });
});

describe('signed documents', () => {
  test('any change to a signed document, or another key, fails verification', async () => {
    const docSchema = z.looseObject({ a: z.number(), b: z.unknown() });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bs-sign-'));
    const k = generateSigningKey();
    await writeFile(path.join(dir, 's.pem'), k.privatePem);
    await writeFile(path.join(dir, 'p.pem'), k.publicPem);
    const other = generateSigningKey();
    await writeFile(path.join(dir, 'o.pem'), other.publicPem);
    const signer = await loadSigner(path.join(dir, 's.pem'));
    const doc = signDocument({ a: 1, b: { c: [1, 2] } }, signer);
    const bytes = serialize(doc);
    const verifier = await loadVerifier(path.join(dir, 'p.pem'));
    assert.deepEqual(parseAndVerify(bytes, verifier, 'doc', docSchema).b, { c: [1, 2] });
    // The signature covers the canonical form, but stored bytes must be exactly what barysafe
    // wrote: a reformatted copy (which another parser could read differently) is refused.
    assert.throws(
      () => parseAndVerify(Buffer.from(JSON.stringify(doc)), verifier, 'doc', docSchema),
      /not byte for byte/,
    );
    const tampered = Buffer.from(bytes.toString().replace('"a": 1', '"a": 2'));
    assert.throws(() => parseAndVerify(tampered, verifier, 'doc', docSchema), /invalid signature/);
    const otherVerifier = await loadVerifier(path.join(dir, 'o.pem'));
    assert.throws(() => parseAndVerify(bytes, otherVerifier, 'doc', docSchema), /not by the trusted key/);
  });
});

describe('redaction and recipients', () => {
  test('URLs and free text lose their secrets', () => {
    assert.equal(
      redactUrl('postgres://bc:s3cr%40t@db:5432/bc?sslmode=require&password=x'),
      'postgres://bc:***@db:5432/bc?sslmode=require&password=***',
    );
    const t = redactText(
      'connect postgresql://u:hunter2@h/db failed; token=abc AGE-SECRET-KEY-1QQQQ {"d":"xyz","n":"ok"}',
    );
    for (const s of ['hunter2', 'abc', 'QQQQ', 'xyz']) assert.ok(!t.includes(s), s);
    assert.ok(t.includes('"n":"ok"'));
    assert.equal(
      redactText('{"client_secret": "s3", "access_token":"at"}'),
      '{"client_secret": "***", "access_token":"***"}',
    );
    assert.equal(redactText('drill step token: pass'), 'drill step token: pass', 'prose about tokens is left alone');
  });

  test('recipients are validated before anything is read', async () => {
    await checkRecipient((await newIdentity()).recipient);
    await assert.rejects(
      checkRecipient('age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq'),
      /invalid age recipient "age1qqqqqqqq…"/,
    );
    await assert.rejects(checkRecipient('ssh-ed25519 AAAA'), /expected an X25519/);
  });
});
