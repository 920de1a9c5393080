import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Plaintext never lingers: temp files live in a 0700 directory named after our pid, removed on
 * success, failure and signal; directories left by a crashed run (dead pid) are removed at the
 * next start.
 */
const PREFIX = 'run-';
const live = new Set<string>();
let hooked = false;

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
  hookSignals();
  return {
    dir,
    cleanup: async () => {
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
    if (pid === process.pid || isAlive(pid)) continue;
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

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function hookSignals(): void {
  if (hooked) return;
  hooked = true;
  const wipe = () => {
    for (const d of live) rmSync(d, { recursive: true, force: true });
    live.clear();
  };
  process.once('exit', wipe);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      wipe();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}
