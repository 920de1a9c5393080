import { FILE_TMP_DIR } from './layout.js';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  createReadStream,
  existsSync,
  fdatasync,
  fstatSync,
  fsync,
  open as openCb,
  close as closeCb,
  writev as writevCb,
  read as readCb,
  type Dirent,
} from 'node:fs';
import { link, lstat, mkdir, readdir, rename, rmdir, unlink } from 'node:fs/promises';
import os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { processAlive } from '../platform/lifecycle.js';
import { errnoOf, fsErrorText } from '../platform/fs-errors.js';
import { makeDirs } from '../platform/safe-fs.js';
import { EarlyWriteback } from '../platform/early-writeback.js';
import { descriptorReader } from './object-reader.js';
import { pending } from './object-writer.js';
import {
  checkRange,
  RepositoryMissingError,
  StorageError,
  StorageExistsError,
  StorageNotFoundError,
  type ObjectInfo,
  type ObjectReader,
  type ObjectStat,
  type ObjectWriter,
  type WriterOptions,
  type PutOptions,
  type Storage,
} from './storage.js';

/** Where in-flight puts live: inside the repository, so the final rename never crosses a filesystem. */
const TMP_DIR = FILE_TMP_DIR;
/** Temp files of another host (or an unknown writer) older than this are leftovers of a crash. */
const STALE_TMP_MS = 24 * 3600 * 1000;
/** Subfolders a listing walks at once (each holds a descriptor while it is walked), and files it lstat()s at once. */
const LIST_DIRS = 8;
const LIST_FILES = 64;
/** A listing that finds more entries than this, or takes longer, is refused rather than exhausting memory. */
export const LIST_MAX_ENTRIES = 1_000_000;
export const LIST_MAX_MS = 5 * 60_000;

/**
 * Names of barysafe's own temp files: `w-<host hash>-<pid>-<random>.tmp` (this version, so a
 * crashed writer's leftovers are recognised at once), `<16 hex>.tmp` (older versions) and
 * `probe-<12 hex>`. Clean-up never unlinks anything else.
 */
const HOST_TAG = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);
const OWN_TEMP = /^w-([0-9a-f]{8})-(\d+)-[0-9a-f]{16}\.tmp$/;
const OLD_TEMP = /^[0-9a-f]{16}\.tmp$|^probe-[0-9a-f]{12}$/;

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_WRONLY, O_CREAT, O_EXCL } = constants;
const openP = promisify(openCb) as (p: string, flags: number, mode?: number) => Promise<number>;
const fsyncP = promisify(fsync);
const closeP = promisify(closeCb);
const writevP = promisify(writevCb);
const fdatasyncP = promisify(fdatasync);

const readP = promisify(readCb) as (
  fd: number,
  buf: Buffer,
  off: number,
  len: number,
  pos: number,
) => Promise<{ bytesRead: number }>;
/** Linux: /proc/self/fd/<dir fd>/<name> resolves <name> inside that very directory, like openat(2). */
const PROC_FD = existsSync('/proc/self/fd');

/** A directory of the repository held open, so later names resolve inside it and nowhere else. */
interface Dir {
  fd: number;
  /** Its path, for messages (and the lookup base where /proc/self/fd is not available). */
  path: string;
}

function inDir(dir: Dir, name: string): string {
  return PROC_FD ? `/proc/self/fd/${dir.fd}/${name}` : path.join(dir.path, name);
}

class SymlinkRefused extends StorageError {
  constructor(readonly where: string) {
    super(
      `refusing to follow the symlink ${where} in the repository: barysafe never follows links in a repository it did not make (someone who can write the repository may have planted it)`,
    );
    this.name = 'SymlinkRefused';
  }
}

/**
 * A repository in a local (or mounted) directory: file:///abs/dir.
 * Objects are files under the root; a put is written to TMP_DIR, fsynced and renamed into place,
 * so a reader sees either nothing or the whole object. Every directory below the root is opened
 * with O_NOFOLLOW and every name is resolved inside an open directory descriptor, so a symlink
 * or a directory swapped for one (by whoever else can write the repository) is refused at once,
 * for reads, writes, listings and clean-up alike.
 */
export class FileStorage implements Storage {
  readonly displayUrl: string;
  readonly root: string;

  constructor(url: string) {
    let root: string;
    // URL parsing alone would take file:relative/dir as /relative/dir, silently somewhere else.
    if (!/^file:\/\//i.test(url))
      throw new StorageError(
        `invalid file repository URL ${url}: name an absolute directory as file:///absolute/dir (three slashes)`,
      );
    try {
      root = fileURLToPath(url);
    } catch (e) {
      throw new StorageError(`invalid file repository URL ${url}: ${(e as Error).message} (use file:///absolute/dir)`);
    }
    this.root = path.resolve(root);
    this.displayUrl = pathToFileURL(this.root).href;
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<ObjectInfo> {
    let writer: ObjectWriter;
    try {
      writer = await this.openWriter(key, opts);
    } catch (e) {
      body.destroy(); // nobody will read it; don't leave the producer blocked on backpressure
      throw e;
    }
    // One write in flight while the next chunk is read. The body's own error comes out of the
    // loop unchanged (a producer's failure, pg_dump exiting non-zero…); the writer's are mapped.
    let inFlight: Promise<void> = Promise.resolve();
    try {
      for await (const chunk of body as AsyncIterable<Buffer | string>) {
        await inFlight;
        inFlight = pending(writer.write([typeof chunk === 'string' ? Buffer.from(chunk) : chunk]));
      }
      await inFlight;
    } catch (e) {
      await inFlight.catch(() => undefined);
      await writer.abort();
      if (!body.destroyed) body.destroy(); // we failed before reading it all: unblock the producer
      throw e;
    }
    return writer.close();
  }

  /**
   * A temp file in TMP_DIR, written with writev, its disk started early (EarlyWriteback), fsynced
   * and renamed (or, with ifNoneMatch, linked) into place by close().
   */
  async openWriter(key: string, opts: WriterOptions = {}): Promise<ObjectWriter> {
    const parts = this.partsOf(key);
    const name = parts[parts.length - 1]!;
    const tmpName = `w-${HOST_TAG}-${process.pid}-${randomBytes(8).toString('hex')}.tmp`;
    if (opts.ifNoneMatch && (await this.head(key))) throw new StorageExistsError(key);
    let tmpDir: Dir | undefined;
    let fd: number;
    try {
      tmpDir = await this.openTmpDir();
      fd = await openP(inDir(tmpDir, tmpName), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    } catch (e) {
      closeDirs([], tmpDir);
      throw this.mapError(e, key, 'writing');
    }
    const tmp = tmpDir;
    const writeback = new EarlyWriteback(() => fdatasyncP(fd));
    let size = 0;
    let open = true;
    /** close() or abort() was called: each cleans up once (a second close of a folder's descriptor could close another file's). */
    let ended = false;
    /** Closes the descriptor once no datasync is in flight on it (its number could go to another file). */
    const closeFd = async () => {
      if (!open) return;
      open = false;
      await writeback.settle().catch(() => undefined);
      await closeP(fd).catch(() => undefined);
    };
    const discard = async () => {
      await closeFd();
      await unlink(inDir(tmp, tmpName)).catch(() => {});
    };
    return {
      write: async (buffers) => {
        let bytes = 0;
        for (const b of buffers) bytes += b.length;
        try {
          writeback.wrote(bytes); // throws an earlier datasync's failure
          await writeAll(fd, buffers);
        } catch (e) {
          throw this.mapError(e, key, 'writing');
        }
        size += bytes;
        opts.onProgress?.(size);
      },
      close: async () => {
        if (ended) throw new Error('ObjectWriter.close() after close() or abort()');
        ended = true;
        let dirs: Dir[] = [];
        try {
          await writeback.settle();
          await fsyncP(fd);
          open = false;
          await closeP(fd);
          // The object's folders are made only now: a writer killed while writing (SIGKILL)
          // leaves its temp file, never an empty snapshots/<id>/ folder.
          dirs = await this.openDirs(parts.slice(0, -1), true);
          const destDir = dirs[dirs.length - 1]!;
          // link() fails with EEXIST when the key appeared meanwhile: atomic create-if-absent.
          if (opts.ifNoneMatch) await link(inDir(tmp, tmpName), inDir(destDir, name));
          else await rename(inDir(tmp, tmpName), inDir(destDir, name));
        } catch (e) {
          await discard();
          // A put that failed after making its folders leaves none of them empty.
          if (dirs.length === parts.length) await removeEmptyFolders(dirs, parts);
          closeDirs(dirs, tmp);
          const err = e as NodeJS.ErrnoException;
          if (opts.ifNoneMatch && err.code === 'EEXIST' && err.syscall === 'link') throw new StorageExistsError(key);
          throw this.mapError(e, key, 'writing');
        }
        // Published: from here on nothing may turn this put into a rejection.
        if (opts.ifNoneMatch) await unlink(inDir(tmp, tmpName)).catch(() => {});
        await fsyncP(dirs[dirs.length - 1]!.fd).catch(() => {}); // some network filesystems refuse it
        closeDirs(dirs, tmp);
        return { key, size };
      },
      abort: async () => {
        if (ended) return; // a failed close() already removed what it wrote
        ended = true;
        await discard();
        closeDirs([], tmp);
      },
    };
  }

  async get(key: string): Promise<Readable> {
    try {
      // Closes the descriptor at end or on destroy. 1 MiB reads: sixteen age chunks per hop, not one.
      return createReadStream('', { fd: await this.openObject(key), highWaterMark: 1 << 20 });
    } catch (e) {
      throw this.mapError(e, key, 'reading');
    }
  }

  async openReader(key: string): Promise<ObjectReader> {
    try {
      return descriptorReader(await this.openObject(key));
    } catch (e) {
      throw this.mapError(e, key, 'reading');
    }
  }

  /** A read descriptor on the regular file at `key`, opened without following any link. */
  private async openObject(key: string): Promise<number> {
    const parts = this.partsOf(key);
    let dirs: Dir[] = [];
    try {
      dirs = await this.openDirs(parts.slice(0, -1), false);
      const where = inDir(dirs[dirs.length - 1]!, parts[parts.length - 1]!);
      let fd: number;
      try {
        fd = await openP(where, O_RDONLY | O_NOFOLLOW);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ELOOP' || ((code === 'EMLINK' || code === 'ENOTDIR') && (await isSymlink(where))))
          throw new SymlinkRefused(path.join(this.root, ...parts));
        throw e;
      }
      if (!fstatSync(fd).isFile()) {
        closeSync(fd);
        throw new StorageNotFoundError(key);
      }
      return fd;
    } finally {
      closeDirs(dirs);
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    checkRange(start, end);
    let fd: number;
    try {
      fd = await this.openObject(key);
    } catch (e) {
      throw this.mapError(e, key, 'reading');
    }
    try {
      const buf = Buffer.alloc(end - start);
      const { bytesRead } = await readP(fd, buf, 0, buf.length, start);
      return buf.subarray(0, bytesRead);
    } catch (e) {
      throw this.mapError(e, key, 'reading');
    } finally {
      closeSync(fd);
    }
  }

  async head(key: string): Promise<ObjectStat | null> {
    const parts = this.partsOf(key);
    let dirs: Dir[] = [];
    try {
      dirs = await this.openDirs(parts.slice(0, -1), false);
      const st = await lstat(inDir(dirs[dirs.length - 1]!, parts[parts.length - 1]!));
      if (st.isSymbolicLink()) throw new SymlinkRefused(path.join(this.root, ...parts));
      return st.isFile() ? { key, size: st.size } : null;
    } catch (e) {
      if (e instanceof StorageNotFoundError || e instanceof RepositoryMissingError) return null;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw this.mapError(e, key, 'reading');
    } finally {
      closeDirs(dirs);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Walk only the directory the prefix names (not the whole tree on every call).
    const cut = prefix.lastIndexOf('/');
    const dirPart = cut >= 0 ? prefix.slice(0, cut) : '';
    const dirParts = dirPart ? dirPart.split('/') : [];
    if (dirParts.some((p) => p === '' || p === '.' || p === '..')) return;
    let dirs: Dir[];
    try {
      dirs = await this.openDirs(dirParts, false);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Nothing under that prefix (yet). A missing root is not this: openDirs said so.
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw this.mapError(e, dirPart || '.', 'listing');
    }
    const all: ObjectInfo[] = [];
    const budget = { entries: 0, deadline: Date.now() + LIST_MAX_MS };
    try {
      await this.walk(dirs[dirs.length - 1]!, dirPart, all, budget);
    } catch (e) {
      throw this.mapError(e, dirPart || '.', 'listing');
    } finally {
      closeDirs(dirs);
    }
    // Byte order of the UTF-8 keys, the order S3 lists in (String#sort compares UTF-16 units).
    all.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    for (const o of all) if (o.key.startsWith(prefix)) yield o;
  }

  /** Unlinks the object, then the directories it leaves empty (an interrupted snapshot leaves no empty folder). */
  async delete(key: string): Promise<void> {
    const parts = this.partsOf(key);
    let dirs: Dir[] = [];
    try {
      dirs = await this.openDirs(parts.slice(0, -1), false);
      await unlink(inDir(dirs[dirs.length - 1]!, parts[parts.length - 1]!));
      await removeEmptyFolders(dirs, parts);
    } catch (e) {
      if (e instanceof StorageNotFoundError || e instanceof RepositoryMissingError) return;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw this.mapError(e, key, 'deleting');
    } finally {
      closeDirs(dirs);
    }
  }

  async probeWritable(): Promise<void> {
    const name = `probe-${randomBytes(6).toString('hex')}`;
    let tmpDir: Dir | undefined;
    try {
      tmpDir = await this.openTmpDir();
      const fd = await openP(inDir(tmpDir, name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      closeSync(fd);
      await unlink(inDir(tmpDir, name));
    } catch (e) {
      if (tmpDir) await unlink(inDir(tmpDir, name)).catch(() => {});
      closeDirs([], tmpDir);
      throw this.mapError(e, '(probe)', 'writing');
    }
    try {
      await this.removeStaleTemps(tmpDir);
    } finally {
      closeDirs([], tmpDir);
    }
  }

  /**
   * Removes temp files a crashed put left behind (they hold encrypted data, but waste space):
   * only regular files with barysafe's own temp names — at once when their writer was a process
   * of this host that is gone, otherwise after a day.
   */
  private async removeStaleTemps(tmpDir: Dir): Promise<void> {
    const names = await readdir(inDir(tmpDir, '.')).catch(() => [] as string[]);
    const now = Date.now();
    for (const n of names) {
      const own = OWN_TEMP.exec(n);
      if (!own && !OLD_TEMP.test(n)) continue;
      const p = inDir(tmpDir, n);
      const st = await lstat(p).catch(() => null);
      if (!st || !st.isFile()) continue;
      const deadWriter = own && own[1] === HOST_TAG && Number(own[2]) !== process.pid && !processAlive(Number(own[2]));
      if (deadWriter || now - st.mtimeMs > STALE_TMP_MS) await unlink(p).catch(() => {});
    }
  }

  /**
   * Lists `dir` into `out`, LIST_FILES of its files' lstat()s and LIST_DIRS of its subfolders at a
   * time: one after the other, each a trip through the thread pool, the listings at the start of a
   * restore from a repository of 40 snapshots made 890 calls and left it idle for ~90 ms. Every
   * started call settles before this returns or throws, so no subfolder's walk outlives the
   * descriptor of the folder it is in (list() closes them).
   */
  private async walk(
    dir: Dir,
    rel: string,
    out: ObjectInfo[],
    budget: { entries: number; deadline: number },
  ): Promise<void> {
    const entries: Dirent[] = await readdir(inDir(dir, '.'), { withFileTypes: true });
    const key = (name: string) => (rel ? `${rel}/${name}` : name);
    const files: string[] = [];
    const folders: string[] = [];
    for (const d of entries) {
      if (++budget.entries > LIST_MAX_ENTRIES || Date.now() > budget.deadline) {
        throw new StorageError(
          `listing ${path.join(this.root, rel)} exceeds ${LIST_MAX_ENTRIES} entries or ${LIST_MAX_MS / 60_000} minutes; refusing to go on (is something filling the repository?)`,
        );
      }
      if (rel === '' && d.name === TMP_DIR) continue;
      if (d.isSymbolicLink()) throw new SymlinkRefused(path.join(this.root, key(d.name)));
      if (d.isDirectory()) folders.push(d.name);
      else if (d.isFile()) files.push(d.name);
    }
    await settleAll([
      inGroups(files, LIST_FILES, async (name) => {
        const st = await lstat(inDir(dir, name)).catch(() => null);
        if (st?.isFile()) out.push({ key: key(name), size: st.size }); // vanished meanwhile (concurrent delete): skip
      }),
      inGroups(folders, LIST_DIRS, async (name) => {
        const child = await this.openChildDir(dir, name, false);
        try {
          await this.walk(child, key(name), out, budget);
        } finally {
          closeSync(child.fd);
        }
      }),
    ]);
  }

  private async openTmpDir(): Promise<Dir> {
    const [dir] = (await this.openDirs([TMP_DIR], true)).slice(-1);
    return dir!;
  }

  /**
   * Opens the root and then each of `parts` below it, each inside the previous descriptor and
   * with O_NOFOLLOW. Returns every descriptor, root first (the caller closes them). With
   * `create`, missing directories are made 0700.
   */
  private async openDirs(parts: string[], create: boolean): Promise<Dir[]> {
    if (create) await makeDirs(this.root, 0o700);
    const dirs: Dir[] = [];
    try {
      dirs.push({ fd: await this.openRoot(), path: this.root });
      for (const p of parts) dirs.push(await this.openChildDir(dirs[dirs.length - 1]!, p, create));
      return dirs;
    } catch (e) {
      closeDirs(dirs);
      throw e;
    }
  }

  /** The root folder's descriptor; its absence is a missing repository, never an empty one. */
  private async openRoot(): Promise<number> {
    try {
      return await openP(this.root, O_RDONLY | O_DIRECTORY);
    } catch (e) {
      const code = errnoOf(e);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
      throw new RepositoryMissingError(
        this.displayUrl,
        code === 'ENOENT'
          ? `the folder ${this.root} does not exist`
          : `${this.root} is not a folder (it, or a folder above it, is a file)`,
        'check repository.url, or run `barysafe backup` once to create the folder',
      );
    }
  }

  private async openChildDir(parent: Dir, name: string, create: boolean): Promise<Dir> {
    const where = inDir(parent, name);
    const shown = path.join(parent.path, name);
    if (create) {
      try {
        await mkdir(where, { mode: 0o700 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    try {
      return { fd: await openP(where, O_RDONLY | O_DIRECTORY | O_NOFOLLOW), path: shown };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === 'ELOOP' || code === 'ENOTDIR') && (await isSymlink(where))) throw new SymlinkRefused(shown);
      throw e; // ENOENT: mapped to "not found" by the caller, with the key
    }
  }

  /** Splits a key into path components under the root, refusing anything that could escape it. */
  private partsOf(key: string): string[] {
    const parts = key.split('/');
    if (!key || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\') || p.includes('\0'))) {
      throw new StorageError(`invalid object key ${JSON.stringify(key)}`);
    }
    if (parts[0] === TMP_DIR)
      throw new StorageError(`invalid object key ${JSON.stringify(key)}: ${TMP_DIR}/ is reserved`);
    return parts;
  }

  /** A failed fs call as a StorageError that says what the folder's problem is and what to do about it. */
  private mapError(e: unknown, key: string, doing: string): Error {
    if (e instanceof StorageError) return e;
    const err = e as NodeJS.ErrnoException;
    const code = errnoOf(e);
    // Not an fs error (e.g. the body stream's own error): surface it unchanged, as the contract says.
    if (!code || typeof err.syscall !== 'string') return err instanceof Error ? err : new Error(String(e));
    if (doing === 'reading' && (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST'))
      return new StorageNotFoundError(key);
    const root = this.root;
    const why = fsErrorText(e);
    const fail = (message: string, hint: string, retryable = false) =>
      new StorageError(message, retryable, { cause: e, hint });
    switch (code) {
      case 'EROFS':
        return fail(
          `repository ${root} is not writable: ${why} ${doing} ${key}`,
          `the file system holding ${root} is mounted read-only: remount it read-write, or point repository.url at a writable folder`,
        );
      case 'EACCES':
      case 'EPERM':
        return fail(
          doing === 'writing' || doing === 'deleting'
            ? `repository ${root} is not writable: ${why} ${doing} ${key}`
            : `repository ${root} cannot be read: ${why} ${doing} ${key}`,
          code === 'EPERM'
            ? `the folder may be immutable or append-only (lsattr -d ${root}); run barysafe as a user allowed to change it`
            : `run barysafe as a user that can read and write ${root} (ls -ld ${root}), or fix its owner and mode`,
        );
      case 'ENOTDIR':
      case 'EEXIST':
        return fail(
          `repository ${root} is not writable: ${code} ${doing} ${key} (a path component is a file, not a directory)`,
          `something in ${root} that barysafe expects to be a folder is a file: check repository.url`,
        );
      case 'ENOSPC':
      case 'EDQUOT':
        return fail(
          `${code === 'ENOSPC' ? 'no space left on device' : 'disk quota exceeded'} writing ${key} to repository ${root} (${code})`,
          `free space on the file system holding ${root} (df -h ${root}), or point repository.url at a larger one, then retry`,
          true,
        );
    }
    return fail(
      `repository ${root}: ${why} ${doing} ${key}`,
      `check that ${root} is a folder barysafe can read and write`,
    );
  }
}

function closeDirs(dirs: Dir[], extra?: Dir): void {
  for (const d of extra ? [...dirs, extra] : dirs) {
    try {
      closeSync(d.fd);
    } catch {
      /* already closed */
    }
  }
  dirs.length = 0;
}

async function isSymlink(p: string): Promise<boolean> {
  return (await lstat(p).catch(() => null))?.isSymbolicLink() === true;
}

/**
 * Removes the folders of `parts` (opened as `dirs`) that are now empty, deepest first. Only
 * folders below the top-level ones (snapshots/<id>/): locks/ and drills/ stay, so a concurrent
 * writer that just opened one never finds it removed under it.
 */
async function removeEmptyFolders(dirs: Dir[], parts: string[]): Promise<void> {
  for (let i = parts.length - 1; i >= 2; i--) {
    try {
      await rmdir(inDir(dirs[i - 1]!, parts[i - 1]!));
    } catch {
      break; // not empty (or another writer is using it)
    }
  }
}

/**
 * fn over `items`, `size` at a time; each group settles completely before the next starts, and the
 * first failure is thrown once its group has settled (no call is left running behind the throw).
 */
async function inGroups<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await settleAll(items.slice(i, i + size).map(fn));
}

/** Waits for every one of `calls`, then throws the first failure, if any. */
async function settleAll(calls: Array<Promise<void>>): Promise<void> {
  const failed = (await Promise.allSettled(calls)).find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

/** All of `buffers` at the descriptor's offset, writing again what a short write left. */
async function writeAll(fd: number, buffers: readonly Uint8Array[]): Promise<void> {
  let rest = buffers as Uint8Array[];
  while (rest.length) {
    let done = (await writevP(fd, rest)).bytesWritten;
    let i = 0;
    while (i < rest.length && done >= rest[i]!.length) done -= rest[i++]!.length;
    rest = i < rest.length ? [rest[i]!.subarray(done), ...rest.slice(i + 1)] : [];
  }
}
