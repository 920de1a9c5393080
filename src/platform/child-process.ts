import { spawn, type ChildProcess } from 'node:child_process';
import { redactText } from '../redact.js';
import { onExit } from './lifecycle.js';

/**
 * Child processes of a drill (the scratch Barycenter, sync-users, docker, pg_ctl). Each runs in
 * its own process group so a wrapper (sh, sudo, docker CLI) and what it starts die together, and
 * a group still alive when barysafe exits is killed on the way out: no scratch instance outlives
 * its drill.
 */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the program could not be started at all (ENOENT, EACCES). */
  spawnError?: string;
}

export interface RunningProcess {
  readonly pid: number | undefined;
  readonly exited: Promise<Exit>;
  running(): boolean;
  /** The last lines of stdout+stderr, ANSI-stripped and redacted. */
  logTail(lines?: number): string;
  /** SIGTERM to the group, SIGKILL after graceMs; resolves once it has exited. */
  stop(graceMs?: number): Promise<Exit>;
}

const LOG_LIMIT = 64 * 1024;

export function startProcess(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; onSpawn?: (pid: number) => void },
): RunningProcess {
  let log = '';
  let done: Exit | undefined;
  /** The leader has exited (its output may still be arriving: `done` waits for that). */
  let leaderExited = false;
  let child: ChildProcess;
  const exited = new Promise<Exit>((resolve) => {
    child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const append = (d: Buffer) => {
      log = (log + d.toString('utf8')).slice(-LOG_LIMIT);
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    child.once('error', (e) => {
      done = { code: null, signal: null, spawnError: (e as NodeJS.ErrnoException).code ?? e.message };
      resolve(done);
    });
    child.once('exit', () => {
      leaderExited = true;
      // Nothing of its group outlives the leader: a wrapper's forked child would otherwise run on,
      // unwatched, once the leader that barysafe knows of has gone.
      signalGroup(pid, 'SIGKILL');
      // A process that left the group (setsid) may still hold our pipes, and 'close' waits for
      // them: give its output a moment, then stop waiting. Killing it is the sandbox's sweep.
      setTimeout(() => {
        child.stdout!.destroy();
        child.stderr!.destroy();
      }, 1000).unref();
    });
    child.once('close', (code, signal) => {
      unregister();
      done ??= { code, signal };
      resolve(done);
    });
  });
  const pid = child!.pid;
  if (pid) opts.onSpawn?.(pid);
  // A group still alive when barysafe exits is killed on the way out.
  const unregister = onExit(() => signalGroup(pid, 'SIGKILL'));
  return {
    pid,
    exited,
    // The leader is what barysafe runs: once it has gone, the instance has too, even if a process
    // it forked out of its group still answers (that one is the sandbox's to kill, not to test).
    running: () => !leaderExited && done === undefined,
    logTail: (lines = 20) => tail(log, lines),
    stop: async (graceMs = 5000) => {
      if (done) return done;
      signalGroup(pid, 'SIGTERM');
      const t = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(t);
      unregister();
      return r;
    },
  };
}

/**
 * Runs a program to completion with a time limit; the output is kept for messages. An aborted
 * `signal` (an interrupt) stops it as the time limit does, and is reported as `aborted`.
 */
export async function runToEnd(
  cmd: string,
  args: string[],
  opts: {
    cwd: string;
    env: NodeJS.ProcessEnv;
    timeoutMs: number;
    onSpawn?: (pid: number) => void;
    signal?: AbortSignal;
  },
): Promise<Exit & { output: string; timedOut: boolean; aborted?: boolean }> {
  const p = startProcess(cmd, args, opts);
  let timedOut = false;
  let aborted = false;
  const t = setTimeout(() => {
    timedOut = true;
    void p.stop(1000);
  }, opts.timeoutMs);
  const onAbort = () => {
    aborted = true;
    void p.stop(1000);
  };
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
  const r = await p.exited;
  clearTimeout(t);
  opts.signal?.removeEventListener('abort', onAbort);
  return { ...r, output: p.logTail(40), timedOut, ...(aborted ? { aborted } : {}) };
}

/**
 * Whether an exit means the program could not be run at all, as opposed to a program that ran and
 * failed: a spawn error (ENOENT, EACCES), or the shell's 126 (found, not executable) and 127 (not
 * found), which sh, env, nsenter and setpriv use alike.
 */
export function couldNotRun(e: Exit): boolean {
  return e.spawnError !== undefined || e.code === 126 || e.code === 127;
}

/** Describes how a process ended, for messages. */
export function describeExit(e: Exit): string {
  if (e.spawnError) return `could not be started (${e.spawnError})`;
  if (e.signal) return `was killed by ${e.signal}`;
  return `exited with code ${e.code}`;
}

export function tail(text: string, lines: number): string {
  // eslint-disable-next-line no-control-regex
  const plain = text.replace(/\x1b\[[0-9;]*m/g, '');
  return redactText(plain.trimEnd().split('\n').slice(-lines).join('\n'));
}

function signalGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, sig);
  } catch {
    /* already gone */
  }
}
