import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BarysafeError, ExitCode, errorText } from '../../errors.js';

/**
 * Where `--read-data-subset auto/t` is in its cycle, per repository, in the state directory
 * (`[state] dir`). A slice that --max-egress cut short is resumed, not restarted: `done` lists the
 * objects of the current slice already read, so t completed runs read every object exactly once.
 */
export interface Cursor {
  t: number;
  /** The slice the next run reads (1…t). */
  next: number;
  /** Objects of slice `next` already read by a run that stopped early. */
  done: string[];
  updated_at: string;
}

interface CursorFile {
  format: 'barysafe.verify-cursor/v1';
  repositories: Record<string, Cursor>;
}

const FILE = 'verify-cursor.json';

export async function readCursor(stateDir: string, repository: string): Promise<Cursor | undefined> {
  const doc = await readFileDoc(stateDir);
  return doc?.repositories[repository];
}

export async function writeCursor(stateDir: string, repository: string, cursor: Cursor): Promise<void> {
  await ensureStateDir(stateDir);
  const doc: CursorFile = (await readFileDoc(stateDir)) ?? { format: 'barysafe.verify-cursor/v1', repositories: {} };
  doc.repositories[repository] = cursor;
  const file = path.join(stateDir, FILE);
  const tmp = path.join(stateDir, `.${FILE}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, JSON.stringify(doc, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw stateError(stateDir, `cannot write ${file}: ${errorText(e)}`);
  }
}

async function readFileDoc(stateDir: string): Promise<CursorFile | undefined> {
  const file = path.join(stateDir, FILE);
  let text: string;
  try {
    const st = await lstat(file);
    if (!st.isFile()) throw stateError(stateDir, `${file} is not a regular file`);
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (e instanceof BarysafeError) throw e;
    throw stateError(stateDir, `cannot read ${file}: ${errorText(e)}`);
  }
  try {
    const doc = JSON.parse(text) as CursorFile;
    if (doc.format === 'barysafe.verify-cursor/v1' && doc.repositories && typeof doc.repositories === 'object')
      return doc;
  } catch {
    // fall through: a damaged cursor only costs a restart of the cycle
  }
  return undefined;
}

/** The state directory is barysafe's own: created 0700, and never a symlink someone else placed. */
async function ensureStateDir(dir: string): Promise<void> {
  try {
    const st = await lstat(dir);
    if (st.isSymbolicLink() || !st.isDirectory())
      throw stateError(dir, `${dir} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}`);
    return;
  } catch (e) {
    if (e instanceof BarysafeError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw stateError(dir, `cannot use ${dir}: ${errorText(e)}`);
  }
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw stateError(dir, `cannot create the state directory ${dir}: ${errorText(e)}`);
  }
}

function stateError(dir: string, message: string): BarysafeError {
  return new BarysafeError('state', message, {
    exitCode: ExitCode.USAGE,
    hint: `set [state] dir in barysafe.toml to a directory barysafe may write (now ${dir})`,
  });
}
