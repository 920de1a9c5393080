import { existsSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { BarysafeError, ExitCode } from '../errors.js';
import { errnoOf, fsErrorText, isOutOfSpace } from '../platform/fs-errors.js';
import { euid, foreignWritableAncestor, lstatOrNull, makeDirs, modeText } from '../platform/safe-fs.js';

/**
 * The directory a restore writes into, made safe before any plaintext reaches it: created 0700
 * when missing; when it exists (or a symlink names it), it must be ours, writable by nobody else,
 * and no directory above it may be one another user can change. Whoever controls the target can
 * swap the verified key for their own before the operator's `install` copies it into production.
 * Returns the target's real path (symlinks resolved), which is what is written from then on.
 */
export async function prepareRestoreTarget(to: string): Promise<string> {
  const abs = path.resolve(to);
  const st = await lstatOrNull(abs);
  if (st && !st.isDirectory() && !st.isSymbolicLink()) {
    throw new BarysafeError('restore', `--to ${abs} is a file, not a directory`, {
      exitCode: ExitCode.USAGE,
      hint: 'name a directory to restore into (barysafe creates it when it does not exist)',
    });
  }
  if (!st) {
    let existing = path.dirname(abs);
    while (!existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
    const unsafe = await foreignWritableAncestor(existing);
    if (unsafe) refuse(abs, unsafe);
    try {
      await makeDirs(abs, 0o700);
    } catch (e) {
      throw unwritableTarget(abs, e, 'create');
    }
  }
  const real = await realpath(abs);
  const rst = await stat(real);
  if (!rst.isDirectory()) {
    throw new BarysafeError('restore', `--to ${abs} is not a directory`, { exitCode: ExitCode.USAGE });
  }
  if (rst.uid !== euid()) refuse(abs, `${real} belongs to uid ${rst.uid}`);
  if (rst.mode & 0o022)
    refuse(abs, `${real} is writable by ${rst.mode & 0o002 ? 'every user' : 'its group'} (mode ${modeText(rst.mode)})`);
  const unsafe = await foreignWritableAncestor(path.dirname(real));
  if (unsafe) refuse(abs, unsafe);
  return real;
}

/**
 * --to cannot be created or written (read-only file system, permission denied, full): a usage
 * error naming the cause in words, before any plaintext was decrypted.
 */
export function unwritableTarget(to: string, e: unknown, doing: 'create' | 'write into'): BarysafeError {
  const code = errnoOf(e);
  return new BarysafeError('restore', `cannot ${doing} --to ${to}: ${fsErrorText(e)}`, {
    exitCode: code ? ExitCode.USAGE : ExitCode.FAILURE,
    hint: isOutOfSpace(e)
      ? `free space on the file system holding ${to} (df -h ${path.dirname(to)}), or restore elsewhere`
      : code === 'EROFS'
        ? `${to} is on a read-only file system: restore into a directory on a writable one`
        : code === 'EACCES' || code === 'EPERM'
          ? `restore into a directory you can write (ls -ld ${path.dirname(to)})`
          : 'name a directory to restore into (barysafe creates it when it does not exist)',
    cause: e,
  });
}

function refuse(target: string, why: string): never {
  throw new BarysafeError(
    'restore',
    `refusing to restore into ${target}: ${why}, so another user could replace the restored key or database before you install it`,
    {
      exitCode: ExitCode.USAGE,
      hint: 'restore into a directory only you (and root) can change, e.g. a new one under /root or /var/lib; barysafe creates it 0700',
    },
  );
}
