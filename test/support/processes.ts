import { readFileSync } from 'node:fs';

/**
 * Whether a process is running: a zombie (killed, not yet reaped by the init that adopted it —
 * this machine's does not reap) counts as gone, which kill(pid, 0) would not tell.
 */
export function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
