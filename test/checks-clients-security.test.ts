import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { catalogue } from '../src/checks/catalogue.js';
import { runOne } from '../src/checks/engine.js';
import type { CheckContext } from '../src/checks/types.js';
import {
  addClient,
  addUser,
  certificate,
  contextFor,
  makeDeployment,
  publicJwk,
  rsaJwk,
  startTlsIdp,
  tempDir,
  writeKeys,
  type TlsIdp,
} from './checks-fixture.js';
import type { JWK } from 'jose';

const run = (id: string, ctx: CheckContext) =>
  runOne(
    catalogue().find((d) => d.id === id)!,
    ctx,
  );

const certDir = tempDir('barysafe-certs-');
const cert = certificate(certDir, 400);
let served: { keys: JWK[] } = { keys: [] };
let idp: TlsIdp;
before(async () => {
  process.env.BARYSAFE_CA_FILE = cert.certFile;
  idp = await startTlsIdp({ ...cert, jwks: () => served });
});
after(() => idp.close());

test('clients.review lists clients for a person (never their secrets) and flags test-looking ones', async () => {
  const d = await makeDeployment({});
  const empty = await run('clients.review', await contextFor(d.barysafeToml));
  assert.equal(empty.status, 'pass');
  const db = new Database(d.dbFile);
  addClient(db, 'Payroll portal', ['https://payroll.acme-corp.net/cb']);
  addClient(db, 'test app', ['http://localhost:3000/callback']);
  db.close();
  const r = await run('clients.review', await contextFor(d.barysafeToml));
  assert.equal(r.status, 'manual');
  assert.match(r.summary, /2 client\(s\) to review, 1 flagged/);
  assert.doesNotMatch(JSON.stringify(r), /secret-[0-9a-f]{16}/);
});

test('clients.redirect-uris-https: https and loopback pass (exception stated); plain http or a fragment fails', async () => {
  const d = await makeDeployment({});
  const db = new Database(d.dbFile);
  addClient(db, 'web', ['https://app.example.org/cb']);
  addClient(db, 'cli', ['http://127.0.0.1:8400/cb']);
  db.close();
  const ok = await run('clients.redirect-uris-https', await contextFor(d.barysafeToml));
  assert.equal(ok.status, 'pass', ok.summary);
  assert.ok(ok.evidence.some((e) => /RFC 8252 §7\.3/.test(e.note ?? '')));
  const db2 = new Database(d.dbFile);
  addClient(db2, 'legacy', ['http://app.example.org/cb', 'https://app.example.org/cb#frag']);
  db2.close();
  const bad = await run('clients.redirect-uris-https', await contextFor(d.barysafeToml));
  assert.equal(bad.status, 'fail');
  assert.match(bad.summary, /2 redirect URI/);
});

test('security.default-admin-password fails on admin/password123 (and on a missing admin), passes on a strong one', async () => {
  const weak = await makeDeployment({});
  const db = new Database(weak.dbFile);
  assert.equal(
    (await run('security.default-admin-password', await contextFor(weak.barysafeToml))).status,
    'fail',
    'no admin row: recreated at next start',
  );
  await addUser(db, 'admin', 'password123');
  db.close();
  const r = await run('security.default-admin-password', await contextFor(weak.barysafeToml));
  assert.equal(r.status, 'fail');
  assert.doesNotMatch(JSON.stringify(r), /\$argon2/);
  const strong = await makeDeployment({});
  const db2 = new Database(strong.dbFile);
  await addUser(db2, 'admin', 'vX9!long-unguessable-passphrase');
  db2.close();
  assert.equal((await run('security.default-admin-password', await contextFor(strong.barysafeToml))).status, 'pass');
});

test('security.demo-users fails on an enabled example user, warns on a disabled one, passes otherwise', async () => {
  const d = await makeDeployment({});
  const db = new Database(d.dbFile);
  await addUser(db, 'alice', 'a-different-strong-password');
  await addUser(db, 'dave', 'whatever');
  assert.equal((await run('security.demo-users', await contextFor(d.barysafeToml))).status, 'pass');
  await addUser(db, 'charlie', 'charlie-secure-password', false);
  assert.equal((await run('security.demo-users', await contextFor(d.barysafeToml))).status, 'warn');
  await addUser(db, 'bob', 'bob-secure-password');
  db.close();
  const r = await run('security.demo-users', await contextFor(d.barysafeToml));
  assert.equal(r.status, 'fail');
  assert.match(r.summary, /bob/);
});

test('security.jwks-matches-key passes for the pair Barycenter writes and fails for a stale jwks.json or served JWKS', async () => {
  const d = await makeDeployment({ publicBaseUrl: idp.url });
  served = { keys: [publicJwk(d.key)] };
  const ok = await run('security.jwks-matches-key', await contextFor(d.barysafeToml));
  assert.equal(ok.status, 'pass', ok.summary);
  served = { keys: [publicJwk(rsaJwk())] };
  const stale = await run('security.jwks-matches-key', await contextFor(d.barysafeToml));
  assert.equal(stale.status, 'fail');
  assert.match(stale.summary, /served/);
  served = { keys: [publicJwk(d.key)] };
  writeKeys(d.dataDir, d.key, [publicJwk({ ...rsaJwk(), kid: d.key.kid })]);
  const r = await run('security.jwks-matches-key', await contextFor(d.barysafeToml));
  assert.equal(r.status, 'fail');
  assert.match(r.summary, /different modulus/);
});

test('security.key-strength passes RSA-2048 with a clean served JWKS; fails a 1024-bit key or a served private member', async () => {
  const d = await makeDeployment({ publicBaseUrl: idp.url });
  served = { keys: [publicJwk(d.key)] };
  assert.equal((await run('security.key-strength', await contextFor(d.barysafeToml))).status, 'pass');
  served = { keys: [d.key] }; // the private JWK, published
  const leak = await run('security.key-strength', await contextFor(d.barysafeToml));
  assert.equal(leak.status, 'fail');
  assert.match(leak.summary, /served JWKS publishes private members/);
  assert.doesNotMatch(JSON.stringify(leak), new RegExp(String(d.key.d).slice(0, 20)));
  const small = await makeDeployment({ publicBaseUrl: idp.url, key: rsaJwk(1024) });
  served = { keys: [publicJwk(small.key)] };
  const weak = await run('security.key-strength', await contextFor(small.barysafeToml));
  assert.equal(weak.status, 'fail');
  assert.match(weak.summary, /1024 bits/);
  const noUrl = await makeDeployment({});
  assert.equal(
    (await run('security.key-strength', await contextFor(noUrl.barysafeToml))).status,
    'error',
    'the served JWKS is unknown: never pass',
  );
});

test('security.key-strength fails a key Barycenter\'s signer refuses: "alg":"RS384", "use":"enc", key_ops without sign', async () => {
  const cases: Array<[JWK, RegExp]> = [
    [{ alg: 'RS384' }, /"alg":"RS384"/],
    [{ use: 'enc' }, /"use":"enc"/],
    [{ key_ops: ['verify'] }, /"key_ops":\["verify"\] lacks "sign"/],
  ];
  for (const [extra, why] of cases) {
    const key = { ...rsaJwk(), ...extra };
    const d = await makeDeployment({ publicBaseUrl: idp.url, key });
    served = { keys: [publicJwk(d.key)] };
    const r = await run('security.key-strength', await contextFor(d.barysafeToml));
    assert.equal(r.status, 'fail', JSON.stringify(extra));
    assert.match(r.summary, /Barycenter's signer refuses the signing key/);
    assert.match(r.summary, why);
    assert.match(r.summary, /every token request answers 500/);
  }
});

test('security.secrets-in-config fails on a world-readable inline DB password, passes when only the service can read it', async () => {
  const d = await makeDeployment({
    databaseUrl: 'postgres://barycenter:S3cretPw@127.0.0.1:1/barycenter',
    extraToml: '[webfinger]\nservice_token = "tok-abc"',
  });
  chmodSync(d.configToml, 0o644);
  const r = await run('security.secrets-in-config', await contextFor(d.barysafeToml));
  assert.equal(r.status, 'fail');
  assert.match(r.summary, /world-readable/);
  assert.doesNotMatch(JSON.stringify(r), /S3cretPw|tok-abc/);
  chmodSync(d.configToml, 0o600);
  const ok = await run('security.secrets-in-config', await contextFor(d.barysafeToml));
  assert.equal(ok.status, 'pass', ok.summary);
  const clean = await makeDeployment({});
  assert.equal((await run('security.secrets-in-config', await contextFor(clean.barysafeToml))).status, 'pass');
  const unit = path.join(clean.dir, 'barycenter.service');
  writeFileSync(unit, '[Service]\nEnvironment=BARYCENTER__DATABASE__URL=postgres://u:pw@db/x\n', { mode: 0o644 });
  writeFileSync(
    clean.barysafeToml,
    (await import('node:fs')).readFileSync(clean.barysafeToml, 'utf8') + `systemd_unit = "${unit}"\n`,
  );
  const u = await run('security.secrets-in-config', await contextFor(clean.barysafeToml, 'systemd'));
  assert.equal(u.status, 'fail');
  assert.match(u.remediation, /EnvironmentFile/);
});

test('security.secrets-in-config reads the unit as systemd does: a drop-in Environment= and an EnvironmentFile= count', async () => {
  const d = await makeDeployment({});
  const unit = path.join(d.dir, 'barycenter.service');
  writeFileSync(unit, '[Service]\nExecStart=/usr/local/bin/barycenter\n', { mode: 0o644 });
  mkdirSync(`${unit}.d`);
  const dropin = path.join(`${unit}.d`, 'override.conf');
  writeFileSync(dropin, '[Service]\nEnvironment=BARYCENTER__WEBFINGER__SERVICE_TOKEN=tok-dropin-123\n', {
    mode: 0o644,
  });
  writeFileSync(d.barysafeToml, readFileSync(d.barysafeToml, 'utf8') + `systemd_unit = "${unit}"\n`);
  const r = await run('security.secrets-in-config', await contextFor(d.barysafeToml, 'systemd'));
  assert.equal(r.status, 'fail', r.summary);
  assert.match(r.summary, /BARYCENTER__WEBFINGER__SERVICE_TOKEN in .*override\.conf is readable by every local user/);
  assert.doesNotMatch(JSON.stringify(r), /tok-dropin-123/);

  // Moved to a root-only EnvironmentFile=, the same token is still found, and nobody else can read it.
  const envFile = path.join(d.dir, 'secrets.env');
  writeFileSync(envFile, 'BARYCENTER__DATABASE__URL=postgres://u:envfile-pw@db/x\n', { mode: 0o600 });
  writeFileSync(dropin, `[Service]\nEnvironmentFile=${envFile}\n`, { mode: 0o644 });
  const moved = await run('security.secrets-in-config', await contextFor(d.barysafeToml, 'systemd'));
  assert.equal(moved.status, 'pass', moved.summary);
  assert.match(moved.summary, /BARYCENTER__DATABASE__URL \(password\)/);
  assert.doesNotMatch(JSON.stringify(moved), /envfile-pw/);
});
