import { closeSync, createReadStream, existsSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createExclusiveSync } from '../../platform/safe-fs.js';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BarysafeError, ExitCode, errorText } from '../../errors.js';
import { CORE_TABLES, SCHEMA_HINT, schemaProblem } from '../../barycenter/schema.js';
import { inspectSqlite } from '../../barycenter/sqlite-inspect.js';
import { copyConsistent, type CopyMethod } from './sqlite-copy.js';
import type { DatabaseRecord } from '../../repository/manifest.js';
import type { Readable } from 'node:stream';

export interface SqliteSnapshot {
  /**
   * The copy's integrity_check, migrations and row counts, read in a worker thread while the copy
   * is encrypted; rejects with the backup's error when integrity_check is not "ok".
   */
  record: Promise<DatabaseRecord>;
  /** Stops the inspection when the backup failed anyway. */
  cancel(): Promise<void>;
  /** The copy's bytes. */
  open(): Readable;
  /** How the copy was made (the file under a read lock, or SQLite's backup API in WAL mode). */
  method: CopyMethod;
}

/**
 * A consistent copy (copyConsistent) into a private temp file. It is checked with
 * integrity_check, and migrations and row counts are read from it (so they match the dump),
 * beside its encryption rather than before it: the check reads every page and would otherwise
 * double the time of a backup.
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
  let source: FileHandle | undefined;
  let src: Database.Database | undefined;
  let method: CopyMethod;
  try {
    source = await open(dbPath, 'r'); // before the connection, closed after it: see copyConsistent
    src = new Database(dbPath, { readonly: true, fileMustExist: true });
    src.pragma('busy_timeout = 10000');
    method = await copyConsistent(src, source, dbPath, copyPath);
  } catch (e) {
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
  } finally {
    src?.close();
    await source?.close();
  }
  const inspection = inspectSqlite(copyPath, CORE_TABLES);
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
    (e: unknown) => {
      if (CORRUPT.test(errorText(e))) throw corruptError(dbPath, errorText(e), e);
      throw new BarysafeError('sqlite', `cannot read the copy of ${dbPath}: ${errorText(e)}`, {
        exitCode: ExitCode.SOURCE,
        cause: e,
      });
    },
  );
  record.catch(() => {}); // awaited by the caller, who may give up first
  return {
    record,
    cancel: inspection.cancel,
    method,
    open: () => createReadStream(copyPath, { highWaterMark: COPY_READ }),
  };
}

/**
 * Reads of the copy for its encryption. Each read is a new buffer, garbage once encrypted, and the
 * garbage of larger reads piles up between collections while the integrity check's workers hold
 * their page caches: with 256 KiB reads the peak stayed at 142–145 MiB, with 1 MiB it reached 139–152,
 * with no difference in time that this machine could measure.
 */
const COPY_READ = 256 * 1024;

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
