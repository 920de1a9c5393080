import { readAtMost } from '../platform/bounded-read.js';
import { processAlive } from '../platform/lifecycle.js';
import { WRITER_LOCK_KEY } from './layout.js';
import os from 'node:os';
import { Readable } from 'node:stream';
import { BarysafeError, ExitCode } from '../errors.js';
import { repoError } from './repository.js';
import { StorageExistsError, type Storage } from './storage.js';

/**
 * One writer at a time: two concurrent backups would both chain to the same previous manifest.
 * The lock is an object created with if-none-match (restic-style): stale after `staleMs`, or at
 * once when it names a dead process on this host.
 */
const KEY = WRITER_LOCK_KEY;

export interface LockBody {
  host: string;
  pid: number;
  command: string;
  created_at: string;
  /** The snapshot the holder is writing, once it knows its id: a crashed writer's leftovers are found by it. */
  snapshot?: string;
}

export interface WriterLock {
  release(): Promise<void>;
  /** Records in the lock which snapshot this writer now writes (the next writer sweeps it if we crash). */
  note(snapshotId: string): Promise<void>;
  /** The stale lock this one replaced (its holder crashed or was killed), if any. */
  takenOver: LockBody | null;
}

export async function acquireWriterLock(storage: Storage, command: string, staleMs = 30 * 60_000): Promise<WriterLock> {
  const body: LockBody = { host: os.hostname(), pid: process.pid, command, created_at: new Date().toISOString() };
  let takenOver: LockBody | null = null;
  for (let attempt = 0; attempt < 2; attempt++) {
    const bytes = Buffer.from(JSON.stringify(body));
    try {
      await storage.put(KEY, Readable.from([bytes]), {
        contentLength: bytes.length,
        ifNoneMatch: true,
        transient: true,
      });
      return {
        release: () => storage.delete(KEY),
        note: async (snapshot) => {
          // We hold the lock, so overwriting it races with nobody.
          const noted = Buffer.from(JSON.stringify({ ...body, snapshot }));
          await storage.put(KEY, Readable.from([noted]), { contentLength: noted.length, transient: true });
        },
        takenOver,
      };
    } catch (e) {
      if (!(e instanceof StorageExistsError)) throw repoError(storage, e); // a folder or bucket that refuses the write: exit 10
    }
    const holder = await readHolder(storage);
    if (holder && !isStale(holder, staleMs)) {
      throw new BarysafeError(
        'lock',
        `the repository ${storage.displayUrl} is locked by ${holder.command} (pid ${holder.pid} on ${holder.host}, since ${holder.created_at})`,
        {
          exitCode: ExitCode.LOCKED,
          hint: `wait for it to finish; a lock is stale after ${Math.round(staleMs / 60_000)} minutes or when its process is gone (delete ${KEY} in the repository if you are sure)`,
        },
      );
    }
    takenOver = holder;
    await storage.delete(KEY).catch((e: unknown) => {
      throw repoError(storage, e);
    }); // stale: take it over
  }
  throw new BarysafeError('lock', `could not take the repository lock ${KEY}`, { exitCode: ExitCode.LOCKED });
}

/** A lock body is ~150 bytes; one larger than this is not ours and is not read into memory. */
const MAX_LOCK_BYTES = 64 * 1024;

async function readHolder(storage: Storage): Promise<LockBody | null> {
  try {
    const { bytes, over } = await readAtMost(await storage.get(KEY), MAX_LOCK_BYTES);
    if (over) return null; // not a lock barysafe wrote: treat as stale
    const h = JSON.parse(bytes.toString('utf8')) as Partial<LockBody> | null;
    if (!h || typeof h !== 'object' || typeof h.host !== 'string' || typeof h.pid !== 'number') return null;
    return {
      host: h.host,
      pid: h.pid,
      command: String(h.command ?? 'barysafe'),
      created_at: String(h.created_at ?? ''),
      ...(typeof h.snapshot === 'string' ? { snapshot: h.snapshot } : {}),
    };
  } catch {
    return null; // vanished or unreadable: treat as stale
  }
}

function isStale(h: LockBody, staleMs: number): boolean {
  if (Date.now() - Date.parse(h.created_at) > staleMs) return true;
  if (h.host === os.hostname()) {
    if (!processAlive(h.pid)) return true;
  }
  return false;
}
