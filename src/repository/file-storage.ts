import { FILE_TMP_DIR } from './layout.js';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  checkRange,
  StorageError,
  StorageExistsError,
  StorageNotFoundError,
  type ObjectInfo,
  type ObjectStat,
  type PutOptions,
  type Storage,
} from './storage.js';

/** Where in-flight puts live: inside the repository, so the final rename never crosses a filesystem. */
const TMP_DIR = FILE_TMP_DIR;
/** Temp files older than this are leftovers of a crash (a live put keeps writing to its file). */
const STALE_TMP_MS = 24 * 3600 * 1000;

/**
 * A repository in a local (or mounted) directory: file:///abs/dir.
 * Objects are files under the root; a put is written to TMP_DIR, fsynced and renamed into place,
 * so a reader sees either nothing or the whole object.
 */
export class FileStorage implements Storage {
  readonly displayUrl: string;
  readonly root: string;

  constructor(url: string) {
    let root: string;
    try {
      root = fileURLToPath(url);
    } catch (e) {
      throw new StorageError(`invalid file repository URL ${url}: ${(e as Error).message} (use file:///absolute/dir)`);
    }
    this.root = path.resolve(root);
    this.displayUrl = pathToFileURL(this.root).href;
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<ObjectInfo> {
    const dest = this.pathOf(key);
    if (opts.ifNoneMatch && (await this.head(key))) {
      body.destroy(); // nobody will read it; don't leave the producer blocked on backpressure
      throw new StorageExistsError(key);
    }
    const tmpDir = path.join(this.root, TMP_DIR);
    const tmp = path.join(tmpDir, `${randomBytes(8).toString('hex')}.tmp`);
    let size = 0;
    let bodyError: unknown;
    let sinkError: unknown;
    body.once('error', (e) => (bodyError = e));
    try {
      await mkdir(tmpDir, { recursive: true, mode: 0o700 });
      await mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          size += chunk.length;
          opts.onProgress?.(size);
          cb(null, chunk);
        },
      });
      // pipeline rejects with the first error, i.e. the body's own error when the body fails.
      // flush: fsync before close. (A FileHandle stream with autoClose:false makes fh.close()
      // wait forever on Node 20, so the stream owns the descriptor.)
      const sink = createWriteStream(tmp, { flags: 'wx', mode: 0o600, flush: true });
      // pipeline destroys the body with the sink's error too, so remember which side failed first.
      sink.once('error', (err) => (sinkError ??= err));
      await pipeline(body, counter, sink);
      if (opts.ifNoneMatch) {
        // link() fails with EEXIST when the key appeared meanwhile: atomic create-if-absent.
        await link(tmp, dest);
      } else {
        await rename(tmp, dest);
      }
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => {});
      if (!body.destroyed) body.destroy(); // we failed before reading it all: unblock the producer
      if (bodyError !== undefined && e === bodyError && e !== sinkError) throw e; // the producer failed: say so, unchanged
      if (
        opts.ifNoneMatch &&
        (e as NodeJS.ErrnoException).code === 'EEXIST' &&
        (e as NodeJS.ErrnoException).syscall === 'link'
      ) {
        throw new StorageExistsError(key);
      }
      throw this.mapError(e, key, 'writing');
    }
    // Published: from here on nothing may turn this put into a rejection.
    if (opts.ifNoneMatch) await unlink(tmp).catch(() => {});
    await syncDir(path.dirname(dest)).catch(() => {});
    return { key, size };
  }

  async get(key: string): Promise<Readable> {
    try {
      const fh = await open(this.pathOf(key), 'r');
      if (!(await fh.stat()).isFile()) {
        await fh.close();
        throw new StorageNotFoundError(key);
      }
      return fh.createReadStream(); // closes the handle at end or on destroy
    } catch (e) {
      throw this.mapError(e, key, 'reading');
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    checkRange(start, end);
    let fh;
    try {
      fh = await open(this.pathOf(key), 'r');
    } catch (e) {
      throw this.mapError(e, key, 'reading');
    }
    try {
      if (!(await fh.stat()).isFile()) throw new StorageNotFoundError(key);
      const buf = Buffer.alloc(end - start);
      const { bytesRead } = await fh.read(buf, 0, buf.length, start);
      return buf.subarray(0, bytesRead);
    } catch (e) {
      throw this.mapError(e, key, 'reading');
    } finally {
      await fh.close();
    }
  }

  async head(key: string): Promise<ObjectStat | null> {
    try {
      const st = await stat(this.pathOf(key));
      return st.isFile() ? { key, size: st.size } : null;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw this.mapError(e, key, 'reading');
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const all: ObjectInfo[] = [];
    await this.walk('', all);
    // Byte order of the UTF-8 keys, the order S3 lists in (String#sort compares UTF-16 units).
    all.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    for (const o of all) if (o.key.startsWith(prefix)) yield o;
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw this.mapError(e, key, 'deleting');
    }
  }

  async probeWritable(): Promise<void> {
    const tmpDir = path.join(this.root, TMP_DIR);
    const probe = path.join(tmpDir, `probe-${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(tmpDir, { recursive: true, mode: 0o700 });
      const fh = await open(probe, 'wx', 0o600);
      await fh.close();
      await unlink(probe);
    } catch (e) {
      await rm(probe, { force: true }).catch(() => {});
      throw this.mapError(e, '(probe)', 'writing');
    }
    await this.removeStaleTemps();
  }

  /** Removes temp files a crashed put left behind (they hold encrypted data, but waste space). */
  private async removeStaleTemps(): Promise<void> {
    const tmpDir = path.join(this.root, TMP_DIR);
    const names = await readdir(tmpDir).catch(() => [] as string[]);
    const now = Date.now();
    for (const n of names) {
      const p = path.join(tmpDir, n);
      const st = await stat(p).catch(() => null);
      if (st && now - st.mtimeMs > STALE_TMP_MS) await rm(p, { force: true }).catch(() => {});
    }
  }

  private async walk(rel: string, out: ObjectInfo[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(path.join(this.root, rel), { withFileTypes: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && rel === '') return; // empty repository
      throw this.mapError(e, rel || '.', 'listing');
    }
    for (const d of entries) {
      const k = rel ? `${rel}/${d.name}` : d.name;
      if (rel === '' && d.name === TMP_DIR) continue;
      if (d.isDirectory()) await this.walk(k, out);
      else if (d.isFile()) {
        const st = await stat(path.join(this.root, k)).catch(() => null);
        if (st) out.push({ key: k, size: st.size }); // vanished meanwhile (concurrent delete): skip
      }
    }
  }

  /** Maps a key to a path under the root, refusing anything that could escape it. */
  private pathOf(key: string): string {
    const parts = key.split('/');
    if (!key || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\') || p.includes('\0'))) {
      throw new StorageError(`invalid object key ${JSON.stringify(key)}`);
    }
    if (parts[0] === TMP_DIR)
      throw new StorageError(`invalid object key ${JSON.stringify(key)}: ${TMP_DIR}/ is reserved`);
    return path.join(this.root, ...parts);
  }

  private mapError(e: unknown, key: string, doing: string): Error {
    if (e instanceof StorageError) return e;
    const err = e as NodeJS.ErrnoException;
    switch (err.code) {
      case 'ENOENT':
        if (doing === 'reading') return new StorageNotFoundError(key);
        break;
      case 'EISDIR':
        if (doing === 'reading') return new StorageNotFoundError(key);
        break;
      case 'EACCES':
      case 'EPERM':
      case 'EROFS':
        return new StorageError(`repository ${this.root} is not writable: ${err.code} ${doing} ${key}`, false, {
          cause: e,
        });
      case 'ENOTDIR':
      case 'EEXIST':
        if (doing === 'reading') return new StorageNotFoundError(key);
        return new StorageError(
          `repository ${this.root} is not writable: ${err.code} ${doing} ${key} (a path component is a file, not a directory)`,
          false,
          { cause: e },
        );
      case 'ENOSPC':
      case 'EDQUOT':
        return new StorageError(
          `no space left on device writing ${key} to repository ${this.root} (${err.code})`,
          true,
          { cause: e },
        );
    }
    // Not an fs error (e.g. the body stream's own error): surface it unchanged, as the contract says.
    if (typeof err.code !== 'string' || typeof err.syscall !== 'string')
      return err instanceof Error ? err : new Error(String(e));
    return new StorageError(`repository ${this.root}: ${err.code} ${doing} ${key}: ${err.message}`, false, {
      cause: e,
    });
  }
}

/** fsync a directory so the rename that published a file survives a crash. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch {
    // Some filesystems (network mounts) refuse fsync on directories; the data itself was synced.
  } finally {
    await fh.close();
  }
}
