// A backup of nothing is not a backup: the review's D4 (a 0-byte or foreign SQLite file was backed
// up with exit 0 and the drill passed) and D6 (a corrupt database ended as exit 1 with no file name
// and no hint), reproduced as the review did, on SQLite and PostgreSQL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { ExitCode } from '../src/errors.js';
import { encryptStream } from '../src/crypto/age.js';
import { loadSigner } from '../src/crypto/signing.js';
import { manifestKey } from '../src/repository/layout.js';
import type { Manifest } from '../src/repository/manifest.js';
import { serialize, sha256Hex, signDocument } from '../src/repository/signed-document.js';
import { makeDeployment, run, runCli, setupFileRepository, type BarysafeSetup } from './support/deployments.js';
import { getPostgres, type TestPostgres } from './support/services.js';
import { drillSetup, step, type DrillSetup } from './drill-fixtures.js';

let pgService: TestPostgres;
before(async () => {
  pgService = await getPostgres();
});
after(async () => {
  await pgService?.stop();
});

type Setup = BarysafeSetup & { repoRoot: string; tempBase: string };

/** Nothing of a failed backup is left: no snapshot listed, no object under snapshots/, no plaintext. */
async function assertNothingSaved(s: Setup) {
  const list = await runCli(['--config', s.configPath, '--json', 'snapshots']);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual((JSON.parse(list.stdout) as { snapshots: unknown[] }).snapshots, [], 'no snapshot listed');
  const snaps = path.join(s.repoRoot, 'snapshots');
  assert.deepEqual(existsSync(snaps) ? readdirSync(snaps) : [], [], 'no snapshot folder, no partial object');
  const runs = existsSync(s.tempBase) ? readdirSync(s.tempBase, { recursive: true }).map(String) : [];
  assert.deepEqual(
    runs.filter((n) => n.includes(`run-`) && n.split(path.sep).length > 1),
    [],
    'no plaintext temp file',
  );
}

/** What the review did to corrupt the file: every page after the first gets a garbage header. */
async function corrupt(file: string) {
  const b = await readFile(file);
  for (let p = 2; p < Math.floor(b.length / 4096); p++) {
    b[p * 4096] = 0x0d;
    b.fill(0xff, p * 4096 + 1, p * 4096 + 8);
  }
  await writeFile(file, b);
}

describe('a database without Barycenter’s schema is not backed up', () => {
  const cases: Array<[string, (db: string) => Promise<void>, RegExp]> = [
    ['a 0-byte file', (db) => writeFile(db, ''), /is empty \(0 bytes\)/],
    [
      'a foreign database (one table of notes)',
      async (db) => {
        await rm(db);
        const x = new Database(db);
        x.exec('CREATE TABLE notes(x)');
        x.close();
      },
      /holds no Barycenter schema: .*no Barycenter migration/,
    ],
    [
      'Barycenter’s tables without seaql_migrations',
      async (db) => {
        const x = new Database(db);
        x.exec('DROP TABLE seaql_migrations');
        x.close();
      },
      /holds no Barycenter schema: .*no Barycenter migration/,
    ],
    [
      'migrations recorded, but Barycenter’s tables gone',
      async (db) => {
        const x = new Database(db);
        x.exec('DROP TABLE users; DROP TABLE clients');
        x.close();
      },
      /holds no Barycenter schema: .*lacks Barycenter's tables \(users, clients\)/,
    ],
  ];
  for (const [what, make, message] of cases) {
    test(`D4 (SQLite): ${what} fails the backup with exit 14, names the file and says what to fix; nothing is saved`, async () => {
      const d = await makeDeployment();
      try {
        const s = await setupFileRepository(d);
        const db = path.join(d.workdir, 'barycenter.db');
        await make(db);
        const r = await runCli(['--config', s.configPath, 'backup']);
        assert.equal(r.code, ExitCode.SOURCE, r.stderr);
        assert.match(r.stderr, new RegExp(db.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
        assert.match(r.stderr, message);
        assert.match(r.stderr, /hint: .*database\.url/);
        await assertNothingSaved(s);
      } finally {
        await d.dir.cleanup();
      }
    });
  }

  test('D4 (PostgreSQL): an empty database fails the backup with exit 14 naming it (password redacted); nothing is saved', async () => {
    const dbUrl = await pgService.createDatabase();
    const d = await makeDeployment({ databaseUrl: dbUrl });
    try {
      const empty = await pgService.createDatabase();
      const cfg = await readFile(d.configPath, 'utf8');
      await writeFile(d.configPath, cfg.replace(dbUrl, empty));
      const s = await setupFileRepository(d, pgService.binDir ? `pg_bin_dir = "${pgService.binDir}"\n` : '');
      const r = await runCli(['--config', s.configPath, 'backup']);
      assert.equal(r.code, ExitCode.SOURCE, r.stderr);
      assert.match(r.stderr, /PostgreSQL postgres:\/\/.*holds no Barycenter schema: .*no Barycenter migration/);
      const password = new URL(empty).password;
      if (password) assert.ok(!r.stderr.includes(password), 'the password is not printed');
      await assertNothingSaved(s);
    } finally {
      await d.dir.cleanup();
    }
  });

  test('D6: a corrupt SQLite database fails the backup with exit 14, naming the file and suggesting sqlite3 .recover', async () => {
    const d = await makeDeployment();
    try {
      const db = path.join(d.workdir, 'barycenter.db');
      const x = new Database(db);
      // Enough pages that the damage reaches tables integrity_check must read.
      x.exec(
        'CREATE TABLE bulk (v BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 200) INSERT INTO bulk SELECT randomblob(3000) FROM n; PRAGMA wal_checkpoint(TRUNCATE)',
      );
      x.close();
      await corrupt(db);
      const s = await setupFileRepository(d);
      const r = await runCli(['--config', s.configPath, 'backup']);
      assert.equal(r.code, ExitCode.SOURCE, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`SQLite database ${db.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is (corrupt|damaged)`),
      );
      assert.match(r.stderr, /hint: .*sqlite3 .*\.recover/);
      await assertNothingSaved(s);
    } finally {
      await d.dir.cleanup();
    }
  });
});

describe('the drill fails a snapshot of nothing at its database step', () => {
  test('D4 (drill, check): a validly signed snapshot (made before the backup refused it) holding a foreign database fails the drill at its database step and backup.database', async () => {
    const f = await drillSetup();
    try {
      const { id } = await f.backup();
      // What an older barysafe saved: a foreign SQLite file, recorded with no migrations and no rows.
      const foreign = path.join(f.d.dir.path, 'foreign.db');
      const x = new Database(foreign);
      x.exec('CREATE TABLE notes(x)');
      x.close();
      await replaceDatabase(f, id, await readFile(foreign), (m) => {
        m.database = { ...m.database, migrations: [], row_counts: {} };
      });

      const { result } = await f.drill(f.config, { ref: id });
      assert.equal(step(result, 'integrity').verdict, 'pass', step(result, 'integrity').detail);
      const dbStep = step(result, 'database');
      assert.equal(dbStep.verdict, 'fail');
      assert.match(dbStep.detail, /no Barycenter schema: .*no Barycenter migration/);
      assert.notEqual(result.exit_code, 0);
      // And the freshness check does not count it as a backup of the database.
      const check = await runCli(['--config', f.setup.configPath, 'check', '--only', 'backup.database']);
      assert.equal(check.code, ExitCode.CHECK_FAILED, check.stdout + check.stderr);
      assert.match(check.stdout, new RegExp(`snapshot ${id} holds a database with no Barycenter schema`));
    } finally {
      await f.close();
    }
  });

  test('a validly signed snapshot whose database is damaged (pages no table uses) fails the drill at integrity_check', async () => {
    const f = await drillSetup();
    try {
      const { id } = await f.backup();
      // The production database with the same migrations and rows, plus pages no b-tree owns.
      const damaged = path.join(f.d.dir.path, 'damaged.db');
      await writeFile(damaged, await readFile(path.join(f.d.workdir, 'barycenter.db')));
      // The sqlite3 CLI: better-sqlite3 opens files in defensive mode, which forbids writable_schema.
      const r = await run('sqlite3', [
        damaged,
        "CREATE TABLE orphan (b BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 20) INSERT INTO orphan SELECT randomblob(3000) FROM n; PRAGMA writable_schema = ON; DELETE FROM sqlite_schema WHERE name = 'orphan'",
      ]);
      assert.equal(r.code, 0, r.stderr);
      await replaceDatabase(f, id, await readFile(damaged));

      const { result } = await f.drill(f.config, { ref: id });
      assert.equal(step(result, 'integrity').verdict, 'pass', step(result, 'integrity').detail);
      const dbStep = step(result, 'database');
      assert.equal(dbStep.verdict, 'fail');
      assert.match(dbStep.detail, /^integrity_check: \*\*\* in database main \*\*\*\nPage \d+: never used/);
      assert.doesNotMatch(dbStep.detail, /migrations|row counts/, 'only the damage is reported');
      assert.notEqual(result.exit_code, 0);
    } finally {
      await f.close();
    }
  });
});

/**
 * Snapshot `id` with `plain` as its database, the manifest edited by `edit` and signed again with
 * the repository's key: what an older barysafe could have saved.
 */
async function replaceDatabase(f: DrillSetup, id: string, plain: Buffer, edit?: (m: Manifest) => void): Promise<void> {
  const m = JSON.parse(await readFile(path.join(f.repoRoot, manifestKey(id)), 'utf8')) as Manifest;
  const art = m.artifacts.find((a) => a.kind === 'database')!;
  const chunks: Buffer[] = [];
  for await (const c of await encryptStream(m.recipients, Readable.from([plain]))) chunks.push(c as Buffer);
  const cipher = Buffer.concat(chunks);
  await writeFile(path.join(f.repoRoot, art.object), cipher);
  Object.assign(art, { size: cipher.length, sha256: sha256Hex(cipher), plaintext_size: plain.length });
  edit?.(m);
  delete m.signature;
  const signer = await loadSigner(path.join(f.setup.etc, 'signing.pem'));
  await writeFile(path.join(f.repoRoot, manifestKey(id)), serialize(signDocument(m, signer)));
}
