import { closeSync, createReadStream, existsSync, statSync } from 'node:fs';
import { createExclusiveSync } from '../../platform/safe-fs.js';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BarysafeError, ExitCode, errorText } from '../../errors.js';
import { CORE_TABLES } from '../../barycenter/schema.js';
import { sqliteReader } from '../../barycenter/database.js';
import type { DatabaseRecord } from '../../repository/manifest.js';
import type { Readable } from 'node:stream';

export interface SqliteSnapshot {
  record: DatabaseRecord;
  open(): Readable;
}

/**
 * A consistent copy through SQLite's online backup API into a private temp file, checked with
 * integrity_check, with migrations and row counts read from the copy (so they match the dump).
 * One backup step copies every page: in default small steps, every commit by the live service
 * restarts the backup and it never finishes.
 */
export async function snapshotSqlite(dbPath: string, tempDir: string): Promise<SqliteSnapshot> {
  if (!existsSync(dbPath)) {
    throw new BarysafeError('sqlite', `the SQLite database ${dbPath} does not exist`, {
      exitCode: ExitCode.SOURCE,
      hint: "check database.url in Barycenter's config and barycenter.workdir in barysafe.toml (relative sqlite paths resolve against the service's working directory)",
    });
  }
  const copyPath = path.join(tempDir, 'barycenter.db');
  // barysafe creates the copy's file itself (O_EXCL|O_NOFOLLOW, 0600) before SQLite opens it:
  // SQLite would otherwise write the plaintext into whatever file or link sits at that path.
  closeSync(createExclusiveSync(copyPath, 0o600));
  let src: Database.Database | undefined;
  try {
    src = new Database(dbPath, { readonly: true, fileMustExist: true });
    src.pragma('busy_timeout = 10000');
    await src.backup(copyPath, { progress: () => 0x7fffffff });
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
    throw new BarysafeError('sqlite', `cannot copy the SQLite database ${dbPath}: ${errorText(e)}`, {
      exitCode: ExitCode.SOURCE,
      cause: e,
    });
  } finally {
    src?.close();
  }
  const copy = new Database(copyPath, { readonly: true });
  try {
    const integrity = (copy.pragma('integrity_check') as Array<{ integrity_check: string }>)
      .map((r) => r.integrity_check)
      .join('; ');
    if (integrity !== 'ok') {
      throw new BarysafeError(
        'sqlite',
        `the copy of ${dbPath} fails PRAGMA integrity_check: ${integrity.slice(0, 300)}`,
        {
          exitCode: ExitCode.SOURCE,
          hint: 'the live database is damaged; repair it (sqlite3 .recover) before trusting any backup of it',
        },
      );
    }
    const reader = sqliteReader(copy, `sqlite:${copyPath}`);
    const migrations = await reader.migrations();
    const row_counts = await reader.rowCounts(CORE_TABLES);
    const version = (copy.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
    return {
      record: {
        engine: 'sqlite',
        source: dbPath,
        migrations,
        row_counts,
        integrity_check: integrity,
        server_version: `SQLite ${version}`,
        dump_format: 'sqlite3',
      },
      open: () => createReadStream(copyPath, { highWaterMark: 1 << 20 }),
    };
  } finally {
    copy.close();
  }
}
