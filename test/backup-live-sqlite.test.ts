// A backup of a SQLite database that the service keeps writing to: every snapshot is one
// consistent state of it, in the rollback-journal mode Barycenter uses by default and in WAL mode,
// and the writer is held up, never failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { makeDeployment, run, runCli, setupBarysafe } from './support/deployments.js';
import { makeTempDir } from './support/services.js';
import { PER_TXN, ROWS } from './support/sqlite-writer.js';
import { copyConsistent } from '../src/backup/sources/sqlite-copy.js';
import { snapshotSqlite } from '../src/backup/sources/sqlite.js';

const WRITER = fileURLToPath(new URL('./support/sqlite-writer.js', import.meta.url));

interface Writer {
  /** Resolves once the writer has committed at least n transactions. */
  committed(n: number): Promise<number>;
  stop(): Promise<{ commits: number; errors: number; stderr: string }>;
}

function startWriter(db: string, journal: 'delete' | 'wal'): Writer {
  const child: ChildProcess = spawn(process.execPath, [WRITER, db, journal], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stderr = '';
  let commits = 0;
  const waiting: Array<{ n: number; resolve: (n: number) => void }> = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    for (const m of out.matchAll(/committed (\d+)/g)) commits = Math.max(commits, Number(m[1]));
    for (const w of waiting.filter((x) => commits >= x.n)) w.resolve(commits);
  });
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  return {
    committed: (n) =>
      new Promise((resolve, reject) => {
        if (commits >= n) return resolve(commits);
        waiting.push({ n, resolve });
        void exited.then((code) => reject(new Error(`the writer exited (${code}) before ${n} commits: ${stderr}`)));
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      const m = /done (\d+) errors (\d+)/.exec(out);
      return { commits: Number(m?.[1] ?? -1), errors: Number(m?.[2] ?? -1), stderr };
    },
  };
}

/** The state a restored copy holds: sum(touched) = PER_TXN × meta.n in every consistent state. */
async function ledgerOf(dbFile: string): Promise<string[]> {
  const r = await run('sqlite3', [
    dbFile,
    'PRAGMA integrity_check; SELECT count(*), sum(amount), sum(touched) FROM ledger; SELECT n FROM meta;',
  ]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.toString().trim().split('\n');
}

for (const journal of ['delete', 'wal'] as const) {
  test(`journal_mode=${journal}: snapshots taken while the service writes are consistent, and the writer never fails`, async () => {
    const d = await makeDeployment();
    const dbPath = path.join(d.workdir, 'barycenter.db');
    const writer = startWriter(dbPath, journal);
    try {
      await writer.committed(10);
      const s = await setupBarysafe(d, { url: `file://${path.join(d.dir.path, 'repository')}` });
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const b = await runCli(['--config', s.configPath, '--json', 'backup']);
        assert.equal(b.code, 0, b.stderr);
        ids.push((JSON.parse(b.stdout) as { snapshot: { id: string } }).snapshot.id);
      }
      const during = await writer.committed(0);
      const done = await writer.stop();
      assert.equal(done.errors, 0, `the writer failed while barysafe backed up: ${done.stderr}`);
      assert.ok(done.commits > during - 1 && during >= 10, `the writer went on committing (${done.commits})`);

      let last = 0;
      for (const id of ids) {
        const to = path.join(d.dir.path, `restore-${id}`);
        const r = await runCli(['--config', s.configPath, 'restore', id, '--to', to]);
        assert.equal(r.code, 0, r.stderr);
        const [check, rows, n] = await ledgerOf(path.join(to, 'barycenter.db'));
        assert.equal(check, 'ok', `snapshot ${id}`);
        const [count, sum, touched] = rows!.split('|').map(Number);
        assert.equal(count, ROWS);
        assert.equal(sum, 0, `snapshot ${id}: amounts of two different states`);
        assert.equal(touched, PER_TXN * Number(n), `snapshot ${id}: rows of another state than meta.n = ${n}`);
        assert.ok(Number(n) >= Math.max(last, 10), `snapshot ${id} is not older than the one before it`);
        last = Number(n);
      }
    } finally {
      await writer.stop();
      await d.dir.cleanup();
    }
  });
}

test('the copy reads the file under a read lock in rollback-journal mode and uses the backup API in WAL mode', async () => {
  const dir = await makeTempDir('barysafe-sqlite-copy-');
  try {
    for (const journal of ['delete', 'truncate', 'persist', 'wal'] as const) {
      const file = path.join(dir.path, `${journal}.db`);
      const db = new Database(file);
      db.pragma(`journal_mode = ${journal}`);
      db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1), (2)');
      db.close();
      const out = path.join(dir.path, journal);
      await import('node:fs/promises').then((fs) => fs.mkdir(out));
      const snap = await snapshotSqlite(file, out);
      const method = await snap.copied;
      await snap.cancel();
      assert.equal(method, journal === 'wal' ? 'backup-api' : 'locked-file', journal);
      const copy = new Database(path.join(out, 'barycenter.db'), { readonly: true });
      assert.deepEqual(copy.prepare('SELECT x FROM t').pluck().all(), [1, 2]);
      copy.close();
    }
  } finally {
    await dir.cleanup();
  }
});

test('a database file replaced between the two opens of the copy is refused, not copied from the wrong file', async () => {
  const dir = await makeTempDir('barysafe-sqlite-copy-');
  try {
    const file = path.join(dir.path, 'barycenter.db');
    const other = path.join(dir.path, 'other.db');
    for (const f of [file, other]) {
      const db = new Database(f);
      db.exec(`CREATE TABLE t (x); INSERT INTO t VALUES ('${path.basename(f)}')`);
      db.close();
    }
    const source = await open(file, 'r'); // the descriptor of the old file…
    renameSync(other, file); // …and SQLite opens the new one
    const src = new Database(file, { readonly: true });
    const copyPath = path.join(dir.path, 'copy.db');
    writeFileSync(copyPath, '');
    try {
      await assert.rejects(copyConsistent(src, source, file, copyPath), /was replaced by another file/);
      assert.equal(src.inTransaction, false);
    } finally {
      src.close();
      await source.close();
    }
  } finally {
    await dir.cleanup();
  }
});

test('a copy stopped by the backup ends at once, releases its read lock and leaves the service free to write', async () => {
  const dir = await makeTempDir('barysafe-sqlite-copy-');
  try {
    const file = path.join(dir.path, 'barycenter.db');
    const db = new Database(file);
    db.exec(
      'CREATE TABLE t (x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4096) INSERT INTO t SELECT randomblob(4096) FROM n',
    );
    const out = path.join(dir.path, 'out');
    mkdirSync(out);
    const snap = await snapshotSqlite(file, out);
    // Asked before the copy's worker has booted, so before its first read.
    await snap.cancel();
    await assert.rejects(snap.copied, /the copy of .* was stopped/);
    await assert.rejects(snap.record, /was stopped/);
    assert.ok(statSync(path.join(out, 'barycenter.db')).size < statSync(file).size, 'the copy ended early');
    db.pragma('busy_timeout = 0'); // a lock still held would fail this write at once
    db.exec('INSERT INTO t VALUES (1)');
    db.close();
  } finally {
    await dir.cleanup();
  }
});
