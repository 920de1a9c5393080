// Backups of real-shaped SQLite and PostgreSQL deployments to file:// and to an S3-compatible
// server over HTTP, checked with independent tools: the age CLI, sqlite3 and pg_restore.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { getPostgres, getS3, makeTempDir, type TestPostgres, type TestS3 } from './support/services.js';
import { makeDeployment, run, runCli, setupBarysafe, type Deployment } from './support/deployments.js';
import { loadVerifier } from '../src/crypto/signing.js';
import { parseAndVerify, sha256Hex } from '../src/repository/signed-document.js';
import { manifestSchema, type Manifest } from '../src/repository/manifest.js';

let pgService: TestPostgres;
let s3: TestS3;
before(async () => {
  [pgService, s3] = await Promise.all([getPostgres(), getS3()]);
});
after(async () => {
  await Promise.all([pgService?.stop(), s3?.stop()]);
});

/** Where a backend keeps the object bytes: a function that fetches them as a Buffer. */
type Fetch = (key: string) => Promise<Buffer>;

async function repoFor(
  kind: 'file' | 's3',
  d: Deployment,
): Promise<{ url: string; extra?: string; fetch: Fetch; env: Record<string, string> }> {
  if (kind === 'file') {
    const root = path.join(d.dir.path, 'repository');
    return { url: `file://${root}`, fetch: (k) => readFile(path.join(root, k)), env: {} };
  }
  const bucket = await s3.createBucket();
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  return {
    url: `s3://${bucket}/barysafe`,
    extra: `endpoint = "${s3.endpoint}"\nregion = "${s3.region}"\nforce_path_style = true\nchecksum = "when_required"`,
    env: s3.env,
    fetch: async (k) =>
      Buffer.from(
        await (
          await client.send(new GetObjectCommand({ Bucket: bucket, Key: `barysafe/${k}` }))
        ).Body!.transformToByteArray(),
      ),
  };
}

async function ageDecrypt(identityFile: string, ciphertext: Buffer): Promise<Buffer> {
  const r = await run('age', ['--decrypt', '-i', identityFile], { input: ciphertext });
  assert.equal(r.code, 0, `age CLI failed: ${r.stderr}`);
  return r.stdout;
}

for (const kind of ['file', 's3'] as const) {
  describe(`SQLite deployment → ${kind} repository`, () => {
    test('backup, list, and every artifact decrypts with the age CLI', async () => {
      const d = await makeDeployment();
      const repo = await repoFor(kind, d);
      const setup = await setupBarysafe(d, repo);
      try {
        const b = await runCli(['--config', setup.configPath, '--json', 'backup'], { env: repo.env });
        assert.equal(b.code, 0, b.stderr);
        const out = JSON.parse(b.stdout) as {
          snapshot: { id: string; artifacts: Array<{ name: string; object: string; sha256: string }> };
        };
        const snap = out.snapshot;
        assert.deepEqual(snap.artifacts.map((a) => a.name).sort(), [
          'barycenter.db',
          'config.toml',
          'jwks.json',
          'private_key.pem',
        ]);

        // The manifest is signed by the configured key and chains to nothing (first snapshot).
        const manifestBytes = await repo.fetch(`snapshots/${snap.id}/manifest.json`);
        const manifest = parseAndVerify(
          manifestBytes,
          await loadVerifier(path.join(setup.etc, 'signing.pub.pem')),
          'manifest',
          manifestSchema,
        );
        assert.equal(manifest.previous, null);
        assert.equal(manifest.key.jwks.publishes_key_exactly, true);
        assert.equal(manifest.key.modulus_bits, 2048);
        assert.equal(manifest.database.engine, 'sqlite');
        assert.equal(manifest.database.integrity_check, 'ok');
        assert.equal(manifest.database.migrations.length, 8);
        assert.equal(manifest.database.row_counts.users, 1); // admin, created at first start
        assert.equal(manifest.database.row_counts.clients, 1);

        for (const a of manifest.artifacts) {
          const ct = await repo.fetch(a.object);
          assert.equal(sha256Hex(ct), a.sha256, `${a.name}: stored bytes differ from what was hashed`);
          assert.equal(ct.length, a.size);
        }
        const keyPlain = await ageDecrypt(
          setup.identityFile,
          await repo.fetch(manifest.artifacts.find((a) => a.name === 'private_key.pem')!.object),
        );
        assert.deepEqual(
          keyPlain,
          await readFile(path.join(d.workdir, 'data/private_key.pem')),
          'the key decrypts byte-identical',
        );
        const jwksPlain = await ageDecrypt(
          setup.identityFile,
          await repo.fetch(manifest.artifacts.find((a) => a.name === 'jwks.json')!.object),
        );
        assert.deepEqual(jwksPlain, await readFile(path.join(d.workdir, 'data/jwks.json')));
        const cfgPlain = await ageDecrypt(
          setup.identityFile,
          await repo.fetch(manifest.artifacts.find((a) => a.name === 'config.toml')!.object),
        );
        assert.deepEqual(cfgPlain, await readFile(d.configPath));

        const dbFile = path.join(d.dir.path, 'restored.db');
        await writeFile(
          dbFile,
          await ageDecrypt(
            setup.identityFile,
            await repo.fetch(manifest.artifacts.find((a) => a.name === 'barycenter.db')!.object),
          ),
        );
        const check = await run('sqlite3', [
          dbFile,
          'PRAGMA integrity_check; SELECT count(*) FROM users; SELECT count(*) FROM clients;',
        ]);
        assert.equal(check.stdout.toString().trim(), 'ok\n1\n1');

        // A second backup chains to the first manifest's exact bytes; both are listed.
        const b2 = await runCli(['--config', setup.configPath, '--json', 'backup'], { env: repo.env });
        assert.equal(b2.code, 0, b2.stderr);
        const id2 = (JSON.parse(b2.stdout) as { snapshot: { id: string } }).snapshot.id;
        const m2 = JSON.parse((await repo.fetch(`snapshots/${id2}/manifest.json`)).toString()) as Manifest;
        assert.deepEqual(m2.previous, { id: snap.id, sha256: sha256Hex(manifestBytes) });
        const list = await runCli(['--config', setup.configPath, '--json', 'snapshots'], { env: repo.env });
        assert.equal(list.code, 0, list.stderr);
        const rows = (JSON.parse(list.stdout) as { snapshots: Array<{ id: string; signature: string }> }).snapshots;
        assert.deepEqual(
          rows.map((r) => [r.id, r.signature]),
          [
            [snap.id, 'verified'],
            [id2, 'verified'],
          ],
        );
        const table = await runCli(['--config', setup.configPath, 'snapshots'], { env: repo.env });
        assert.match(table.stdout, new RegExp(`${id2}.*sqlite.*ok\\s+signature ok`));
      } finally {
        await d.dir.cleanup();
      }
    });
  });

  describe(`PostgreSQL deployment → ${kind} repository`, () => {
    test('pg_dump streams, counts match the dump, and pg_restore reads it', async () => {
      const dbUrl = await pgService.createDatabase();
      const d = await makeDeployment({ databaseUrl: dbUrl });
      const repo = await repoFor(kind, d);
      const setup = await setupBarysafe(d, repo);
      await writeFile(
        setup.configPath,
        (await readFile(setup.configPath, 'utf8')) +
          (pgService.binDir ? `\n[backup]\npg_bin_dir = "${pgService.binDir}"\n` : ''),
      );
      const target = await pgService.createDatabase();
      try {
        const b = await runCli(['--config', setup.configPath, '--json', 'backup'], { env: repo.env });
        assert.equal(b.code, 0, b.stderr);
        const { snapshot } = JSON.parse(b.stdout) as {
          snapshot: { id: string; database: Manifest['database']; artifacts: Manifest['artifacts'] };
        };
        assert.equal(snapshot.database.engine, 'postgres');
        assert.equal(snapshot.database.dump_format, 'pg_dump-custom');
        assert.equal(snapshot.database.migrations.length, 10); // beta.14: 8218d6f cannot migrate PostgreSQL
        assert.equal(snapshot.database.schema?.build, 'beta.14');
        assert.doesNotMatch(
          snapshot.database.source,
          new RegExp(new URL(dbUrl).password),
          'no DB password in the manifest',
        );

        const dump = await ageDecrypt(
          setup.identityFile,
          await repo.fetch(snapshot.artifacts.find((a) => a.kind === 'database')!.object),
        );
        assert.equal(dump.subarray(0, 5).toString(), 'PGDMP', 'a pg_dump custom-format archive');
        const u = new URL(target);
        const restore = await run(
          path.join(pgService.binDir || '', 'pg_restore'),
          ['--no-owner', '--exit-on-error', '-d', `${u.protocol}//${u.username}@${u.host}${u.pathname}`],
          {
            env: { ...process.env, PGPASSWORD: decodeURIComponent(u.password) },
            input: dump,
          },
        );
        assert.equal(restore.code, 0, restore.stderr);
        const c = new pg.Client({ connectionString: target });
        await c.connect();
        try {
          for (const [table, n] of Object.entries(snapshot.database.row_counts)) {
            const r = await c.query<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`);
            assert.equal(Number(r.rows[0]!.n), n, `row count of ${table}`);
          }
        } finally {
          await c.end();
        }
        assert.equal(snapshot.database.row_counts.clients, 1);
      } finally {
        await d.dir.cleanup();
        await pgService.dropDatabase(new URL(dbUrl).pathname.slice(1));
        await pgService.dropDatabase(u(target));
      }
    });
  });
}

function u(url: string): string {
  return new URL(url).pathname.slice(1);
}

test('the demo command backs up a sample deployment into a local folder', async () => {
  const dir = await makeTempDir('barysafe-demo-');
  try {
    const r = await runCli(['--json', 'demo', '--dir', dir.path]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { snapshot: string; snapshots: Array<{ id: string; verified: boolean }> };
    assert.deepEqual(out.snapshots, [{ id: out.snapshot, verified: true }]);
  } finally {
    await dir.cleanup();
  }
});
