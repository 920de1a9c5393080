// The SQLite copy's thread, started before `barysafe backup` loads its modules (copy-worker.ts):
// a process that never takes it still ends on its own, one whose thread cannot start (a broken
// better-sqlite3, which a PostgreSQL backup never needs) goes on, and one that takes it copies.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, mkdirSync, openSync, readdirSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { makeTempDir } from './support/services.js';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const moduleUrl = pathToFileURL(path.join(dist, 'src', 'backup', 'sources', 'copy-worker.js')).href;

/** Runs `body` as an ES module file (an -e script would hand its --input-type to the worker too). */
function runScript(dir: string, body: string) {
  const file = path.join(dir, 'script.mjs');
  writeFileSync(file, body);
  return spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 30_000 });
}

test('a prestarted copy thread that is never taken does not keep the process alive', async () => {
  const dir = await makeTempDir('barysafe-copy-worker-');
  try {
    const started = Date.now();
    const r = runScript(
      dir.path,
      `const m = await import(${JSON.stringify(moduleUrl)});
       m.prestartCopyWorker();
       m.prestartCopyWorker();
       await new Promise((r) => setTimeout(r, 500)); // the thread is up and waits for a task
       console.log('started');`,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'started');
    assert.ok(Date.now() - started < 10_000, 'the process ended without waiting for the idle thread');
  } finally {
    await dir.cleanup();
  }
});

test('a prestarted copy thread that fails to start (better-sqlite3 missing) ends nothing, and one taken then fails as the copy', async () => {
  const dir = await makeTempDir('barysafe-copy-worker-');
  try {
    // The compiled modules beside a node_modules that has every package but better-sqlite3.
    cpSync(path.join(dist, 'src'), path.join(dir.path, 'dist', 'src'), { recursive: true });
    mkdirSync(path.join(dir.path, 'node_modules'));
    const real = path.resolve(dist, '..', 'node_modules');
    for (const name of readdirSync(real))
      if (name !== 'better-sqlite3') symlinkSync(path.join(real, name), path.join(dir.path, 'node_modules', name));
    const module = pathToFileURL(path.join(dir.path, 'dist', 'src', 'backup', 'sources', 'copy-worker.js')).href;
    const r = runScript(
      dir.path,
      `const m = await import(${JSON.stringify(module)});
       m.prestartCopyWorker();
       await new Promise((r) => setTimeout(r, 1500)); // the thread fails meanwhile
       console.log('still running');
       const w = m.takeCopyWorker();
       w.on('error', (e) => console.log('taken: ' + e.message.split('\\n')[0]));`,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /still running/);
    assert.match(r.stdout, /taken: Cannot find package 'better-sqlite3'/);
  } finally {
    await dir.cleanup();
  }
});

test('a prestarted copy thread, taken, makes the copy (and a second backup gets a new one)', async () => {
  const dir = await makeTempDir('barysafe-copy-worker-');
  try {
    const src = path.join(dir.path, 'live.db');
    const db = new Database(src);
    db.exec("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('one'), ('two')");
    db.close();
    const { prestartCopyWorker, takeCopyWorker } = await import('../src/backup/sources/copy-worker.js');
    prestartCopyWorker();
    const first = takeCopyWorker();
    const second = takeCopyWorker();
    assert.notEqual(first, second, 'each thread is used once');
    for (const [worker, name] of [
      [first, 'a.db'],
      [second, 'b.db'],
    ] as const) {
      const copyPath = path.join(dir.path, name);
      Database(copyPath).close(); // the copy's file exists before the copy, as snapshotSqlite makes it
      const method = await new Promise((resolve, reject) => {
        worker.on('message', (m: { method?: string; error?: string }) => {
          if (m.method) resolve(m.method);
          if (m.error) reject(new Error(m.error));
        });
        worker.postMessage({ dbPath: src, copyPath, stop: new Int32Array(new SharedArrayBuffer(4)) });
      });
      assert.equal(method, 'locked-file');
      const copy = new Database(copyPath, { readonly: true });
      assert.deepEqual(copy.prepare('SELECT v FROM t').pluck().all(), ['one', 'two']);
      copy.close();
      await worker.terminate();
    }
  } finally {
    await dir.cleanup();
  }
});

test('a copy thread told to inspect its copy answers the inspection, finds damage in it, and no other thread starts', async () => {
  const dir = await makeTempDir('barysafe-copy-worker-');
  try {
    const src = path.join(dir.path, 'live.db');
    const db = new Database(src);
    db.exec(
      "CREATE TABLE t (v TEXT); CREATE INDEX t_v ON t(v); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) INSERT INTO t SELECT 'row ' || i FROM n",
    );
    db.close();
    const { takeCopyWorker } = await import('../src/backup/sources/copy-worker.js');
    const { inspectSqlite, inspectorCacheKiB } = await import('../src/barycenter/sqlite-inspect.js');
    const threads = () => readdirSync('/proc/self/task').length;
    const inspectCopy = async (name: string, damage?: (copyPath: string) => void) => {
      const worker = takeCopyWorker();
      const copyPath = path.join(dir.path, name);
      Database(copyPath).close();
      const copied = new Promise<string>((resolve, reject) => {
        const onMessage = (m: { method?: string; error?: string }) => {
          if (m.method) resolve(m.method);
          if (m.error) reject(new Error(m.error));
          if (m.method || m.error) worker.off('message', onMessage);
        };
        worker.on('message', onMessage);
        worker.postMessage({
          dbPath: src,
          copyPath,
          stop: new Int32Array(new SharedArrayBuffer(4)),
          inspectCacheKiB: inspectorCacheKiB(),
        });
      }).then((m) => (damage?.(copyPath), m));
      const before = threads();
      let most = before;
      const sampler = setInterval(() => (most = Math.max(most, threads())), 1);
      try {
        return {
          facts: await inspectSqlite(copyPath, ['t'], { after: copied, lead: worker }).facts,
          added: most - before,
        };
      } finally {
        clearInterval(sampler);
      }
    };
    const whole = await inspectCopy('a.db');
    assert.equal(whole.facts.integrity, 'ok');
    assert.deepEqual(whole.facts.rowCounts, { t: 500 });
    assert.equal(whole.added, 0, 'the inspection ran on the copy thread');
    // The index's b-tree emptied in the copy, after the copy and before its check.
    const damaged = await inspectCopy('b.db', (copyPath) => {
      const c = new Database(copyPath);
      const root = c.prepare("SELECT rootpage FROM sqlite_schema WHERE name = 't_v'").pluck().get() as number;
      const pageSize = c.pragma('page_size', { simple: true }) as number;
      c.close();
      const fd = openSync(copyPath, 'r+');
      writeSync(fd, Buffer.from([0x0a, 0, 0, 0, 0, 0, 0, 0]), 0, 8, (root - 1) * pageSize);
      closeSync(fd);
    });
    assert.match(damaged.facts.integrity, /missing from index t_v|wrong # of entries in index t_v/);
  } finally {
    await dir.cleanup();
  }
});
