// The SQLite copy's thread, started before `barysafe backup` loads its modules (copy-worker.ts):
// a process that never takes it still ends on its own, and one that takes it copies with it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { makeTempDir } from './support/services.js';

const moduleUrl = pathToFileURL(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'backup', 'sources', 'copy-worker.js'),
).href;

test('a prestarted copy thread that is never taken does not keep the process alive', () => {
  const started = Date.now();
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(moduleUrl)}); m.prestartCopyWorker(); m.prestartCopyWorker(); console.log('started');`,
    ],
    { encoding: 'utf8', timeout: 15_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'started');
  assert.ok(Date.now() - started < 10_000, 'the process ended without waiting for the idle thread');
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
