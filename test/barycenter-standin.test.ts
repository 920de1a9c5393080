// The Barycenter stand-in must honour the contract barysafe's drills rely on (barycenter-facts.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { spawn } from 'node:child_process';
import {
  freePortPair,
  runBarycenter,
  runSyncUsers,
  scratchEnv,
  standinBin,
  startStandin,
  type Standin,
} from './support/barycenter/launch.js';

const EXPECTED_MIGRATIONS = [
  'm20250101_000001_initial_schema',
  'm20250107_000001_add_passkeys',
  'm20250107_000002_extend_sessions_users',
  'm20250108_000001_add_consent_table',
  'm20250109_000001_add_device_codes',
  'm20250222_000001_rename_device_code_table',
  'm20260407_000001_create_federation_tables',
  'm20260407_000002_create_peer_requests',
];
const BETA14_MIGRATIONS = [
  ...EXPECTED_MIGRATIONS,
  'm20261003_000001_onboarding_invitations',
  'm20261003_000002_password_resets',
];

function scratchDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'barycenter-standin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
  redirect: 'manual' as const,
});

async function login(bc: Standin, username: string, password: string): Promise<Response> {
  return fetch(`${bc.url}/login`, form({ username, password }));
}

async function sessionCookie(bc: Standin, username: string, password: string): Promise<string> {
  const r = await login(bc, username, password);
  assert.equal(r.status, 303);
  const m = /^barycenter_session=([^;]+)/.exec(r.headers.get('set-cookie') ?? '');
  assert.ok(m, 'session cookie set');
  return `barycenter_session=${m[1]}`;
}

async function gql(bc: Standin, p: string, query: string): Promise<{ data?: any; errors?: { message: string }[] }> {
  const r = await fetch(`http://127.0.0.1:${bc.adminPort}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  assert.equal(r.status, 200);
  return (await r.json()) as { data?: any; errors?: { message: string }[] };
}

/** Route B of facts §4.7: device authorization, login, approval, one poll. */
async function deviceGrant(bc: Standin, username = 'admin', password = 'password123') {
  const da = await fetch(`${bc.url}/device_authorization`, form({ scope: 'openid profile email' }));
  assert.equal(da.status, 200);
  const dev = (await da.json()) as Record<string, any>;
  assert.match(dev.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  assert.equal(dev.expires_in, 1800);
  assert.equal(dev.interval, 5);
  assert.equal(dev.verification_uri, `http://localhost:${bc.port}/device`);
  assert.ok(dev.client_id && dev.client_secret, 'auto-registered client returned');

  const poll = () =>
    fetch(
      `${bc.url}/token`,
      form({
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        device_code: dev.device_code,
        client_id: dev.client_id,
      }),
    );
  const cookie = await sessionCookie(bc, username, password);
  const consent = await fetch(`${bc.url}/device/consent`, {
    ...form({ user_code: dev.user_code, approved: 'true' }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
  });
  assert.equal(consent.status, 200);
  assert.match(await consent.text(), /Device Approved/);
  const tok = await poll();
  assert.equal(tok.status, 200);
  assert.equal(tok.headers.get('cache-control'), 'no-store');
  const body = (await tok.json()) as Record<string, any>;
  assert.equal(body.token_type, 'bearer');
  assert.equal(body.refresh_token, null);
  // A second poll right away is too fast.
  const again = await poll();
  assert.equal(((await again.json()) as { error: string }).error, 'slow_down');
  return { dev, tokens: body };
}

test('fresh SQLite instance: keys, discovery, device grant, userinfo, admin jobs', async (t) => {
  const dir = scratchDir(t);
  const bc = await startStandin({ cwd: dir });
  t.after(() => bc.stop());

  // Key file is a pretty-printed JSON JWK; jwks.json holds its public half with the same kid.
  const keyText = readFileSync(path.join(dir, 'private_key.pem'), 'utf8');
  assert.match(keyText, /^\{\n  "kty": "RSA"/);
  const priv = JSON.parse(keyText) as Record<string, string>;
  for (const k of ['kty', 'kid', 'alg', 'use', 'n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'])
    assert.ok(priv[k], `private JWK has ${k}`);
  assert.equal(priv.kid!.length, 22);
  assert.equal(priv.use, 'sig');
  assert.equal(Buffer.from(priv.n!, 'base64url').length, 256);
  const jwksFile = JSON.parse(readFileSync(path.join(dir, 'jwks.json'), 'utf8')) as JSONWebKeySet;
  assert.deepEqual(Object.keys(jwksFile.keys[0]!).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
  assert.equal(jwksFile.keys[0]!.kid, priv.kid);
  assert.equal(jwksFile.keys[0]!.n, priv.n);

  const served = (await (await fetch(`${bc.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  assert.deepEqual(served, jwksFile);

  const discoRes = await fetch(`${bc.url}/.well-known/openid-configuration`);
  assert.equal(discoRes.headers.get('x-frame-options'), 'DENY');
  const disco = (await discoRes.json()) as Record<string, any>;
  const iss = `http://localhost:${bc.port}`;
  assert.equal(disco.issuer, iss);
  assert.equal(disco.jwks_uri, `${iss}/.well-known/jwks.json`);
  assert.equal(disco.device_authorization_endpoint, `${iss}/device_authorization`);
  assert.deepEqual(disco.id_token_signing_alg_values_supported, ['RS256']);
  assert.deepEqual(disco.code_challenge_methods_supported, ['S256']);
  assert.deepEqual(disco.grant_types_supported, [
    'authorization_code',
    'refresh_token',
    'implicit',
    'urn:ietf:params:oauth:grant-type:device_code',
  ]);
  assert.equal(disco.end_session_endpoint, undefined);
  assert.equal(Object.keys(disco).length, 21);

  // Default admin is created and announced at info.
  assert.match(bc.logs(), /Created default admin user \(username: admin, password: password123\)/);
  assert.match(bc.logs(), /database: Database \{ url: "sqlite:\/\//);

  const { dev, tokens } = await deviceGrant(bc);
  const header = decodeProtectedHeader(tokens.id_token);
  assert.deepEqual(Object.keys(header).sort(), ['alg', 'kid']);
  const { payload } = await jwtVerify(tokens.id_token, createLocalJWKSet(served), {
    issuer: iss,
    audience: dev.client_id,
  });
  assert.equal(typeof payload.aud, 'string');
  assert.equal(payload.exp, payload.iat! + 3600);
  assert.equal(payload.preferred_username, 'admin');
  assert.equal(payload.email, 'admin@example.com');
  assert.equal(payload.email_verified, false);
  assert.ok(payload.at_hash && payload.auth_time);
  const ui = await fetch(`${bc.url}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(ui.status, 200);
  assert.equal(((await ui.json()) as { sub: string }).sub, payload.sub);
  assert.equal(payload.sub!.length, 32);

  // Admin jobs API: Int timestamps and 0/1/null success; unknown names leave a NULL row.
  const trig = await gql(
    bc,
    '/admin/jobs',
    'mutation { triggerJob(jobName: "cleanup_expired_sessions") { success message jobName } }',
  );
  assert.deepEqual(trig.data.triggerJob, {
    success: true,
    message: "Job 'cleanup_expired_sessions' triggered successfully",
    jobName: 'cleanup_expired_sessions',
  });
  const bogus = await gql(bc, '/admin/jobs', 'mutation { triggerJob(jobName: "nope") { success message } }');
  assert.equal(bogus.data.triggerJob.success, false);
  const logs = await gql(
    bc,
    '/admin/jobs',
    '{ jobLogs(limit: 5) { id jobName startedAt completedAt success recordsProcessed } availableJobs { name schedule } }',
  );
  assert.equal(logs.data.availableJobs.length, 6);
  const byName = Object.fromEntries(logs.data.jobLogs.map((l: any) => [l.jobName, l]));
  assert.equal(byName.cleanup_expired_sessions.success, 1);
  assert.equal(typeof byName.cleanup_expired_sessions.startedAt, 'number');
  assert.equal(byName.nope.success, null);
  assert.equal(byName.nope.completedAt, null);
  const failures = await gql(bc, '/admin/jobs', '{ jobLogs(onlyFailures: true) { jobName } }');
  assert.deepEqual(failures.data.jobLogs, []);
  assert.equal((await gql(bc, '/admin/graphql', 'mutation { _ping }')).data._ping, 'pong');
  const sea = await gql(bc, '/admin/graphql', '{ clients { nodes { clientId } } }');
  assert.match(sea.errors![0]!.message, /DatabaseConnection/);

  await bc.stop();
  // No signal handler, as upstream: SIGTERM kills the process.
  assert.equal(bc.proc.exitCode, null);
  assert.equal(bc.proc.signalCode, 'SIGTERM');

  // Schema and migration bookkeeping as the real migrations leave them.
  const db = new Database(path.join(dir, 'barycenter.db'), { readonly: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type='table'").all() as { name: string }[]).map(
      (r) => r.name,
    );
    for (const tname of [
      'clients',
      'users',
      'consent',
      'device_codes',
      'job_executions',
      'trusted_peers',
      'federated_identities',
      'federation_auth_requests',
      'peer_requests',
      'seaql_migrations',
    ]) {
      assert.ok(tables.includes(tname), `table ${tname}`);
    }
    assert.ok(!tables.includes('consents') && !tables.includes('device_code'));
    const versions = db.prepare('SELECT version, applied_at FROM seaql_migrations ORDER BY version').all() as {
      version: string;
      applied_at: number;
    }[];
    assert.deepEqual(
      versions.map((v) => v.version),
      EXPECTED_MIGRATIONS,
    );
    assert.ok(versions.every((v) => Number.isInteger(v.applied_at) && v.applied_at > 1.7e9 && v.applied_at < 1e10));
    const admin = db.prepare("SELECT password_hash FROM users WHERE username='admin'").get() as {
      password_hash: string;
    };
    assert.match(admin.password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  } finally {
    db.close();
  }
});

test('a stale jwks.json is served verbatim and never rewritten', async (t) => {
  const dir = scratchDir(t);
  // jwks.json present, private key missing: a new key is generated and the old JWKS stays.
  const stale = { keys: [{ kty: 'RSA', n: 'stale-modulus', e: 'AQAB', use: 'sig', kid: 'old-kid', alg: 'RS256' }] };
  const staleText = JSON.stringify(stale, null, 2);
  writeFileSync(path.join(dir, 'jwks.json'), staleText);
  const bc = await startStandin({ cwd: dir });
  t.after(() => bc.stop());
  assert.deepEqual(await (await fetch(`${bc.url}/.well-known/jwks.json`)).json(), stale);
  assert.equal(readFileSync(path.join(dir, 'jwks.json'), 'utf8'), staleText);
  const priv = JSON.parse(readFileSync(path.join(dir, 'private_key.pem'), 'utf8')) as { kid: string };
  assert.notEqual(priv.kid, 'old-kid');
  // Tokens are signed with the new key, so relying parties fail on the kid.
  const { tokens } = await deviceGrant(bc);
  assert.equal(decodeProtectedHeader(tokens.id_token).kid, priv.kid);
});

test('sync-users adds users that can log in; never re-passwords; rejects an array file', async (t) => {
  const dir = scratchDir(t);
  const usersFile = path.join(dir, 'users.json');
  writeFileSync(
    usersFile,
    JSON.stringify({
      users: [
        { username: 'alice', password: 'alice-pw', email: 'alice@example.com', properties: { name: 'Alice' } },
        { username: 'bob', password: 'bob-pw', enabled: false },
      ],
    }),
  );
  const sync = await runSyncUsers({ cwd: dir, file: usersFile });
  assert.equal(sync.code, 0, sync.stdout + sync.stderr);
  assert.match(sync.stdout, /User sync complete: 2 created, 0 updated, 0 unchanged/);
  // sync-users neither creates the admin nor generates keys.
  assert.ok(!existsSync(path.join(dir, 'private_key.pem')));
  assert.doesNotMatch(sync.stdout, /Created default admin user/);

  writeFileSync(
    usersFile,
    JSON.stringify({ users: [{ username: 'alice', password: 'changed', email: 'alice@example.com' }] }),
  );
  assert.equal((await runSyncUsers({ cwd: dir, file: usersFile })).code, 0);
  writeFileSync(path.join(dir, 'array.json'), JSON.stringify([{ username: 'carol', password: 'x' }]));
  const bad = await runSyncUsers({ cwd: dir, file: path.join(dir, 'array.json') });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /Failed to parse users JSON file/);

  const bc = await startStandin({ cwd: dir });
  t.after(() => bc.stop());
  assert.equal((await login(bc, 'alice', 'alice-pw')).status, 303);
  assert.equal((await login(bc, 'alice', 'changed')).status, 307);
  const disabled = await login(bc, 'bob', 'bob-pw');
  assert.equal(disabled.status, 307);
  assert.match(disabled.headers.get('location') ?? '', /^\/login\?error=/);
  const { tokens } = await deviceGrant(bc, 'alice', 'alice-pw');
  const ui = (await (
    await fetch(`${bc.url}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
  ).json()) as Record<string, unknown>;
  assert.equal(ui.name, 'Alice');
  assert.equal(ui.preferred_username, 'alice');
});

test('without a hostname public_base_url startup fails on WebAuthn after DB, admin and key', async (t) => {
  const dir = scratchDir(t);
  const env: Record<string, string | undefined> = {
    ...scratchEnv(dir, 18999),
    BARYCENTER__SERVER__PUBLIC_BASE_URL: undefined,
  };
  const r = await runBarycenter(['--config', path.join(dir, 'none.toml')], { cwd: dir, env });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /WebAuthn/);
  assert.ok(existsSync(path.join(dir, 'private_key.pem')) && existsSync(path.join(dir, 'jwks.json')));
  assert.match(r.stdout, /Created default admin user/);
});

test('a database with a migration unknown to the binary is refused', async (t) => {
  const dir = scratchDir(t);
  const db = new Database(path.join(dir, 'barycenter.db'));
  db.exec('CREATE TABLE seaql_migrations (version varchar NOT NULL PRIMARY KEY, applied_at bigint NOT NULL)');
  db.prepare('INSERT INTO seaql_migrations VALUES (?, ?)').run('m20990101_000001_future', 4102444800);
  db.close();
  const r = await runBarycenter(['--config', path.join(dir, 'none.toml')], { cwd: dir, env: scratchEnv(dir, 18998) });
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /Migration file of version 'm20990101_000001_future' is missing, this migration has been applied but its file is missing/,
  );
});

async function scratchPgDatabase(t: { after(fn: () => Promise<void>): void }): Promise<string | undefined> {
  const base = process.env.TEST_PG_URL;
  if (!base) return undefined;
  const dbName = `bc_standin_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  t.after(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  });
  const u = new URL(base);
  u.pathname = `/${dbName}`;
  return u.toString();
}

async function pgRows(url: string, sql: string): Promise<Record<string, any>[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

test('PostgreSQL deployment (beta.14: its migrations run on PostgreSQL)', async (t) => {
  const url = await scratchPgDatabase(t);
  if (!url) return t.skip('no TEST_PG_URL');
  const dir = scratchDir(t);
  const bc = await startStandin({ cwd: dir, build: 'beta.14', env: { BARYCENTER__DATABASE__URL: url } });
  t.after(() => bc.stop());
  await runSyncUsers({
    cwd: dir,
    file: writeUsers(dir, [{ username: 'pat', password: 'pat-password-1' }]),
    build: 'beta.14',
    env: { BARYCENTER__DATABASE__URL: url },
  });
  const { dev, tokens } = await deviceGrant(bc, 'pat', 'pat-password-1');
  const served = (await (await fetch(`${bc.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  await jwtVerify(tokens.id_token, createLocalJWKSet(served), { audience: dev.client_id });
  await gql(bc, '/admin/jobs', 'mutation { triggerJob(jobName: "cleanup_expired_device_codes") { success } }');
  const logs = await gql(bc, '/admin/jobs', '{ jobLogs { jobName success startedAt } }');
  assert.equal(logs.data.jobLogs[0].success, 1);
  await bc.stop();
  const v = await pgRows(url, 'SELECT version FROM seaql_migrations ORDER BY version');
  assert.deepEqual(
    v.map((r) => r.version),
    BETA14_MIGRATIONS,
  );
  const tables = await pgRows(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
  for (const name of ['consent', 'trusted_peers', 'onboarding_invitations', 'password_resets'])
    assert.ok(
      tables.some((r) => r.table_name === name),
      name,
    );
});

test('8218d6f on PostgreSQL fails at m20260407_000001 and rolls back every pending migration', async (t) => {
  const url = await scratchPgDatabase(t);
  if (!url) return t.skip('no TEST_PG_URL');
  const dir = scratchDir(t);
  const r = await runSyncUsers({
    cwd: dir,
    file: writeUsers(dir, []),
    env: { BARYCENTER__DATABASE__URL: url },
  });
  assert.notEqual(r.code, 0);
  assert.match(r.stdout, /Applying migration 'm20260407_000001_create_federation_tables'/);
  assert.match(r.stderr, /Execution Error: error returned from database: .*(boolean|strftime)/);
  // One transaction for all pending migrations: not even the six earlier ones stay.
  const v = await pgRows(url, 'SELECT version FROM seaql_migrations');
  assert.deepEqual(v, []);
  const tables = await pgRows(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
  assert.deepEqual(
    tables.map((x) => x.table_name),
    ['seaql_migrations'],
  );
});

function writeUsers(dir: string, users: Array<Record<string, unknown>>): string {
  const f = path.join(dir, `users-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, JSON.stringify({ users }));
  return f;
}

const migrationsOf = (dir: string) => {
  const db = new Database(path.join(dir, 'barycenter.db'), { readonly: true });
  try {
    return (db.prepare('SELECT version FROM seaql_migrations ORDER BY version').all() as { version: string }[]).map(
      (r) => r.version,
    );
  } finally {
    db.close();
  }
};

test('build profiles: migrations and the default admin of beta.5, 8218d6f and beta.14', async (t) => {
  for (const [build, migrations, admin] of [
    ['beta.5', EXPECTED_MIGRATIONS.slice(0, 6), true],
    ['8218d6f', EXPECTED_MIGRATIONS, true],
    ['beta.14', BETA14_MIGRATIONS, false],
  ] as const) {
    const dir = scratchDir(t);
    const bc = await startStandin({ cwd: dir, build });
    const r = await login(bc, 'admin', 'password123');
    assert.equal(r.status, admin ? 303 : build === 'beta.14' ? 303 : 307, build);
    if (!admin) assert.match(r.headers.get('location') ?? '', /^\/login\?error=/, `${build}: no default admin`);
    await bc.stop();
    assert.equal(bc.logs().includes('Created default admin user'), admin, build);
    assert.deepEqual(migrationsOf(dir), [...migrations], build);
  }
});

test('a newer database refuses to start on an older build, naming the migration', async (t) => {
  const dir = scratchDir(t);
  const bc = await startStandin({ cwd: dir, build: 'beta.14' });
  await bc.stop();
  const r = await runSyncUsers({ cwd: dir, file: writeUsers(dir, []), build: 'beta.5' });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Migration file of version 'm20260407_000001_create_federation_tables' is missing/);
  const older = await runSyncUsers({ cwd: dir, file: writeUsers(dir, []), build: '8218d6f' });
  assert.match(older.stderr, /Migration file of version 'm20261003_000001_onboarding_invitations' is missing/);
  // And the other way round an older database is migrated forward.
  const dir2 = scratchDir(t);
  await (await startStandin({ cwd: dir2, build: 'beta.5' })).stop();
  assert.equal((await runSyncUsers({ cwd: dir2, file: writeUsers(dir2, []), build: 'beta.14' })).code, 0);
  assert.deepEqual(migrationsOf(dir2), BETA14_MIGRATIONS);
});

test('beta.5: a federation table without trust_anchors fails ("missing field"); webfinger is unknown', async (t) => {
  const dir = scratchDir(t);
  const env = { BARYCENTER__FEDERATION__ENABLED: 'false' };
  const r = await runSyncUsers({ cwd: dir, file: writeUsers(dir, []), build: 'beta.5', env });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /missing field `trust_anchors`/);
  const cfg = path.join(dir, 'config.toml');
  writeFileSync(cfg, '[federation]\ntrust_anchors = []\n[webfinger]\nenabled = "not a bool"\n');
  const ok = await runSyncUsers({ cwd: dir, file: writeUsers(dir, []), build: 'beta.5', env, configPath: cfg });
  assert.equal(ok.code, 0, ok.stderr);
  // 8218d6f knows [webfinger] and rejects the bad bool.
  const later = await runSyncUsers({ cwd: dir, file: writeUsers(dir, []), env, configPath: cfg });
  assert.match(later.stderr, /expected a boolean for key `webfinger.enabled`/);
});

test('server.host parses like a socket address: IPv4 or [IPv6]; ::1 and localhost fail', async (t) => {
  const dir = scratchDir(t);
  for (const host of ['::1', 'localhost', '127.000.0.1']) {
    const r = await runBarycenter(['--config', path.join(dir, 'none.toml')], {
      cwd: dir,
      env: { ...scratchEnv(dir, 18997), BARYCENTER__SERVER__HOST: host },
    });
    assert.notEqual(r.code, 0, host);
    assert.match(r.stderr, /bad listen addr/, host);
  }
  // A bracketed IPv6 host binds: wait for the listening line on [::1] (the helpers probe 127.0.0.1).
  const port = await freePortPair();
  const proc = spawn(standinBin(), ['--config', path.join(dir, 'none.toml')], {
    cwd: dir,
    env: { ...process.env, ...scratchEnv(dir, port), BARYCENTER__SERVER__HOST: '[::1]' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listening = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), 15_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/Public API listening.*\[::1\]:\d+/.test(out)) {
        clearTimeout(t);
        resolve(true);
      }
    });
    proc.once('exit', () => resolve(false));
  });
  proc.kill('SIGKILL');
  assert.ok(listening, out);
});

test("signing: a JWK Barycenter's signer refuses boots and then answers 500 at /token", async (t) => {
  const dir = scratchDir(t);
  const bc0 = await startStandin({ cwd: dir });
  await bc0.stop();
  const keyFile = path.join(dir, 'private_key.pem');
  const key = JSON.parse(readFileSync(keyFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(keyFile, JSON.stringify({ ...key, alg: 'RS384' }, null, 2));
  const bc = await startStandin({ cwd: dir });
  t.after(() => bc.stop());
  const da = (await (await fetch(`${bc.url}/device_authorization`, form({ scope: 'openid' }))).json()) as Record<
    string,
    string
  >;
  const cookie = await sessionCookie(bc, 'admin', 'password123');
  await fetch(`${bc.url}/device/consent`, {
    ...form({ user_code: da.user_code!, approved: 'true' }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
  });
  const tok = await fetch(
    `${bc.url}/token`,
    form({
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: da.device_code!,
      client_id: da.client_id!,
    }),
  );
  assert.equal(tok.status, 500);
  const body = (await tok.json()) as { error: string; details: string };
  assert.equal(body.error, 'server_error');
  assert.match(body.details, /alg/);
});

test('beta.14: onboarding token file and onboarding_app_url are checked at startup', async (t) => {
  const dir = scratchDir(t);
  const tokenFile = path.join(dir, 'onboarding-token');
  const start = (env: Record<string, string | undefined>, configPath?: string) =>
    runBarycenter(['--config', configPath ?? path.join(dir, 'none.toml')], {
      cwd: dir,
      env: { ...scratchEnv(dir, 18996), ...env },
      build: 'beta.14',
      timeoutMs: 15_000,
    });
  let r = await start({ BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE: tokenFile });
  assert.match(r.stderr, /Onboarding configuration: cannot read token file/);
  writeFileSync(tokenFile, 'short\n');
  r = await start({ BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE: tokenFile });
  assert.match(r.stderr, /at least 32 characters/);
  writeFileSync(tokenFile, 'x'.repeat(40));
  r = await start({
    BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE: tokenFile,
    BARYCENTER__SERVER__PUBLIC_BASE_URL: 'http://idp.example.org',
  });
  assert.match(r.stderr, /public_base_url requires HTTPS except loopback/);
  const cfg = path.join(dir, 'c.toml');
  writeFileSync(cfg, '[server]\nonboarding_app_url = "http://app.example.org"\n');
  r = await start({}, cfg);
  assert.match(r.stderr, /onboarding_app_url/);
  // 8218d6f knows neither: both are ignored (its own directory: beta.14 has migrated this one).
  const oldDir = scratchDir(t);
  const old = await startStandin({
    cwd: oldDir,
    configPath: cfg,
    env: { BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE: path.join(oldDir, 'missing') },
  });
  await old.stop();
  // With a good token file and a loopback issuer beta.14 starts.
  const ok = await startStandin({
    cwd: dir,
    build: 'beta.14',
    env: { BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE: tokenFile },
  });
  assert.doesNotMatch(ok.logs(), /database_backend=.*postgres|sqlite:\/\//);
  await ok.stop();
});
