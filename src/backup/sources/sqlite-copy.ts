import { closeSync, constants, openSync, readSync, statSync, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type Database from 'better-sqlite3';

/**
 * The copy's one read and write buffer. Its own constant, not the age streams' STREAM_BUFFER (the
 * same 1 MiB): importing that put the whole age module graph into the copy thread's start-up.
 */
const COPY_BUFFER = 1 << 20;

/** How the copy was made: the file's bytes read under a read lock, or SQLite's backup API. */
export type CopyMethod = 'locked-file' | 'backup-api';

export interface CopyOptions {
  /** Told the number of bytes of the copy written so far, after each write. */
  onProgress?: (bytes: number) => void;
  /** Asked before each read: true ends the copy (and its lock); the copy then rejects. */
  stopped?: () => boolean;
}

/**
 * Copies the database that `src` (a read-only connection) is open on into `copyPath`, an empty
 * file barysafe created, as one consistent snapshot.
 *
 * In SQLite's rollback-journal modes (Barycenter's default) a read transaction holds a SHARED
 * lock, and no writer can change the file until it ends (writers wait, as they do for any reader):
 * the file's first page_count × page_size bytes, read under it, are exactly that snapshot. That
 * copy runs at the disk's pace, about four times faster than the backup API's page-by-page copy,
 * and holds writers off for a shorter time. In WAL mode the file alone is not the database (the
 * newest pages are in the -wal file), so the backup API copies it, in one step: in small steps
 * every commit by the live service restarts the copy and it never finishes.
 *
 * `source` must be a descriptor of the same file opened before `src` was, and be closed only
 * after `src` is: closing any descriptor of a file drops every POSIX lock this process holds on
 * it, SQLite's SHARED lock included, so a copy that opened and closed the file itself would
 * release the lock it relies on.
 */
export async function copyConsistent(
  src: Database.Database,
  source: FileHandle,
  dbPath: string,
  copyPath: string,
  opts: CopyOptions = {},
): Promise<CopyMethod> {
  src.exec('BEGIN');
  try {
    src.prepare('SELECT count(*) FROM sqlite_schema').pluck().get(); // takes the SHARED lock
    if (src.pragma('journal_mode', { simple: true }) === 'wal') {
      src.exec('COMMIT');
      await src.backup(copyPath, { progress: () => 0x7fffffff });
      return 'backup-api';
    }
    // SQLite counts the pages from the file's size, under the lock.
    const length =
      Number(src.pragma('page_size', { simple: true })) * Number(src.pragma('page_count', { simple: true }));
    const held = await source.stat();
    const now = statSync(dbPath);
    if (held.ino !== now.ino || held.dev !== now.dev) {
      throw new Error(`${dbPath} was replaced by another file while the backup opened it; run the backup again`);
    }
    // Synchronous reads and writes: the copy runs on a thread of its own (see snapshotSqlite), and
    // its requests would otherwise queue in libuv's thread pool behind the process's other file
    // I/O (the encryption's reads and writes), while writers wait on the lock.
    const dest = openSync(copyPath, constants.O_WRONLY | constants.O_NOFOLLOW);
    try {
      // One reused buffer: a stream would allocate a new one per chunk, tens of MiB of garbage
      // on a process that must stay small.
      const buffer = Buffer.allocUnsafe(COPY_BUFFER);
      for (let at = 0; at < length;) {
        if (opts.stopped?.()) throw new Error('the copy was stopped');
        const bytesRead = readSync(source.fd, buffer, 0, Math.min(buffer.length, length - at), at);
        if (bytesRead === 0)
          throw new Error(`database disk image is malformed: the file ends at ${at} of ${length} bytes`);
        for (let done = 0; done < bytesRead;) {
          done += writeSync(dest, buffer, done, bytesRead - done, at + done);
        }
        at += bytesRead;
        opts.onProgress?.(at);
      }
    } finally {
      closeSync(dest);
    }
    src.exec('COMMIT');
    return 'locked-file';
  } finally {
    if (src.inTransaction) src.exec('ROLLBACK');
  }
}
