import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { BarysafeError, ExitCode } from '../errors.js';
import { errnoOf, fsErrorText, isOutOfSpace } from '../platform/fs-errors.js';
import { lstatOrNull, writeFileReplacing } from '../platform/safe-fs.js';

/**
 * The one way a command writes the file its --output names. Checked before the command does its
 * work (a typo in the path must not cost a whole run) and again when writing: a symlink is
 * refused (it names another place than the one typed), a directory or a missing parent is a
 * usage error, and a file system that refuses the write is named in words (read-only, permission
 * denied, full), never as an internal error.
 */
export async function checkOutputPath(file: string): Promise<void> {
  const st = await lstatOrNull(file).catch(() => null); // EACCES: the write below says so
  if (st?.isSymbolicLink())
    throw usage(`refusing to write --output through the symlink ${file}`, 'name the real file, not a link to it');
  if (st?.isDirectory())
    throw usage(`--output ${file} is a directory`, 'name a file inside it, e.g. --output DIR/report');
  const dir = path.dirname(path.resolve(file));
  let parent;
  try {
    parent = await stat(dir);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') parent = null;
    else throw usage(`--output ${file}: cannot look at ${dir}: ${fsErrorText(e)}`, 'choose a path you can write to');
  }
  if (!parent)
    throw usage(
      `--output ${file}: the directory ${dir} does not exist`,
      `create it first (mkdir -p ${dir}) or choose another path`,
    );
  if (!parent.isDirectory()) throw usage(`--output ${file}: ${dir} is a file, not a directory`, 'choose another path');
  // access(2) answers EROFS for a read-only mount and EACCES for modes, before any work is done.
  await access(dir, constants.W_OK).catch((e: unknown) => {
    throw writeFailure(file, e);
  });
}

/** Writes `data` to `file` as a new file with `mode`, replacing what was there. */
export async function writeOutputFile(file: string, data: string | Uint8Array, mode: number): Promise<void> {
  await checkOutputPath(file);
  try {
    await writeFileReplacing(file, data, mode);
  } catch (e) {
    throw writeFailure(file, e);
  }
}

function writeFailure(file: string, e: unknown): BarysafeError {
  const dir = path.dirname(path.resolve(file));
  const why = fsErrorText(e);
  if (isOutOfSpace(e))
    return new BarysafeError('output', `cannot write --output ${file}: ${why}`, {
      exitCode: ExitCode.FAILURE,
      hint: `free space on the file system holding ${dir} (df -h ${dir}), or write elsewhere`,
      cause: e,
    });
  const code = errnoOf(e);
  return new BarysafeError('output', `cannot write --output ${file}: ${why}`, {
    exitCode: ExitCode.USAGE,
    hint:
      code === 'EROFS'
        ? `${dir} is on a read-only file system: write the file somewhere writable`
        : code === 'EACCES' || code === 'EPERM'
          ? `choose a directory you can write to (ls -ld ${dir})`
          : 'choose a path you can write to',
    cause: e,
  });
}

function usage(message: string, hint: string): BarysafeError {
  return new BarysafeError('output', message, { exitCode: ExitCode.USAGE, hint });
}
