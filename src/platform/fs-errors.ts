import { errorText } from '../errors.js';

/**
 * The errno codes a local file system answers with, in the words an operator knows them by, so a
 * message says "read-only file system" rather than a bare EROFS (or the ENOENT that Node's
 * recursive mkdir reports in its place: use makeDirs in safe-fs.ts).
 */
const WORDS: Record<string, string> = {
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a path component is a file, not a directory',
  EISDIR: 'it is a directory',
  EEXIST: 'it already exists',
  EIO: 'input/output error',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EMFILE: 'too many open files',
  EXDEV: 'not on the same file system',
};

/** The errno code of a failed file-system call, when it is one. */
export function errnoOf(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** "read-only file system (EROFS)"; the error's own text when it is not an errno error. */
export function fsErrorText(e: unknown): string {
  const code = errnoOf(e);
  if (!code) return errorText(e);
  return WORDS[code] ? `${WORDS[code]} (${code})` : errorText(e);
}

/** The disk (or the user's quota on it) is full. */
export function isOutOfSpace(e: unknown): boolean {
  const code = errnoOf(e);
  return code === 'ENOSPC' || code === 'EDQUOT';
}
