import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { onExit, processAlive } from './lifecycle.js';

/**
 * Plaintext never lingers: temp files live in a 0700 directory named after our pid, removed on
 * success, failure and signal; directories left by a crashed run (dead pid) are removed at the
 * next start.
 */
const PREFIX = 'run-';
const live = new Set<string>();

export function tempRoot(base?: string): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return path.join(base ?? os.tmpdir(), `barysafe-${uid}`);
}

export async function makePrivateTempDir(base?: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const root = tempRoot(base);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  removeStale(root);
  const dir = await mkdtemp(path.join(root, `${PREFIX}${process.pid}-`));
  live.add(dir);
  const unregister = onExit(() => {
    live.delete(dir);
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    cleanup: async () => {
      unregister();
      live.delete(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Removes run directories whose owning process is gone. */
export function removeStale(root: string): string[] {
  const removed: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(root);
  } catch {
    return removed;
  }
  for (const name of entries) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    const full = path.join(root, name);
    try {
      if (statSync(full).isDirectory()) {
        rmSync(full, { recursive: true, force: true });
        removed.push(full);
      }
    } catch {
      /* raced with another cleaner */
    }
  }
  return removed;
}
