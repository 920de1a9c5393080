// The integrity check split between two workers reaches the verdict of one PRAGMA integrity_check:
// on damage only the whole-file b-tree check sees (pages no tree uses), on damage only a table's
// own check sees (index entries that disagree with their rows), and on a healthy file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { inspectSqlite } from '../src/barycenter/sqlite-inspect.js';
import {
  integritySql,
  splitIntegrityCheck,
  worthASecondThread,
  type TableShape,
} from '../src/barycenter/integrity-plan.js';
import { run } from './support/deployments.js';
import { makeTempDir } from './support/services.js';

/** Runs SQL with the sqlite3 CLI, which (unlike better-sqlite3's defensive mode) lets a test damage a file. */
async function sqlite3(file: string, sql: string): Promise<string> {
  const r = await run('sqlite3', [file, sql]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.toString().trim();
}

const fill = (n: number) =>
  `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${n}) SELECT i FROM s`;

/** Tables with indexes and overflow pages, as the plan sees them in Barycenter's schema. */
async function healthy(file: string): Promise<void> {
  await sqlite3(
    file,
    `CREATE TABLE tokens (id INTEGER PRIMARY KEY, token TEXT UNIQUE, subject TEXT, expires INTEGER);
     CREATE INDEX tokens_expires ON tokens (expires);
     INSERT INTO tokens SELECT i, hex(randomblob(16)), 'user' || (i % 97), i * 7 FROM (${fill(3000)});
     CREATE TABLE users (name TEXT PRIMARY KEY, hash BLOB) WITHOUT ROWID;
     INSERT INTO users SELECT 'u' || i, randomblob(200) FROM (${fill(500)});
     CREATE TABLE blobs (b BLOB);
     INSERT INTO blobs SELECT randomblob(5000) FROM (${fill(40)});`,
  );
}

/**
 * One PRAGMA integrity_check by the SQLite barysafe runs (the CLI's may be older and word faults
 * otherwise) finds `fault`, and the split check fails with every line the single check reports.
 */
async function expectEveryFaultKept(file: string, fault: RegExp): Promise<void> {
  const db = new Database(file, { readonly: true });
  const whole = (db.pragma('integrity_check', { simple: false }) as Array<{ integrity_check: string }>).flatMap((r) =>
    r.integrity_check.split('\n'),
  );
  db.close();
  const split = (await inspectSqlite(file, [], { workers: 2 }).facts).integrity;
  assert.match(whole.join('\n'), fault);
  assert.notEqual(split, 'ok');
  for (const line of whole) assert.ok(split.includes(line), `the split check lost: ${line}`);
}

test('damage only the whole-file b-tree check sees (pages no tree uses) fails the split check', async () => {
  const dir = await makeTempDir('barysafe-integrity-');
  try {
    const file = path.join(dir.path, 'orphans.db');
    await healthy(file);
    // Forgetting a table in the schema leaves its pages used by no tree.
    await sqlite3(file, "PRAGMA writable_schema = ON; DELETE FROM sqlite_schema WHERE name = 'blobs'");
    assert.equal(await sqlite3(file, 'PRAGMA integrity_check(tokens)'), 'ok', 'a table-by-table check alone misses it');
    await expectEveryFaultKept(file, /never used/);
  } finally {
    await dir.cleanup();
  }
});

test("damage only a table's own check sees (an index that disagrees with its rows) fails the split check", async () => {
  const dir = await makeTempDir('barysafe-integrity-');
  try {
    const file = path.join(dir.path, 'index.db');
    await healthy(file);
    // Rows changed while the schema did not name the index: the index keeps the old values.
    await sqlite3(
      file,
      `PRAGMA writable_schema = ON;
       CREATE TABLE kept AS SELECT * FROM sqlite_schema WHERE name = 'tokens_expires';
       DELETE FROM sqlite_schema WHERE name = 'tokens_expires';`,
    );
    await sqlite3(file, 'UPDATE tokens SET expires = expires + 1 WHERE id % 11 = 0');
    await sqlite3(
      file,
      `PRAGMA writable_schema = ON;
       INSERT INTO sqlite_schema SELECT * FROM kept;
       DROP TABLE kept;`,
    );
    assert.equal(await sqlite3(file, 'PRAGMA quick_check'), 'ok', 'quick_check alone misses it');
    await expectEveryFaultKept(file, /missing from index tokens_expires|wrong # of entries/);
  } finally {
    await dir.cleanup();
  }
});

test('a healthy file: the split check and one integrity_check agree, with the same facts', async () => {
  const dir = await makeTempDir('barysafe-integrity-');
  try {
    const file = path.join(dir.path, 'healthy.db');
    await healthy(file);
    const one = await inspectSqlite(file, ['tokens', 'users', 'absent'], { workers: 1 }).facts;
    const two = await inspectSqlite(file, ['tokens', 'users', 'absent'], { workers: 2 }).facts;
    assert.equal(one.integrity, 'ok');
    assert.deepEqual(two, one);
    assert.deepEqual(two.rowCounts, { tokens: 3000, users: 500 });
  } finally {
    await dir.cleanup();
  }
});

test('the plan: quick_check and every table with an index or no rowid, longest first; one piece when a split would not be exact', () => {
  const t = (name: string, rows: number, indexes = 0, virtual = false, withoutRowid = false): TableShape => ({
    name,
    rows,
    indexes,
    virtual,
    withoutRowid,
  });
  const jobs = splitIntegrityCheck([t('a', 10, 1), t('b', 1000, 2), t('c', 5000), t('d', 3, 0, false, true)])!;
  assert.deepEqual(
    jobs.map((j) => integritySql(j)),
    ['PRAGMA quick_check', 'PRAGMA integrity_check("b")', 'PRAGMA integrity_check("a")', 'PRAGMA integrity_check("d")'],
    'c, a rowid table without an index, and sqlite_schema are checked whole by quick_check',
  );
  assert.equal(integritySql({ pragma: 'integrity_check', table: 'we"ird' }), 'PRAGMA integrity_check("we""ird")');
  // SQLite reads a name that starts like a number as the error limit, not as a table.
  for (const name of ['100', '7days', '-1', '0x10'])
    assert.equal(splitIntegrityCheck([t('a', 1), t(name, 1)]), null, name);
  // A virtual table's own check runs only in the whole one.
  assert.equal(splitIntegrityCheck([t('a', 1), t('fts', 0, 0, true)]), null);
});

test('a second thread only for a long check: Barycenter-shaped 64 MiB and 256 MiB files get one, a file of blobs does not', () => {
  const t = (name: string, rows: number, indexes = 0): TableShape => ({
    name,
    rows,
    indexes,
    virtual: false,
    withoutRowid: false,
  });
  // The bench's databases (bench/generate-sqlite.ts): their row counts and indexes.
  const common = [t('users', 20_000, 2), t('sessions', 30_000, 2), t('consent', 15_000, 2), t('auth_codes', 2000, 1)];
  const shaped = (scale: number) => [
    ...common,
    t('access_tokens', 467_651 * scale, 1),
    t('refresh_tokens', 280_591 * scale, 2),
    t('properties', 116_913 * scale, 1),
  ];
  const blobs = [...common, t('bench_blobs', 3760)];
  assert.equal(worthASecondThread(splitIntegrityCheck(shaped(1))!), true, '256 MiB shaped');
  assert.equal(worthASecondThread(splitIntegrityCheck(shaped(0.25))!), true, '64 MiB shaped');
  assert.equal(worthASecondThread(splitIntegrityCheck(blobs)!), false, '256 MiB of blobs');
  assert.equal(worthASecondThread([{ pragma: 'integrity_check' }]), false, 'one piece');
});

test('damage in a table without an index (NULL in a NOT NULL column, a broken overflow chain) fails the split check, which has no piece for that table', async () => {
  const dir = await makeTempDir('barysafe-integrity-');
  try {
    const file = path.join(dir.path, 'plain.db');
    await healthy(file);
    await sqlite3(
      file,
      `CREATE TABLE notes (n INTEGER NOT NULL, body TEXT);
       INSERT INTO notes SELECT i, 'note ' || i FROM (${fill(300)});`,
    );
    // The schema is edited under the rows: a NULL goes in, then the constraint comes back.
    await sqlite3(
      file,
      `PRAGMA writable_schema = ON;
       UPDATE sqlite_schema SET sql = 'CREATE TABLE notes (n INTEGER, body TEXT)' WHERE name = 'notes';`,
    );
    await sqlite3(file, 'UPDATE notes SET n = NULL WHERE n = 7');
    await sqlite3(
      file,
      `PRAGMA writable_schema = ON;
       UPDATE sqlite_schema SET sql = 'CREATE TABLE notes (n INTEGER NOT NULL, body TEXT)' WHERE name = 'notes';`,
    );
    await expectEveryFaultKept(file, /NULL value in notes\.n/);

    // An overflow page of the blobs table (no index) overwritten: only the b-tree walk sees it.
    const broken = path.join(dir.path, 'overflow.db');
    await healthy(broken);
    const db = new Database(broken, { readonly: true });
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.close();
    const fd = await open(broken, 'r+');
    try {
      // The blobs table was filled last: its overflow pages are the last ones of the file.
      await fd.write(Buffer.alloc(4, 0xff), 0, 4, (pages - 2) * pageSize);
    } finally {
      await fd.close();
    }
    await expectEveryFaultKept(broken, /overflow|invalid page number|Page \d+/);
  } finally {
    await dir.cleanup();
  }
});

test('a file whose tables cannot be split (a virtual table, a table named like a number) is checked in one piece', async () => {
  const dir = await makeTempDir('barysafe-integrity-');
  try {
    const file = path.join(dir.path, 'fts.db');
    const db = new Database(file);
    db.exec(`CREATE VIRTUAL TABLE notes USING fts5 (body); INSERT INTO notes SELECT 'note ' || i FROM (${fill(200)});
             CREATE TABLE "2024" (x); INSERT INTO "2024" VALUES (1);
             CREATE TABLE blobs (b); INSERT INTO blobs SELECT randomblob(5000) FROM (${fill(20)})`);
    db.close();
    const facts = await inspectSqlite(file, ['2024'], { workers: 2 }).facts;
    assert.equal(facts.integrity, 'ok');
    assert.deepEqual(facts.rowCounts, { '2024': 1 });
    await sqlite3(file, "PRAGMA writable_schema = ON; DELETE FROM sqlite_schema WHERE name = 'blobs'");
    assert.match((await inspectSqlite(file, [], { workers: 2 }).facts).integrity, /never used/);
  } finally {
    await dir.cleanup();
  }
});
