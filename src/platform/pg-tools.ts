import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { BarysafeError, ExitCode } from '../errors.js';
import { createExclusive } from './safe-fs.js';

/** Where PostgreSQL's client and server programs are, and how credentials reach them. */

/**
 * libpq connection parameters that are secrets. In a URL they would reach pg_dump/pg_restore's
 * command line, which every local user can read in ps; they go to the child another way.
 */
const SECRET_PARAMS = ['password', 'sslpassword'] as const;

/** Whether a PostgreSQL URL carries a secret (userinfo password or a secret query parameter). */
export function urlCarriesPassword(url: string): boolean {
  try {
    const u = new URL(url);
    return !!u.password || SECRET_PARAMS.some((p) => u.searchParams.has(p));
  } catch {
    return /:[^/@]*@|[?&](ssl)?password=/i.test(url);
  }
}

/** How a PostgreSQL client program gets its connection: a URL without secrets plus environment. */
export interface ChildCredentials {
  url: string;
  env: Record<string, string>;
  /** Removes the 0600 service file, if one was written. */
  cleanup(): Promise<void>;
}

/**
 * Moves every secret off the URL a PostgreSQL program gets on its command line: the password
 * (userinfo or ?password=) goes through PGPASSWORD (a process's environment is readable only by
 * its owner and root), ?sslpassword= through a 0600 libpq service file in `privateDir`.
 */
export async function credentialsForChild(url: string, privateDir?: string): Promise<ChildCredentials> {
  const u = new URL(url);
  const env: Record<string, string> = {};
  const password = u.password ? decodeURIComponent(u.password) : (u.searchParams.get('password') ?? undefined);
  u.password = '';
  u.searchParams.delete('password');
  if (password !== undefined) env.PGPASSWORD = password;
  const sslpassword = u.searchParams.get('sslpassword');
  u.searchParams.delete('sslpassword');
  let serviceFile: string | undefined;
  if (sslpassword !== null) {
    if (!privateDir || /[\r\n]/.test(sslpassword))
      throw new Error('sslpassword needs a private temp directory for its service file');
    serviceFile = path.join(privateDir, `pg_service-${randomBytes(6).toString('hex')}.conf`);
    const fh = await createExclusive(serviceFile, 0o600);
    try {
      await fh.writeFile(`[barysafe]\nsslpassword=${sslpassword}\n`);
    } finally {
      await fh.close();
    }
    env.PGSERVICEFILE = serviceFile;
    env.PGSERVICE = 'barysafe';
  }
  const bare = u.search === '?' ? u.toString().replace(/\?$/, '') : u.toString();
  return {
    url: bare,
    env,
    cleanup: async () => {
      if (serviceFile) await rm(serviceFile, { force: true });
    },
  };
}

/** A password from a file (its first line; the file should be 0600). */
export async function readPasswordFile(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split(/\r?\n/)[0] ?? '';
  } catch (e) {
    throw new BarysafeError(
      'postgres',
      `cannot read the password file ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      {
        exitCode: ExitCode.USAGE,
      },
    );
  }
}

/** A URL with the password set (for in-process clients), from a file or nothing. */
export function withPassword(url: string, password: string | undefined): string {
  if (password === undefined) return url;
  const u = new URL(url);
  u.password = encodeURIComponent(password);
  return u.toString();
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
