// Makes a directory tree unwritable even for root (the tests run as root, which ignores modes):
// the immutable attribute (chattr +i) on every directory and file; undone by writable().
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function canMakeImmutable(): boolean {
  const d = mkdtempSync(path.join(os.tmpdir(), 'barysafe-chattr-'));
  try {
    const ok = spawnSync('chattr', ['+i', d]).status === 0;
    spawnSync('chattr', ['-i', d]);
    return ok;
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

function chattr(flag: string, dir: string): void {
  const r = spawnSync('chattr', ['-R', flag, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`chattr -R ${flag} ${dir}: ${r.stderr}`);
}

export const unwritable = (dir: string) => chattr('+i', dir);
export const writable = (dir: string) => chattr('-i', dir);
