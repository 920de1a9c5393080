import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { errorText } from '../errors.js';
import { worthASecondThread, type IntegrityJob } from './integrity-plan.js';
import type { InspectReply, InspectRequest } from './sqlite-inspect-server.js';

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
  /** Stops the workers (the caller no longer needs the answer); `facts` then rejects. */
  cancel(): Promise<void>;
}

export interface InspectOptions {
  /** At most how many workers (default: two, or one on a single core); more than one only for a long check. */
  workers?: number;
  /**
   * The file is ready when this resolves: the lead worker starts at once (~80 ms to boot) and reads
   * the file only then. When it rejects, so does `facts`, with its error.
   */
  after?: Promise<unknown>;
  /**
   * The lead worker, already running: one that serves the file (serveInspection) from when
   * `after` resolves, with a page cache of inspectorCacheKiB(). None is booted for the lead then.
   */
  lead?: Worker;
}

/**
 * The page cache of all workers together. The check reads each b-tree from end to end, so a page
 * cache smaller than the file mostly repeats the kernel's: with half of better-sqlite3's 16 MB
 * default the shaped 256 MiB backup took 1.74-1.82 s against 1.81-1.89 s (four alternating pairs)
 * and peaked at 136-138 MiB against 144-149 MiB; at 1 and 2 GiB the full caches had taken the
 * peak past 150 MiB.
 */
const CACHE_KIB = 8000;

const defaultWorkers = () => Math.min(2, availableParallelism());

/** The page cache of each worker of an inspection with `workers` of them. */
export function inspectorCacheKiB(workers = defaultWorkers()): number {
  return Math.floor(CACHE_KIB / Math.max(1, workers));
}

/**
 * Inspects an SQLite file in worker threads: integrity_check reads every page (~1.5 s per
 * 256 MiB of Barycenter's schema), so a backup encrypts the file and a restore places the other
 * artifacts meanwhile, instead of waiting with the event loop blocked. With two cores or more
 * a long check is split (splitIntegrityCheck) between two workers, each on its own connection:
 * the largest table alone is then the floor, not the sum of all of them.
 */
export function inspectSqlite(file: string, tables: readonly string[], opts: InspectOptions = {}): SqliteInspection {
  let cancelled = false;
  const n = Math.max(1, opts.workers ?? defaultWorkers());
  const isCancelled = () => cancelled;
  const start = () =>
    inspector(
      new Worker(new URL('./sqlite-inspect-worker.js', import.meta.url), {
        workerData: { file, cacheKiB: inspectorCacheKiB(n) },
      }),
      isCancelled,
    );
  // The lead boots at once (while the file is being written), unless one is given; the others
  // only when the plan shows enough work for them.
  const pool = [opts.lead ? inspector(opts.lead, isCancelled) : start()];
  const facts = (async (): Promise<SqliteFacts> => {
    await opts.after;
    const lead = pool[0]!;
    const { jobs, version } = (await lead.ask({ op: 'plan', split: n > 1 })) as {
      jobs: Array<IntegrityJob & { weight?: number }>;
      version: string;
    };
    if (!cancelled && worthASecondThread(jobs)) while (pool.length < n) pool.push(start());
    const problems = new Set<string>(); // a b-tree fault is found by quick_check and by its table's check
    let next = 0;
    await Promise.all(
      pool.slice(0, jobs.length).map(async (w) => {
        while (next < jobs.length) {
          const { rows } = (await w.ask({ op: 'check', job: jobs[next++]! })) as { rows: string[] };
          for (const r of rows) if (r !== 'ok') problems.add(r);
        }
      }),
    );
    const integrity = problems.size > 0 ? [...problems].join('; ') : 'ok';
    // A damaged file is reported as such: its tables may not even be readable.
    if (integrity !== 'ok') return { integrity, migrations: [], rowCounts: {}, version };
    const { migrations, rowCounts } = (await lead.ask({ op: 'facts', tables: [...tables] })) as Pick<
      SqliteFacts,
      'migrations' | 'rowCounts'
    >;
    return { integrity, migrations, rowCounts, version };
  })();
  const stop = () => Promise.all(pool.map((w) => w.stop())).then(() => {});
  void facts.then(stop, stop);
  facts.catch(() => {}); // the caller may cancel and never look
  return {
    facts,
    cancel: async () => {
      cancelled = true;
      await stop();
    },
  };
}

/**
 * One worker, asked one thing at a time; a worker that dies fails what it was asked. Messages
 * that come while nothing is asked (a lead's copy progress) are not answers.
 */
function inspector(worker: Worker, cancelled: () => boolean) {
  let pending: { resolve: (a: unknown) => void; reject: (e: Error) => void } | undefined;
  let dead: Error | undefined;
  const fail = (e: Error) => {
    dead ??= e;
    pending?.reject(dead);
    pending = undefined;
  };
  worker.on('message', (m: InspectReply) => {
    const p = pending;
    pending = undefined;
    if ('error' in m) p?.reject(new Error(m.error));
    else p?.resolve(m.answer);
  });
  worker.on('error', (e) => fail(e instanceof Error ? e : new Error(errorText(e))));
  worker.on('exit', (code) =>
    fail(new Error(cancelled() ? 'inspection cancelled' : `the SQLite inspection worker exited with code ${code}`)),
  );
  return {
    ask: (req: InspectRequest): Promise<unknown> =>
      new Promise((resolve, reject) => {
        if (dead) return reject(dead);
        pending = { resolve, reject };
        worker.postMessage(req);
      }),
    stop: () => worker.terminate().then(() => {}),
  };
}
