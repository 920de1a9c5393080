import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  createWriteStream,
  fchmod,
  fchmodSync,
  open as openCb,
  openSync,
  type Stats,
  type WriteStream,
} from 'node:fs';
import { lstat, mkdir, open, realpath, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * File operations that never follow a link barysafe did not make. Files that hold plaintext (or
 * end up in another user's view) are created by barysafe itself with O_CREAT|O_EXCL|O_NOFOLLOW,
 * so a file or symlink planted at the path makes the create fail instead of being written
 * through; modes are set with fchmod on the open descriptor, never chmod(path), which a swapped
 * path would redirect onto another file.
 */

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
/** The sticky bit (not in Node's fs.constants typings). */
const S_ISVTX = 0o1000;
export const EXCLUSIVE_FLAGS = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
const openP = promisify(openCb) as (p: string, flags: number, mode: number) => Promise<number>;
const fchmodP = promisify(fchmod);

export function euid(): number {
  return typeof process.geteuid === 'function' ? process.geteuid() : 0;
}

/** Creates `file` (which must not exist) and sets its exact mode on the descriptor. */
export async function createExclusive(file: string, mode = 0o600): Promise<FileHandle> {
  const fh = await open(file, EXCLUSIVE_FLAGS, mode);
  try {
    await fh.chmod(mode); // the umask may have narrowed it; fchmod, not chmod(path)
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(file).catch(() => undefined);
    throw e;
  }
  return fh;
}

/** createExclusive for synchronous callers: returns the numeric descriptor. */
export function createExclusiveSync(file: string, mode = 0o600): number {
  const fd = openSync(file, EXCLUSIVE_FLAGS, mode);
  try {
    fchmodSync(fd, mode);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}

/**
 * A write stream on a file created exclusively (see createExclusive); the stream owns the
 * descriptor and fsyncs before it closes.
 */
export async function exclusiveWriteStream(file: string, mode = 0o600): Promise<WriteStream> {
  // A numeric fd, not a FileHandle: a FileHandle stream with autoClose:false makes fh.close()
  // hang on Node 20, and a FileHandle whose fd the stream closed would close a reused fd later.
  const fd = await openP(file, EXCLUSIVE_FLAGS, mode);
  try {
    await fchmodP(fd, mode);
  } catch (e) {
    closeSync(fd);
    await unlink(file).catch(() => undefined);
    throw e;
  }
  return createWriteStream('', { fd, flush: true, autoClose: true });
}

/** A temp name next to `dest` that barysafe's sweeps recognise as its own. */
export function siblingTempName(dest: string): string {
  return path.join(path.dirname(dest), `.${path.basename(dest)}.barysafe-${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Writes a whole file by creating a new one next to it (exclusively, with `mode`) and renaming it
 * over `dest`: a file that already exists — with another mode, owned by someone else, or a
 * symlink — is replaced, never written through.
 */
export async function writeFileReplacing(dest: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = siblingTempName(dest);
  const fh = await createExclusive(tmp, mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    await rename(tmp, dest);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/**
 * mkdir -p, one component at a time: Node's recursive mkdir reports ENOENT where the file system
 * said EROFS (or EACCES), so its errors name the wrong cause. Returns the first directory it made.
 */
export async function makeDirs(dir: string, mode = 0o700): Promise<string | undefined> {
  const abs = path.resolve(dir);
  const missing: string[] = [];
  for (let p = abs; !(await lstatOrNull(p)); p = path.dirname(p)) {
    missing.unshift(p);
    if (path.dirname(p) === p) break;
  }
  for (const p of missing) {
    try {
      await mkdir(p, { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  return missing[0];
}

/** Whether two stats name the same file (device and inode: sees through symlinks, hard links and bind mounts). */
export function sameFile(a: Pick<Stats, 'dev' | 'ino'>, b: Pick<Stats, 'dev' | 'ino'>): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** A real directory (not a symlink) owned by the effective uid with mode exactly 0700. */
export function isPrivateDir(st: Stats, uid = euid()): boolean {
  return st.isDirectory() && !st.isSymbolicLink() && st.uid === uid && (st.mode & 0o777) === 0o700;
}

/** Stats of a path without following a final symlink, or null when it does not exist. */
export async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await lstat(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

export async function statOrNull(p: string): Promise<Stats | null> {
  try {
    return await stat(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' || code === 'ELOOP') return null;
    throw e;
  }
}

/**
 * Why another user could replace `dir` or something in its path, or undefined when nobody but
 * the effective uid and root can: every directory from `dir` up to `/` (links resolved) must be
 * owned by root or us, and one that others may write must be sticky (like /tmp), where they still
 * cannot rename or delete what we own.
 */
export async function foreignWritableAncestor(dir: string): Promise<string | undefined> {
  const uid = euid();
  let p = await realpath(dir);
  for (;;) {
    const st = await stat(p);
    if (st.uid !== 0 && st.uid !== uid) return `${p} is owned by uid ${st.uid}`;
    if (st.mode & 0o022 && !(st.mode & S_ISVTX))
      return `${p} is writable by ${st.mode & 0o002 ? 'every user' : 'its group'} (mode ${modeText(st.mode)}, no sticky bit)`;
    const parent = path.dirname(p);
    if (parent === p) return undefined;
    p = parent;
  }
}

export function modeText(mode: number): string {
  return '0' + (mode & 0o7777).toString(8).padStart(3, '0');
}
