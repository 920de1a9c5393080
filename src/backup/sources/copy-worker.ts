import { Worker } from 'node:worker_threads';

/**
 * The thread that makes the SQLite copy (sqlite-copy-worker.ts), started ahead of time. A worker
 * thread takes ~70 ms from `new Worker` to its first copied byte (its own Node start-up, its
 * modules, better-sqlite3), and the copy is on the critical path of an SQLite backup: the
 * encryption follows it and the integrity check waits for it. `barysafe backup` starts the thread
 * before it loads its own modules, so both start-ups overlap on two cores; snapshotSqlite then
 * takes it. Not taken (a PostgreSQL deployment, a backup that fails first), it idles unreferenced
 * and ends with the process.
 */
let prestarted: { worker: Worker; gone: boolean } | undefined;

const start = () => new Worker(new URL('./sqlite-copy-worker.js', import.meta.url));

export function prestartCopyWorker(): void {
  if (prestarted) return;
  const entry = { worker: start(), gone: false };
  // A thread that fails before it is taken (better-sqlite3 missing or built for another Node) must
  // not end a backup that never needs it (PostgreSQL); one that is taken reports through the copy.
  const gone = () => void (entry.gone = true);
  entry.worker.once('error', gone).once('exit', gone);
  entry.worker.unref();
  prestarted = entry;
}

/** The prestarted thread if there is one and it still runs (each is used once), else a new one. */
export function takeCopyWorker(): Worker {
  const entry = prestarted;
  prestarted = undefined;
  if (!entry || entry.gone) return start();
  entry.worker.ref();
  return entry.worker;
}
