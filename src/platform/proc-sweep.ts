import { readdirSync, readlinkSync } from 'node:fs';

/**
 * SIGKILLs every process (but this one) that `belongs` says is part of something being torn down,
 * judged by one of its /proc/<pid>/ links (cwd, ns/net), until none is left: a process forking as
 * it dies shows up in the next round. Only processes whose links we may read are seen — ours, or
 * all of them as root. Returns how many were killed.
 *
 * Process groups are not enough for this: a wrapper's forked child whose leader is gone, or a
 * daemon that called setsid, has left the group barysafe knows of.
 */
export function killProcessesWhere(link: 'cwd' | 'ns/net', belongs: (target: string) => boolean): number {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let killed = 0;
  for (let round = 0; round < 50; round++) {
    let found = 0;
    let names: string[];
    try {
      names = readdirSync('/proc');
    } catch {
      return killed; // no procfs
    }
    for (const name of names) {
      if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
      let target: string;
      try {
        target = readlinkSync(`/proc/${name}/${link}`);
      } catch {
        continue; // gone, a zombie, or not ours to read
      }
      if (!belongs(target)) continue;
      found++;
      try {
        process.kill(Number(name), 'SIGKILL');
        killed++;
      } catch {
        /* gone */
      }
    }
    if (found === 0) return killed;
    Atomics.wait(pause, 0, 0, 10); // let the killed die before looking again
  }
  return killed;
}

/** Whether a /proc cwd link points at `dir` or below (a removed directory reads `<path> (deleted)`). */
export function cwdWithin(dir: string): (cwd: string) => boolean {
  return (cwd) => {
    const where = cwd.replace(/ \(deleted\)$/, '');
    return where === dir || where.startsWith(dir + '/');
  };
}
