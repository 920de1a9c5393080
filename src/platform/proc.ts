import { readdir, readFile, readlink } from 'node:fs/promises';

/**
 * What Linux's /proc says of one process: its command line, working directory and environment.
 * `proc` is the procfs to read (tests point it at a tree holding only the processes they started).
 * cwd and environ are readable only by the process's owner and root; callers report why not.
 */

/** The pids /proc lists (its numeric entries). Empty where there is no /proc. */
export async function listPids(proc = '/proc'): Promise<number[]> {
  try {
    return (await readdir(proc))
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      .sort((a, b) => a - b);
  } catch {
    return [];
  }
}

/** argv as the process was started (/proc/<pid>/cmdline: NUL-separated); [] for a kernel thread. */
export async function readCmdline(pid: number, proc = '/proc'): Promise<string[]> {
  const text = await readFile(`${proc}/${pid}/cmdline`, 'utf8');
  return text.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
}

export async function readCwd(pid: number, proc = '/proc'): Promise<string> {
  return readlink(`${proc}/${pid}/cwd`);
}

/** The environment as it was at exec (/proc/<pid>/environ: NUL-separated KEY=VALUE). */
export async function readEnviron(pid: number, proc = '/proc'): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const entry of (await readFile(`${proc}/${pid}/environ`, 'utf8')).split('\0')) {
    const i = entry.indexOf('=');
    if (i > 0) env[entry.slice(0, i)] = entry.slice(i + 1);
  }
  return env;
}
