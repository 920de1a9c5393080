import { existsSync } from 'node:fs';
import { mkdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { BarysafeError, ExitCode } from '../errors.js';
import { euid, foreignWritableAncestor, lstatOrNull, modeText } from '../platform/safe-fs.js';

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
    throw new BarysafeError('restore', `--to ${abs} exists and is not a directory`, {
      exitCode: ExitCode.USAGE,
      hint: 'name a directory to restore into (barysafe creates it when it does not exist)',
    });
  }
  if (!st) {
    let existing = path.dirname(abs);
    while (!existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
    const unsafe = await foreignWritableAncestor(existing);
    if (unsafe) refuse(abs, unsafe);
    await mkdir(abs, { recursive: true, mode: 0o700 });
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
