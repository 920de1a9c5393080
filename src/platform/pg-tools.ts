import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

/** Where PostgreSQL's client and server programs are, and how credentials reach them. */

/** The password goes to child processes through PGPASSWORD, never on a command line others can read in ps. */
export function splitPassword(url: string): { url: string; password?: string } {
  const u = new URL(url);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.password = '';
  return { url: u.toString(), password };
}

export function pgTool(binDir: string | undefined, name: string): string {
  return binDir ? path.join(binDir, name) : name;
}

/** The newest /usr/lib/postgresql/<v>/bin (Debian), else the directory of initdb on PATH. */
export async function findPgServerBinDir(): Promise<string | undefined> {
  const base = '/usr/lib/postgresql';
  const versions = (await readdir(base).catch(() => [] as string[]))
    .filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(path.join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  if (versions[0]) return path.join(base, versions[0], 'bin');
  return (process.env.PATH ?? '').split(path.delimiter).find((d) => d && existsSync(path.join(d, 'initdb')));
}
