// The SQLite copy's thread, started before `barysafe backup` loads its modules (copy-worker.ts):
// a process that never takes it still ends on its own, one whose thread cannot start (a broken
// better-sqlite3, which a PostgreSQL backup never needs) goes on, and one that takes it copies.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
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
