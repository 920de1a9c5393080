import { execFile } from 'node:child_process';
import { readFile, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Lookup } from '../types.js';

/**
 * Files as the kernel reports them: real modes and owners from stat(2), the account databases
 * (passwd and group through NSS) and the mount table (/proc/<pid>/mountinfo). No ACL or capability
 * logic: barysafe judges the classic owner/group/other bits, which is what the checklist asks for.
 */

export interface FileFacts {
  path: string;
  mode: number; // permission bits only (& 0o7777)
  uid: number;
  gid: number;
  isDirectory: boolean;
}

/** stat(2) of a path; the failure reason is short ("does not exist", "permission denied"). */
export async function statFile(p: string): Promise<Lookup<FileFacts>> {
  try {
    const s = await stat(p);
    return {
      ok: true,
      value: { path: p, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, isDirectory: s.isDirectory() },
      source: `file:${p}`,
    };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      ok: false,
      reason: code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'permission denied' : String(code ?? e),
      source: `file:${p}`,
    };
  }
}

export function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

export interface Group {
  name: string;
  gid: number;
  members: string[];
}

/** A user's identity as the kernel would see it after login: uid, primary gid and supplementary gids. */
export interface Identity {
  uid: number;
  gids: number[];
  /** How it was resolved ("passwd entry barycenter", "proc:1234/status"). */
  source: string;
  name?: string;
}

const run = promisify(execFile);
const FILES = { passwd: '/etc/passwd', group: '/etc/group' } as const;

async function readLines(file: string): Promise<string[]> {
  try {
    return (await readFile(file, 'utf8')).split('\n').filter((l) => l && !l.startsWith('#'));
  } catch {
    return [];
  }
}

/**
 * Entries of an account database as NSS resolves them (`getent passwd|group [KEY]`: files, LDAP,
 * SSSD…), because IdP hosts often take service users from a directory that /etc/passwd does not
 * list. Where getent is missing or fails, the local file is read instead. A key is a name or a
 * numeric id; without one, every entry NSS enumerates.
 */
async function accountEntries(db: keyof typeof FILES, key?: string): Promise<string[][]> {
  const split = (lines: string[]) => lines.map((l) => l.split(':'));
  try {
    const { stdout } = await run('getent', key === undefined ? [db] : [db, key], { timeout: 5000 });
    return split(stdout.split('\n').filter(Boolean));
  } catch (e) {
    if ((e as { code?: unknown }).code === 2) return []; // getent: no such key
    const entries = split(await readLines(FILES[db]));
    if (key === undefined) return entries;
    const field = /^\d+$/.test(key) ? 2 : 0; // name:x:ID:…
    return entries.filter((f) => f[field] === key);
  }
}

const groupOf = (f: string[]): Group => ({
  name: f[0]!,
  gid: Number(f[2]),
  members: (f[3] ?? '').split(',').filter(Boolean),
});

export async function identityOfUser(nameOrUid: string): Promise<Identity | undefined> {
  const entry = (await accountEntries('passwd', nameOrUid)).find((f) => f.length >= 4);
  if (!entry)
    return /^\d+$/.test(nameOrUid)
      ? { uid: Number(nameOrUid), gids: [], source: `numeric uid ${nameOrUid}` }
      : undefined;
  const [name, , uid, gid] = entry as [string, string, string, string];
  const supplementary = (await accountEntries('group')).map(groupOf).filter((g) => g.members.includes(name));
  const gids = [Number(gid), ...supplementary.map((g) => g.gid)];
  return { uid: Number(uid), gids: [...new Set(gids)], source: `passwd entry ${name}`, name };
}

export async function gidOfGroup(nameOrGid: string): Promise<number | undefined> {
  if (/^\d+$/.test(nameOrGid)) return Number(nameOrGid);
  const entry = (await accountEntries('group', nameOrGid))[0];
  return entry ? Number(entry[2]) : undefined;
}

export async function nameOfUid(uid: number): Promise<string> {
  return (await accountEntries('passwd', String(uid)))[0]?.[0] ?? String(uid);
}
export async function nameOfGid(gid: number): Promise<string> {
  return (await accountEntries('group', String(gid)))[0]?.[0] ?? String(gid);
}

/** Who besides the service can read a file: world, a foreign group, or a foreign owner. */
export async function readableBeyondService(
  file: string,
  serviceUser: string,
  serviceGroup: string,
): Promise<{ beyond: string[]; mode: string; owner: string; group: string }> {
  const st = await stat(file);
  const [owner, group] = await Promise.all([nameOfUid(st.uid), nameOfGid(st.gid)]);
  const beyond: string[] = [];
  if (st.mode & 0o004) beyond.push('every local user (world-readable)');
  if (st.mode & 0o040 && group !== serviceGroup && group !== 'root' && st.gid !== 0) beyond.push(`group ${group}`);
  if (st.mode & 0o400 && owner !== serviceUser && st.uid !== 0) beyond.push(`owner ${owner}`);
  return { beyond, mode: octal(st.mode & 0o777), owner, group };
}

/** The access an identity gets from the classic permission bits (root bypasses them, as the kernel does). */
export function canWriteDir(f: FileFacts, who: Identity): { writable: boolean; via: string } {
  if (who.uid === 0) return { writable: true, via: 'root (CAP_DAC_OVERRIDE)' };
  // The kernel picks exactly one class: owner, else group, else other.
  if (f.uid === who.uid) return { writable: (f.mode & 0o300) === 0o300, via: 'owner bits' };
  if (who.gids.includes(f.gid)) return { writable: (f.mode & 0o030) === 0o030, via: 'group bits' };
  return { writable: (f.mode & 0o003) === 0o003, via: 'other bits' };
}

export function canWriteFile(f: FileFacts, who: Identity): { writable: boolean; via: string } {
  if (who.uid === 0) return { writable: true, via: 'root (CAP_DAC_OVERRIDE)' };
  if (f.uid === who.uid) return { writable: (f.mode & 0o200) !== 0, via: 'owner bits' };
  if (who.gids.includes(f.gid)) return { writable: (f.mode & 0o020) !== 0, via: 'group bits' };
  return { writable: (f.mode & 0o002) !== 0, via: 'other bits' };
}

/** The deepest existing directory at or above p (a data dir that does not exist yet is created there). */
export async function nearestExisting(p: string): Promise<string> {
  let cur = path.resolve(p);
  for (;;) {
    try {
      await stat(cur);
      return cur;
    } catch {
      const up = path.dirname(cur);
      if (up === cur) return cur;
      cur = up;
    }
  }
}

export interface Mount {
  mountPoint: string;
  fsType: string;
  source: string;
  options: string[];
  superOptions: string[];
}

/** Parses /proc/<pid>/mountinfo (proc(5)); octal escapes such as \040 in paths are decoded. */
export function parseMountinfo(text: string): Mount[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const l = left.split(' ');
    const r = right.split(' ');
    mounts.push({
      mountPoint: unescape(l[4] ?? ''),
      options: (l[5] ?? '').split(','),
      fsType: r[0] ?? '',
      source: unescape(r[1] ?? ''),
      superOptions: (r[2] ?? '').split(','),
    });
  }
  return mounts;
}

export async function readMountinfo(pid: number | 'self'): Promise<Mount[]> {
  return parseMountinfo(await readFile(`/proc/${pid}/mountinfo`, 'utf8'));
}

/** The mount that holds p: the last-mounted entry with the longest mount point prefix. */
export function mountOf(mounts: Mount[], p: string): Mount | undefined {
  let best: Mount | undefined;
  for (const m of mounts) {
    const mp = m.mountPoint;
    const inside = mp === '/' || p === mp || p.startsWith(mp.endsWith('/') ? mp : mp + '/');
    if (inside && (!best || mp.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/** File systems whose content is lost at reboot or container recreation. */
export const VOLATILE_FS = new Set(['tmpfs', 'ramfs', 'overlay', 'aufs', 'devtmpfs', 'proc', 'sysfs']);

export async function freeSpace(
  p: string,
): Promise<{ path: string; freePercent: number; freeBytes: number; totalBytes: number }> {
  const s = await statfs(p);
  const total = s.blocks * s.bsize;
  // bavail: what an unprivileged service can still use (root-reserved blocks excluded).
  const free = s.bavail * s.bsize;
  return { path: p, freeBytes: free, totalBytes: total, freePercent: total > 0 ? (free / total) * 100 : 0 };
}
