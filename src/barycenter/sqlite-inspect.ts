import { Worker } from 'node:worker_threads';

/** What barysafe records of an SQLite file: PRAGMA integrity_check, migrations, row counts, SQLite version. */
export interface SqliteFacts {
  /** "ok", or the problems integrity_check found, joined with "; ". */
  integrity: string;
  /** seaql_migrations versions (empty when integrity is not ok). */
  migrations: string[];
  rowCounts: Record<string, number>;
  version: string;
}

export interface SqliteInspection {
  facts: Promise<SqliteFacts>;
  /** Stops the worker (the caller no longer needs the answer); `facts` then rejects. */
  cancel(): Promise<void>;
}

/**
 * Inspects an SQLite file in a worker thread: integrity_check reads every page (~1.5 s per
 * 256 MiB of Barycenter's schema), so a backup encrypts the file and a restore places the other
 * artifacts meanwhile, instead of waiting with the event loop blocked.
 */
export function inspectSqlite(file: string, tables: readonly string[]): SqliteInspection {
  const worker = new Worker(new URL('./sqlite-inspect-worker.js', import.meta.url), {
    workerData: { file, tables: [...tables] },
  });
  let cancelled = false;
  const facts = new Promise<SqliteFacts>((resolve, reject) => {
    worker.once('message', (m: { facts?: SqliteFacts; error?: string }) =>
      m.facts ? resolve(m.facts) : reject(new Error(m.error ?? 'no answer')),
    );
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(cancelled ? 'inspection cancelled' : `the SQLite inspection worker exited with code ${code}`)),
    );
  });
  facts.catch(() => {}); // the caller may cancel and never look
  return {
    facts,
    cancel: async () => {
      cancelled = true;
      await worker.terminate();
    },
  };
}
