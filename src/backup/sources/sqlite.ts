import { closeSync, existsSync, statSync } from 'node:fs';
import { createExclusiveSync } from '../../platform/safe-fs.js';
import path from 'node:path';
import { BarysafeError, ExitCode, errorText } from '../../errors.js';
import { CORE_TABLES, SCHEMA_HINT, schemaProblem } from '../../barycenter/schema.js';
import { inspectSqlite, inspectorCacheKiB } from '../../barycenter/sqlite-inspect.js';
import type { CopyMethod } from './sqlite-copy.js';
import type { CopyMessage, CopyTask } from './sqlite-copy-worker.js';
import { takeCopyWorker } from './copy-worker.js';
import type { DatabaseRecord } from '../../repository/manifest.js';
import type { Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import { GrowingFile, readGrowing } from '../../platform/growing-file.js';
import { BufferPool } from '../../platform/buffer-pool.js';

export interface SqliteSnapshot {
  /** How the copy was made (the file under a read lock, or SQLite's backup API in WAL mode); rejects with the backup's error when it failed. */
  copied: Promise<CopyMethod>;
  /**
   * The copy's integrity_check, migrations and row counts, read in worker threads once the copy is
   * complete, while it is encrypted; rejects with the copy's error, or when integrity_check is not "ok".
   */
  record: Promise<DatabaseRecord>;
  /** Stops the copy and the inspection when the backup failed anyway; `record` then rejects. */
  cancel(): Promise<void>;
  /**
   * The copy's bytes, from the first ones copied: the encryption follows the copy instead of
   * waiting for it. The stream is not failed by a failed copy: `record` reports that.
   */
  open(): Readable;
  /** Gives back a chunk of open()'s stream once it was encrypted, for the next read to reuse. */
  release(chunk: Uint8Array): void;
}

/**
 * A consistent copy (copyConsistent) into a private temp file. It is checked with
 * integrity_check, and migrations and row counts are read from it (so they match the dump),
 * beside its encryption rather than before it: the check reads every page and would otherwise
 * double the time of a backup. The encryption starts with the copy's first bytes, and the
 * inspection's workers boot while the copy runs.
 */
export async function snapshotSqlite(dbPath: string, tempDir: string): Promise<SqliteSnapshot> {
  if (!existsSync(dbPath)) {
    throw new BarysafeError('sqlite', `the SQLite database ${dbPath} does not exist`, {
      exitCode: ExitCode.SOURCE,
      hint: "check database.url in Barycenter's config and barycenter.workdir in barysafe.toml (relative sqlite paths resolve against the service's working directory)",
    });
  }
  if (statSync(dbPath).size === 0) {
    throw new BarysafeError('sqlite', `the SQLite database ${dbPath} is empty (0 bytes)`, {
      exitCode: ExitCode.SOURCE,
      hint: SCHEMA_HINT,
    });
  }
  const copyPath = path.join(tempDir, 'barycenter.db');
  // barysafe creates the copy's file itself (O_EXCL|O_NOFOLLOW, 0600) before SQLite opens it:
  // SQLite would otherwise write the plaintext into whatever file or link sits at that path.
  closeSync(createExclusiveSync(copyPath, 0o600));
  const growing = new GrowingFile();
  // Read by the copy's loop, which never yields to its thread's event loop: 1 = stop.
  const stop = new Int32Array(new SharedArrayBuffer(4));
  // The copy's thread leads the inspection once the copy is made (see CopyTask).
  const worker = takeCopyWorker();
  const copied = copy(worker, { dbPath, copyPath, stop, inspectCacheKiB: inspectorCacheKiB() }, tempDir, growing);
  const inspection = inspectSqlite(copyPath, CORE_TABLES, { after: copied, lead: worker });
  const record = inspection.facts.then(
    (f): DatabaseRecord => {
      if (f.integrity !== 'ok')
        throw corruptError(dbPath, `PRAGMA integrity_check of its copy: ${f.integrity.slice(0, 300)}`);
      const problem = schemaProblem(f.migrations, Object.keys(f.rowCounts));
      if (problem)
        throw new BarysafeError('sqlite', `the SQLite database ${dbPath} holds no Barycenter schema: ${problem}`, {
          exitCode: ExitCode.SOURCE,
          hint: SCHEMA_HINT,
        });
      return {
        engine: 'sqlite',
        source: dbPath,
        migrations: f.migrations,
        row_counts: f.rowCounts,
        integrity_check: f.integrity,
        server_version: `SQLite ${f.version}`,
        dump_format: 'sqlite3',
      };
    },
    async (e: unknown) => {
      await copied.catch(() => undefined); // settled before anyone removes the temp directory
      if (e instanceof BarysafeError) throw e; // the copy's own error
      if (CORRUPT.test(errorText(e))) throw corruptError(dbPath, errorText(e), e);
      throw new BarysafeError('sqlite', `cannot read the copy of ${dbPath}: ${errorText(e)}`, {
        exitCode: ExitCode.SOURCE,
        cause: e,
      });
    },
  );
  const buffers = new BufferPool(COPY_READ, COPY_BUFFERS);
  copied.catch(() => {}); // reported through `record`
  record.catch(() => {}); // awaited by the caller, who may give up first
  return {
    copied,
    record,
    cancel: async () => {
      Atomics.store(stop, 0, 1);
      // The copy ends itself first: its thread, the inspection's lead, is not terminated while
      // its connection holds the database's read lock.
      await copied.catch(() => undefined);
      await inspection.cancel();
    },
    open: () => readGrowing(copyPath, growing, buffers),
    release: (chunk) => buffers.give(chunk),
  };
}

/** The copy (copyConsistent, in its own worker), with SQLite's and the disk's failures said as what to fix. */
async function copy(worker: Worker, task: CopyTask, tempDir: string, growing: GrowingFile): Promise<CopyMethod> {
  const { dbPath, stop } = task;
  try {
    const method = await copyInWorker(worker, task, growing);
    growing.end();
    return method;
  } catch (e) {
    if (Atomics.load(stop, 0) === 1)
      throw new BarysafeError('sqlite', `the copy of ${dbPath} was stopped`, { cause: e });
    if (/disk is full|SQLITE_FULL|ENOSPC/i.test(errorText(e))) {
      throw new BarysafeError(
        'sqlite',
        `cannot copy the SQLite database ${dbPath}: the temp directory is full (${errorText(e)})`,
        {
          exitCode: ExitCode.FAILURE,
          hint: `the consistent copy needs as much free space as the database (${Math.ceil(statSync(dbPath).size / 1048576)} MiB) in ${tempDir}; free space there or set backup.temp_dir to a larger disk`,
          cause: e,
        },
      );
    }
    if (CORRUPT.test(errorText(e))) throw corruptError(dbPath, errorText(e), e);
    throw new BarysafeError('sqlite', `cannot copy the SQLite database ${dbPath}: ${errorText(e)}`, {
      exitCode: ExitCode.SOURCE,
      cause: e,
    });
  }
}

function copyInWorker(worker: Worker, task: CopyTask, growing: GrowingFile): Promise<CopyMethod> {
  worker.postMessage(task);
  return new Promise<CopyMethod>((resolve, reject) => {
    // Only the copy's messages: the worker's later ones are the inspection's answers.
    const onMessage = (m: CopyMessage) => {
      if ('progress' in m) return growing.grew(m.progress);
      worker.off('message', onMessage);
      if ('method' in m) resolve(m.method);
      else reject(new Error(m.error));
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the SQLite copy worker exited with code ${code}`))); // after an answer: no effect
  });
}

/**
 * Reads of the copy for its encryption, into reused buffers (see BufferPool). Up to about seven
 * are out at once: one read ahead, one queued in the reading stream, four in the encryption's
 * 1 MiB input queue, one being encrypted; more are allocated if a queue holds more.
 */
const COPY_READ = 256 * 1024;
const COPY_BUFFERS = 8;

/** SQLite's words for a damaged file (SQLITE_CORRUPT, SQLITE_NOTADB). */
const CORRUPT = /malformed|not a database|corrupt/i;

/** The file is damaged: no backup of it is kept, and the hint says how to repair it. */
function corruptError(dbPath: string, detail: string, cause?: unknown): BarysafeError {
  return new BarysafeError('sqlite', `the SQLite database ${dbPath} is corrupt (${detail})`, {
    exitCode: ExitCode.SOURCE,
    hint: `no backup of the damaged file was kept; stop Barycenter and repair it: sqlite3 ${dbPath} .recover | sqlite3 ${dbPath}.recovered, check the result (PRAGMA integrity_check), then move it into place`,
    ...(cause !== undefined ? { cause } : {}),
  });
}
