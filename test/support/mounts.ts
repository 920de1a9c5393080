// Real small file systems for tests of what a full or read-only disk does: a tmpfs mounted on a
// directory (the tests run as root), read-only after `fill` put what it needs there. Unmounted
// by unmountAll(), which every test that mounts calls in an `after` hook (it also runs on failure).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const mounted: string[] = [];

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** Whether this process may mount a tmpfs (root, outside a container that forbids it). */
export function canMountTmpfs(): boolean {
  const d = mkdtempSync(path.join(os.tmpdir(), 'barysafe-mount-'));
  try {
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', d]).status !== 0) return false;
    spawnSync('umount', [d]);
    return true;
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

/** Mounts a tmpfs of `size` (e.g. "2m") on `dir`; with `readOnly`, remounts it read-only after `fill`. */
export async function mountTmpfs(
  dir: string,
  opts: { size: string; readOnly?: boolean; fill?: (dir: string) => void | Promise<void> },
): Promise<string> {
  mkdirSync(dir, { recursive: true });
  sh('mount', ['-t', 'tmpfs', '-o', `size=${opts.size},mode=0755`, 'tmpfs', dir]);
  mounted.push(dir);
  await opts.fill?.(dir);
  if (opts.readOnly) sh('mount', ['-o', 'remount,ro', dir]);
  return dir;
}

/** Unmounts everything mountTmpfs mounted, newest first (lazily: a process still inside cannot keep it). */
export function unmountAll(): void {
  for (let d = mounted.pop(); d !== undefined; d = mounted.pop()) spawnSync('umount', ['-l', d]);
}
