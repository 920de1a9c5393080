// The signing key's history: `barysafe keys` (+ --live, --json) over real backups on both backends,
// a key rotation in progress (jwks.json publishes the signing key plus the old public key) that
// backup, check and the drill accept with a warning, backup.key-age over an injected clock, and
// backup.object-lock against the recording S3 proxy (s3rver has no Object Lock).
import assert from 'node:assert/strict';
import { newJwkPair } from '../src/crypto/keygen.js';
import { readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ExitCode } from '../src/errors.js';
import { startStandin } from './support/barycenter/launch.js';
import { FROM_CONFIG, runCli } from './support/deployments.js';
import { checkContext, runCheck, expectStatus, testConfig } from './support/check-context.js';
import { repoFixture, type RepoFixture } from './support/repo-fixture.js';
import { getS3, useS3Credentials, type TestS3 } from './support/services.js';
import { startS3Proxy, type S3Proxy } from './support/s3-proxy.js';
import { assertAllPass, drillSetup, step, type DrillSetup } from './drill-fixtures.js';

type Jwk = Record<string, unknown> & { kid: string; n: string; e: string };
const DAY = 86_400_000;

let s3: TestS3;
before(async () => {
  s3 = await getS3();
  useS3Credentials(s3);
});
after(async () => {
  await s3?.stop();
});

function newJwk(): Jwk {
  const { privateJwk } = newJwkPair({ type: 'rsa', modulusLength: 2048 });
  const kid = `k-${Math.random().toString(36).slice(2, 10)}`;
  return { ...(privateJwk as Jwk), kid, alg: 'RS256', use: 'sig' };
}
const pub = (k: Jwk) => ({ kty: 'RSA', n: k.n, e: k.e, kid: k.kid, alg: 'RS256', use: 'sig' });

/**
 * A rotation the way an operator does it: a new private key, jwks.json publishing the new key and
 * the old one (so tokens signed before stay verifiable). Returns both keys.
 */
async function rotateFiles(workdir: string): Promise<{ previous: Jwk; next: Jwk }> {
  const keyFile = path.join(workdir, 'data/private_key.pem');
  const previous = JSON.parse(await readFile(keyFile, 'utf8')) as Jwk;
  const next = newJwk();
  await writeFile(keyFile, JSON.stringify(next, null, 2), { mode: 0o600 });
  await writeFile(path.join(workdir, 'data/jwks.json'), JSON.stringify({ keys: [pub(next), pub(previous)] }, null, 2));
  return { previous, next };
}

interface KeysDoc {
  ok: boolean;
  keys: Array<{
    kid: string | null;
    thumbprint: string;
    first: { snapshot: string };
    last: { snapshot: string };
    snapshots: number;
    current: boolean;
    served: boolean | null;
  }>;
  live?: { error: string | null; served_not_backed_up: Array<{ kid: string | null }> };
}

for (const kind of ['file', 's3'] as const) {
  describe(`barysafe keys on ${kind}://`, () => {
    let f: RepoFixture;
    before(async () => {
      f = await repoFixture(kind, s3, { keepRunning: true });
    });
    after(async () => {
      await f?.close();
    });
    const keys = (...args: string[]) => runCli(['--config', f.setup.configPath, ...args], { env: f.raw.env });
    const restart = async () => {
      await f.d.standin?.stop();
      f.d.standin = await startStandin({
        cwd: f.d.workdir,
        configPath: f.d.configPath,
        port: f.d.port,
        env: FROM_CONFIG,
      });
    };

    test('lists every key with its first and last snapshot; --live says which production serves', async () => {
      const s1 = (await f.backup()).id;
      const s2 = (await f.backup()).id;
      const { previous, next } = await rotateFiles(f.d.workdir);
      await restart();
      const r3 = await f.backup();
      // A rotation in progress is a warning in the manifest, not a key/JWKS mismatch.
      assert.ok(
        r3.manifest.warnings.some((w) => w.startsWith('KEY ROTATION:') && w.includes(previous.kid)),
        r3.manifest.warnings.join(' | '),
      );
      assert.ok(!r3.manifest.warnings.some((w) => w.startsWith('KEY/JWKS MISMATCH')));
      assert.deepEqual(r3.manifest.key.jwks.problems, []);

      const listed = await keys('--json', 'keys');
      assert.equal(listed.code, 0, listed.stderr);
      const doc = JSON.parse(listed.stdout) as KeysDoc;
      assert.equal(doc.keys.length, 2);
      const [old, cur] = doc.keys;
      assert.equal(old!.kid, previous.kid);
      assert.deepEqual([old!.first.snapshot, old!.last.snapshot, old!.snapshots, old!.current], [s1, s2, 2, false]);
      assert.equal(cur!.kid, next.kid);
      assert.deepEqual(
        [cur!.first.snapshot, cur!.last.snapshot, cur!.snapshots, cur!.current],
        [r3.id, r3.id, 1, true],
      );
      assert.equal(old!.served, null, 'without --live nothing is said about production');

      const live = await keys('--json', 'keys', '--live');
      assert.equal(live.code, 0, live.stdout + live.stderr);
      const ldoc = JSON.parse(live.stdout) as KeysDoc;
      assert.deepEqual(
        ldoc.keys.map((k) => k.served),
        [true, true],
      );
      assert.deepEqual(ldoc.live?.served_not_backed_up, []);

      // A second rotation nobody backed up: production serves a key no snapshot holds.
      const third = await rotateFiles(f.d.workdir);
      await restart();
      const text = await keys('keys', '--live');
      assert.equal(text.code, ExitCode.CHECK_FAILED, text.stdout + text.stderr);
      assert.match(text.stdout, new RegExp(`${third.next.kid}\\s+\\S+\\s+\\?\\s+\\?\\s+NEVER BACKED UP`));
      assert.match(text.stdout, /production serves 1 key\(s\) no snapshot holds/);
      assert.match(text.stdout, new RegExp(`${previous.kid}.*\\bno$`, 'm'), 'the first key is no longer served');

      // Production down: "served now" is unknown, and the command says so with exit 4.
      await f.d.standin!.stop();
      f.d.standin = undefined;
      const down = await keys('--json', 'keys', '--live');
      assert.equal(down.code, ExitCode.INCONCLUSIVE, down.stdout);
      const ddoc = JSON.parse(down.stdout) as KeysDoc;
      assert.match(ddoc.live!.error!, /unreachable/);
      assert.deepEqual(
        ddoc.keys.map((k) => k.served),
        [null, null],
      );
    });
  });
}

describe('backup.key-age', () => {
  let f: RepoFixture;
  before(async () => {
    f = await repoFixture('file', undefined);
  });
  after(async () => {
    await f?.close();
  });

  test('warns when the key in use is older than keys.max_age, judged by its first snapshot and its file', async () => {
    const now = new Date();
    const keyFile = path.join(f.d.workdir, 'data/private_key.pem');
    const kid = (JSON.parse(await readFile(keyFile, 'utf8')) as Jwk).kid;
    // The key file is fresh (a restore rewrote it), but a snapshot 400 days ago already held it.
    await f.backup(new Date(now.getTime() - 400 * DAY));
    const old = await runCheck(checkContext(f.config, { now }), 'backup.key-age');
    expectStatus(old, 'warn', 'backup.key-age');
    assert.match(
      old.summary,
      new RegExp(`signing key ${kid} is at least 400\\.0 d old, older than keys.max_age = 365d`),
    );

    const longer = { ...f.config, keys: { max_age: '500d' } };
    const ok = await runCheck(checkContext(longer, { now }), 'backup.key-age');
    expectStatus(ok, 'pass', 'backup.key-age');

    // No snapshot can say otherwise, and the file's modification time is 10 days: pass; at 370 days: warn.
    const empty = { ...f.config, repository: { ...f.config.repository, url: `${f.raw.url}-empty` } };
    await utimes(keyFile, new Date(now.getTime() - 10 * DAY), new Date(now.getTime() - 10 * DAY));
    expectStatus(await runCheck(checkContext(empty, { now }), 'backup.key-age'), 'pass', 'backup.key-age');
    await utimes(keyFile, new Date(now.getTime() - 370 * DAY), new Date(now.getTime() - 370 * DAY));
    expectStatus(await runCheck(checkContext(empty, { now }), 'backup.key-age'), 'warn', 'backup.key-age');
  });
});

describe('backup.object-lock through the recording proxy', () => {
  const proxies: S3Proxy[] = [];
  after(async () => {
    for (const p of proxies) await p.stop();
  });
  async function configFor(opts: { objectLock: boolean; versioning?: 'Enabled'; lock?: boolean }) {
    const proxy = await startS3Proxy(s3.endpoint, { objectLock: opts.objectLock, versioning: opts.versioning });
    proxies.push(proxy);
    const bucket = await s3.createBucket();
    return testConfig({
      barycenter: { config: '/nonexistent/config.toml', workdir: '/nonexistent' },
      repository: {
        url: `s3://${bucket}/repo`,
        endpoint: proxy.endpoint,
        region: s3.region,
        force_path_style: true,
        ...(opts.lock ? { object_lock: { mode: 'COMPLIANCE' as const, days: 30 } } : {}),
      },
    });
  }

  test('pass with Object Lock, versioning and a retention; warn or fail without; skip on file://', async () => {
    const on = await runCheck(
      checkContext(await configFor({ objectLock: true, versioning: 'Enabled', lock: true })),
      'backup.object-lock',
    );
    expectStatus(on, 'pass', 'backup.object-lock');
    assert.match(on.summary, /COMPLIANCE for 30 days/);

    const noRetention = await runCheck(
      checkContext(await configFor({ objectLock: true, versioning: 'Enabled' })),
      'backup.object-lock',
    );
    expectStatus(noRetention, 'warn', 'backup.object-lock');
    assert.match(noRetention.summary, /objects are written unlocked/);

    const none = await runCheck(checkContext(await configFor({ objectLock: false })), 'backup.object-lock');
    expectStatus(none, 'warn', 'backup.object-lock');
    assert.match(none.summary, /no Object Lock \(versioning disabled\)/);

    const asked = await runCheck(
      checkContext(await configFor({ objectLock: false, lock: true })),
      'backup.object-lock',
    );
    expectStatus(asked, 'fail', 'backup.object-lock');

    const file = await runCheck(
      checkContext(
        testConfig({
          barycenter: { config: '/nonexistent/config.toml', workdir: '/nonexistent' },
          repository: { url: 'file:///nonexistent-repo' },
        }),
      ),
      'backup.object-lock',
    );
    expectStatus(file, 'skip', 'backup.object-lock');

    const unreachable = await runCheck(
      checkContext(
        testConfig({
          barycenter: { config: '/nonexistent/config.toml', workdir: '/nonexistent' },
          repository: { url: 's3://b/x', endpoint: 'http://127.0.0.1:9', region: s3.region, force_path_style: true },
        }),
      ),
      'backup.object-lock',
    );
    expectStatus(unreachable, 'error', 'backup.object-lock');
  });
});

describe('a key rotation in progress: check warns, the drill passes', () => {
  let s: DrillSetup;
  let previous: Jwk;
  before(async () => {
    s = await drillSetup();
    await s.production.stop();
    ({ previous } = await rotateFiles(s.d.workdir));
    s.production = await startStandin({
      cwd: s.d.workdir,
      configPath: s.d.configPath,
      port: s.d.port,
      env: FROM_CONFIG,
    });
    await s.backup();
  });
  after(() => s?.close());

  test('security.jwks-matches-key warns naming the other kid; the drill passes every step', async () => {
    const ctx = checkContext(s.config);
    const r = await runCheck(ctx, 'security.jwks-matches-key');
    expectStatus(r, 'warn', 'security.jwks-matches-key');
    assert.match(r.summary, new RegExp(`besides the signing key it publishes kid ${previous.kid}`));

    const { result } = await s.drill();
    assertAllPass(result);
    assert.match(step(result, 'key').detail, /warning: .*rotation/);
    assert.match(step(result, 'jwks').detail, /other public keys \(2 in all\)/);
  });

  test('a jwks.json without the signing key still fails', async () => {
    const other = newJwk();
    const jwksFile = path.join(s.d.workdir, 'data/jwks.json');
    const saved = await readFile(jwksFile);
    try {
      await writeFile(jwksFile, JSON.stringify({ keys: [pub(other), pub(previous)] }));
      const r = await runCheck(checkContext(s.config), 'security.jwks-matches-key');
      expectStatus(r, 'fail', 'security.jwks-matches-key');
      assert.match(r.summary, /does not publish the signing key/);
    } finally {
      await writeFile(jwksFile, saved);
    }
  });
});
