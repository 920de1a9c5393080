import { open, type FileHandle } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { errorText } from '../../errors.js';
import { copyConsistent, type CopyMethod } from './sqlite-copy.js';
import { serveInspection } from '../../barycenter/sqlite-inspect-server.js';

// The copy of snapshotSqlite() in a thread of its own. On the main thread each of its reads and
// writes waited for the encryption of a chunk before the next could start, which doubled the time
// writers wait on the lock it holds. The thread may start before the backup knows what to copy
// (copy-worker.ts): one message in, the CopyTask; messages out: { progress: bytes } after each
// write, then { method } or { error }. The copy's loop does not yield to this thread's event
// loop, so a stop is asked for through shared memory: `stop[0]` set to 1. With `inspectCacheKiB`,
// the thread then answers inspectSqlite()'s requests about the copy (sqlite-inspect-server.ts):
// the backup's integrity check needs no thread of its own, whose boot (~40 ms of CPU) competed
// with the encryption for the two cores.
export interface CopyTask {
  dbPath: string;
  copyPath: string;
  stop: Int32Array;
  inspectCacheKiB?: number;
}
export type CopyMessage = { progress: number } | { method: CopyMethod } | { error: string };

const port = parentPort!;

async function copy({ dbPath, copyPath, stop }: CopyTask): Promise<CopyMethod> {
  let source: FileHandle | undefined;
  let src: Database.Database | undefined;
  try {
    source = await open(dbPath, 'r'); // before the connection, closed after it: see copyConsistent
    src = new Database(dbPath, { readonly: true, fileMustExist: true });
    src.pragma('busy_timeout = 10000');
    return await copyConsistent(src, source, dbPath, copyPath, {
      onProgress: (progress) => port.postMessage({ progress } satisfies CopyMessage),
      stopped: () => Atomics.load(stop, 0) === 1,
    });
  } finally {
    src?.close();
    await source?.close();
  }
}

port.once('message', (task: CopyTask) => {
  copy(task).then(
    (method) => {
      // Serving before saying so: the first request comes as soon as the copy is known to be made.
      if (task.inspectCacheKiB !== undefined) serveInspection(port, task.copyPath, task.inspectCacheKiB);
      port.postMessage({ method } satisfies CopyMessage);
      if (task.inspectCacheKiB === undefined) port.close();
    },
    (e: unknown) => {
      port.postMessage({ error: errorText(e) } satisfies CopyMessage);
      port.close();
    },
  );
});
