// Each failure ends with a clear message, a non-zero documented exit code, no snapshot listed,
// no partial object left behind and no plaintext temp file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, writeFile, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { getPostgres, getS3, type TestPostgres, type TestS3 } from './support/services.js';
import {
  makeDeployment,
  run,
  runCli,
  setupBarysafe,
  setupFileRepository,
  type BarysafeSetup,
  type CliResult,
} from './support/deployments.js';
import { ExitCode } from '../src/errors.js';

let pgService: TestPostgres;
let s3: TestS3;
before(async () => {
  [pgService, s3] = await Promise.all([getPostgres(), getS3()]);
});
after(async () => {
  await Promise.all([pgService?.stop(), s3?.stop()]);
});

async function assertNothingLeft(s: BarysafeSetup & { tempBase: string }, repoRoot?: string) {
  const list = await runCli(['--config', s.configPath, '--json', 'snapshots']);
  if (list.code === 0)
    assert.deepEqual((JSON.parse(list.stdout) as { snapshots: unknown[] }).snapshots, [], 'no snapshot listed');
  if (repoRoot && existsSync(path.join(repoRoot, 'snapshots'))) {
    const objects = readdirSync(path.join(repoRoot, 'snapshots'), { recursive: true, withFileTypes: true }).filter(
      (e) => e.isFile(),
    );
    assert.deepEqual(
      objects.map((e) => e.name),
      [],
      'no partial object remains',
    );
  }
  const runs = existsSync(s.tempBase) ? readdirSync(s.tempBase, { recursive: true }) : [];
  assert.deepEqual(
    runs.filter((n) => String(n).includes('run-') && String(n).split(path.sep).length > 1),
    [],
    'no plaintext temp file remains',
  );
}

function assertFailed(r: CliResult, code: number, message: RegExp) {
  assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`);
  assert.match(r.stderr, message);
  assert.match(r.stderr, /hint: /, 'the error says what to fix');
}

describe('backup failures', () => {
  test('the signing key file is missing', async () => {
    const d = await makeDeployment();
    try {
      const s = await setupFileRepository(d);
      await rm(path.join(d.workdir, 'data/private_key.pem'));
      const r = await runCli(['--config', s.configPath, 'backup']);
      assertFailed(r, ExitCode.SOURCE, /cannot read the signing key file .*private_key\.pem: it does not exist/);
      await assertNothingLeft(s, s.repoRoot);
    } finally {
      await d.dir.cleanup();
    }
  });

  test('the key file is not a JWK', async () => {
    const d = await makeDeployment();
    try {
      const s = await setupFileRepository(d);
      const { newPemPair } = await import('../src/crypto/keygen.js');
      const pem = newPemPair({ type: 'rsa', modulusLength: 2048 }).privatePem;
      await writeFile(path.join(d.workdir, 'data/private_key.pem'), pem);
      const r = await runCli(['--config', s.configPath, 'backup']);
      assertFailed(r, ExitCode.SOURCE, /private_key\.pem is not a JSON JWK \(it is PEM/);
      assert.doesNotMatch(r.stderr + r.stdout, /BEGIN PRIVATE KEY|MII/, 'the key content is not echoed');
      await assertNothingLeft(s, s.repoRoot);
    } finally {
      await d.dir.cleanup();
    }
  });

  test("another writer holds the repository lock; a dead holder's lock is taken over", async () => {
    const d = await makeDeployment();
    try {
      const s = await setupFileRepository(d);
      const lockFile = path.join(s.repoRoot, 'locks', 'writer.json');
      await import('node:fs/promises').then((fs) => fs.mkdir(path.dirname(lockFile), { recursive: true }));
      const holder = {
        host: (await import('node:os')).hostname(),
        command: 'barysafe backup',
        created_at: new Date().toISOString(),
      };
      await writeFile(lockFile, JSON.stringify({ ...holder, pid: process.pid }));
      const r = await runCli(['--config', s.configPath, 'backup']);
      assertFailed(r, ExitCode.LOCKED, /is locked by barysafe backup \(pid \d+ on /);
      await assertNothingLeft(s, s.repoRoot);
      await writeFile(lockFile, JSON.stringify({ ...holder, pid: 999999999 }));
      const ok = await runCli(['--config', s.configPath, 'backup']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(existsSync(lockFile), false, 'the lock is released');
    } finally {
      await d.dir.cleanup();
    }
  });

  test('the repository is not writable', async () => {
    const d = await makeDeployment();
    try {
      // A repository path below a regular file: unwritable even for root, who ignores modes.
      const blocker = path.join(d.dir.path, 'not-a-dir');
      await writeFile(blocker, 'x');
      const s = await setupBarysafe(d, { url: `file://${blocker}/repo` });
      const r = await runCli(['--config', s.configPath, 'backup']);
      assertFailed(r, ExitCode.REPOSITORY, /not writable|not a directory/i);
      await assertNothingLeft({ ...s, tempBase: path.join(d.dir.path, 'none') });
    } finally {
      await d.dir.cleanup();
    }
  });

  test('a recipient string is invalid', async () => {
    const d = await makeDeployment();
    try {
      const s = await setupFileRepository(d);
      const text = await readFile(s.configPath, 'utf8');
      await writeFile(
        s.configPath,
        text.replace(/recipients = \[ "(age1[a-z0-9]+)" \]/, 'recipients = [ "$1", "age1thisisnotarecipient" ]'),
      );
      assert.notEqual(await readFile(s.configPath, 'utf8'), text, 'the test edited the recipients');
      const r = await runCli(['--config', s.configPath, 'backup']);
      assertFailed(r, ExitCode.USAGE, /invalid age recipient "age1thisisno…"/);
      await assertNothingLeft(s, s.repoRoot);
    } finally {
      await d.dir.cleanup();
    }
  });

  test('pg_dump fails half-way', async () => {
    const dbUrl = await pgService.createDatabase();
    const d = await makeDeployment({ databaseUrl: dbUrl });
    const c = new pg.Client({ connectionString: dbUrl });
    await c.connect();
    try {
      // ~120 MB of incompressible rows so the dump is still streaming when its backend is killed.
      await c.query(
        'CREATE TABLE bulk AS SELECT g AS id, md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text) AS v FROM generate_series(1, 900000) g',
      );
      const s = await setupFileRepository(d, pgService.binDir ? `pg_bin_dir = "${pgService.binDir}"\n` : '');
      const running = runCli(['--config', s.configPath, 'backup']);
      let killed = false;
      for (let i = 0; i < 400 && !killed; i++) {
        const r = await c.query(
          "SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE application_name = 'barysafe-pg_dump' AND datname = current_database() AND query ILIKE 'COPY%'",
        );
        killed = r.rows.some((x: { t: boolean }) => x.t);
        if (!killed) await new Promise((res) => setTimeout(res, 25));
      }
      assert.ok(killed, 'pg_dump was caught while copying data');
      const r = await running;
      assertFailed(r, ExitCode.SOURCE, /pg_dump exited with code 1; the dump is incomplete and was not kept/);
      await assertNothingLeft(s, s.repoRoot);
    } finally {
      await c.end();
      await d.dir.cleanup();
      await pgService.dropDatabase(new URL(dbUrl).pathname.slice(1));
    }
  });

  test('the database copies but fails integrity_check (checked beside its encryption)', async () => {
    const d = await makeDeployment();
    try {
      // An index whose definition no longer matches its entries: SQLite's backup copies the pages
      // as they are, and only integrity_check notices. 30 MB, so the check runs while encrypting.
      const r0 = await run('sqlite3', [
        path.join(d.workdir, 'barycenter.db'),
        "CREATE TABLE bulk (k TEXT, v TEXT, w BLOB); CREATE INDEX bulk_k ON bulk(k); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 3000) INSERT INTO bulk SELECT printf('key-%08d', i), printf('val-%08d', 3000 - i), randomblob(10000) FROM n; PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = 'CREATE INDEX bulk_k ON bulk(v)' WHERE name = 'bulk_k';",
      ]);
      assert.equal(r0.code, 0, r0.stderr);
      const s = await setupFileRepository(d);
      const r = await runCli(['--config', s.configPath, 'backup']);
      assertFailed(
        r,
        ExitCode.SOURCE,
        /the SQLite database .*barycenter\.db is corrupt \(PRAGMA integrity_check of its copy: .*\n  hint: .*sqlite3 .*\.recover/,
      );
      await assertNothingLeft(s, s.repoRoot);
    } finally {
      await d.dir.cleanup();
    }
  });

  test('the S3 endpoint dies during the upload', async () => {
    const d = await makeDeployment();
    // A SQLite database large enough to need several multipart parts.
    const db = new Database(path.join(d.workdir, 'barycenter.db'));
    db.exec(
      'CREATE TABLE bulk (v BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 1200) INSERT INTO bulk SELECT randomblob(50000) FROM n',
    );
    db.close();
    const bucket = await s3.createBucket();
    // barysafe talks to S3 through a TCP relay that we cut mid-upload: the endpoint "dies".
    const target = new URL(s3.endpoint);
    const sockets = new Set<net.Socket>();
    const relay = net.createServer((client) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((res) => relay.listen(0, '127.0.0.1', res));
    const relayUrl = `http://127.0.0.1:${(relay.address() as net.AddressInfo).port}`;
    try {
      const s = await setupBarysafe(d, {
        url: `s3://${bucket}/repo`,
        extra: `endpoint = "${relayUrl}"\nregion = "${s3.region}"\nforce_path_style = true\nchecksum = "when_required"\npart_size_mib = 5`,
      });
      const tempBase = path.join(d.dir.path, 'tmp');
      await writeFile(s.configPath, (await readFile(s.configPath, 'utf8')) + `\n[backup]\ntemp_dir = "${tempBase}"\n`);
      const running = runCli(['--config', s.configPath, 'backup'], { env: s3.env });
      // Cut the endpoint once the first multipart part is on the wire.
      let seen = 0;
      relay.on('connection', (sock) => sock.on('data', (b: Buffer) => (seen += b.length)));
      for (let i = 0; i < 600 && seen < 6 * 1024 * 1024; i++) await new Promise((res) => setTimeout(res, 20));
      assert.ok(seen >= 6 * 1024 * 1024, 'the upload had started');
      relay.close();
      for (const sock of sockets) sock.destroy();
      const r = await running;
      assertFailed(r, ExitCode.REPOSITORY, /repository s3:\/\/.*(unreachable|ECONNREFUSED|socket|connect)/i);
      const client = new S3Client({
        endpoint: s3.endpoint,
        region: s3.region,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      });
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'repo/snapshots/' }));
      assert.deepEqual(
        (listed.Contents ?? []).map((o) => o.Key),
        [],
        'no object, and so no snapshot, was left in the bucket',
      );
      const runs = existsSync(tempBase) ? readdirSync(tempBase, { recursive: true }) : [];
      assert.deepEqual(
        runs.filter((n) => String(n).split(path.sep).length > 1),
        [],
        'no plaintext temp file remains',
      );
    } finally {
      relay.close();
      for (const sock of sockets) sock.destroy();
      await d.dir.cleanup();
    }
  });
});
