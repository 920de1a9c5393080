import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

/**
 * Runs one command and measures its wall time and peak resident set size. The peak is the
 * kernel's own high-water mark (VmHWM in /proc/<pid>/status), polled every `pollMs` until the
 * process exits: VmHWM only grows, so a poll can miss at most the growth of the last interval
 * before exit. Direct children (pg_dump under barysafe) are polled too and reported apart.
 * No GNU time needed; on a system without /proc the RSS figures are null.
 */
export interface Measured {
  code: number | null;
  signal: NodeJS.Signals | null;
  wallMs: number;
  /** Peak RSS of the process itself, KiB (max of VmHWM, VmRSS seen). */
  peakRssKiB: number | null;
  /** Largest peak RSS of any direct child, KiB (e.g. pg_dump spawned by barysafe). */
  childPeakRssKiB: number | null;
  /**
   * CPU seconds (user + system) of the process and all its descendants, each as last seen by a
   * poll (so up to one interval short). On a shared machine this is steadier than wall time.
   */
  cpuSeconds: number | null;
  /** 1-minute load average before the run: anything above the CPU count means contention. */
  loadBefore: number;
  /** RSS samples of the process: [ms since start, KiB]. Kept sparse (every 250 ms). */
  samples: Array<[number, number]>;
  stdout: string;
  stderr: string;
}

function statusKiB(pid: number): { hwm: number; rss: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const hwm = /^VmHWM:\s+(\d+)\s+kB/m.exec(text);
  const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  if (!hwm && !rss) return null; // zombie: its memory is already released
  return { hwm: Number(hwm?.[1] ?? 0), rss: Number(rss?.[1] ?? 0) };
}

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux

function cpuTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
  } catch {
    return null;
  }
}

function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of childrenOf(p)) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function runMeasured(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; pollMs?: number } = {},
): Promise<Measured> {
  const pollMs = opts.pollMs ?? 20;
  // Every measured command starts with no dirty pages left by what ran before it (the generated
  // database, the previous command's output): their writeback would otherwise compete with the
  // command's own I/O, and most with barysafe's, which fsyncs what it writes. Not timed.
  spawnSync('sync', { stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    const loadBefore = os.loadavg()[0]!;
    const ticks = new Map<number, number>();
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-200_000)));
    let peak: number | null = null;
    let childPeak: number | null = null;
    const samples: Array<[number, number]> = [];
    let lastSample = -Infinity;
    const poll = () => {
      const pid = child.pid;
      if (pid === undefined) return;
      const s = statusKiB(pid);
      if (s) {
        peak = Math.max(peak ?? 0, s.hwm, s.rss);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (ms - lastSample >= 250) {
          samples.push([Math.round(ms), s.rss]);
          lastSample = ms;
        }
      }
      const own = cpuTicks(pid);
      if (own !== null) ticks.set(pid, own);
      for (const c of childrenOf(pid)) {
        const cs = statusKiB(c);
        if (cs) childPeak = Math.max(childPeak ?? 0, cs.hwm, cs.rss);
      }
      for (const d of descendantsOf(pid)) {
        const t = cpuTicks(d);
        if (t !== null) ticks.set(d, t);
      }
    };
    poll();
    const timer = setInterval(poll, pollMs);
    child.once('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearInterval(timer);
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const cpuSeconds = ticks.size ? [...ticks.values()].reduce((a, b) => a + b, 0) / CLK_TCK : null;
      resolve({
        code,
        signal,
        wallMs,
        peakRssKiB: peak,
        childPeakRssKiB: childPeak,
        cpuSeconds,
        loadBefore,
        samples,
        stdout,
        stderr,
      });
    });
  });
}

/**
 * BENCH_DROP_CACHES=1: writes back and drops the page cache, before the first measurement and
 * again before each SQLite case. On some VMs (a Firecracker guest here) the same backup took twice
 * the system time while 15-23 GB of page cache were held as right after dropping it, with no change
 * in the code: a case run after others that filled the cache measured that state, not the code (the
 * blobs backup 1.15x in one run and 1.48x in the next, its two slow repetitions with 0.4 s more
 * system time). `warm`, a file the case reads (its database), is then read once, so that no
 * measured run reads it from the disk. It needs root.
 */
export function dropPageCache(warm?: string): void {
  spawnSync('sync', { stdio: 'ignore' });
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
  } catch (e) {
    throw new Error(
      `BENCH_DROP_CACHES=1 needs root: cannot write /proc/sys/vm/drop_caches (${(e as NodeJS.ErrnoException).code ?? String(e)}); run the bench as root or without it`,
    );
  }
  if (warm) spawnSync('cat', [warm], { stdio: ['ignore', 'ignore', 'inherit'] });
}
