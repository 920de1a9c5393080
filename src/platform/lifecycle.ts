import os from 'node:os';

/**
 * The one owner of process exit and signals. Library code registers synchronous clean-ups (wipe a
 * plaintext temp dir, kill a scratch instance's process group) with onExit and watches
 * `shutdownSignal` for long work; only cli/main.ts installs the signal handlers, so no library module
 * calls process.exit or hooks signals itself.
 */

type Cleanup = () => void;
const cleanups = new Set<Cleanup>();
const controller = new AbortController();
let exitHooked = false;
let signalsInstalled = false;

/** Aborted when the process was asked to stop (SIGINT, SIGTERM, SIGHUP); its reason is the signal name. */
export const shutdownSignal: AbortSignal = controller.signal;

/** Runs `fn` once when the process exits, however it exits (also after a signal). Returns an unregister function. */
export function onExit(fn: Cleanup): () => void {
  cleanups.add(fn);
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', runExitHooks);
  }
  return () => cleanups.delete(fn);
}

/** Runs every registered clean-up now, newest first; each runs at most once. */
export function runExitHooks(): void {
  for (const fn of [...cleanups].reverse()) {
    cleanups.delete(fn);
    try {
      fn();
    } catch {
      /* a clean-up must not stop the others */
    }
  }
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** The shell's convention: 128 + the signal's number (SIGINT 130, SIGTERM 143, SIGHUP 129). */
export function signalExitCode(sig: NodeJS.Signals): number {
  return 128 + (os.constants.signals[sig] ?? 15);
}

/** How long a graceful clean-up (removing a backup's partial objects) may take after a signal. */
const GRACE_MS = 30_000;
let holders = 0;
let pending: NodeJS.Signals | undefined;
const notices: string[] = [];

/**
 * Says what an interruption now stops, for the one line printed when a signal ends the process
 * (e.g. "restore of snapshot X stopped; nothing was written to /srv/restore"). Returns an
 * unregister function; the newest notice is printed.
 */
export function setInterruptNotice(text: string): () => void {
  notices.push(text);
  return () => {
    const i = notices.lastIndexOf(text);
    if (i >= 0) notices.splice(i, 1);
  };
}

/**
 * Lets work that watches `shutdownSignal` clean up before a signal ends the process (a backup
 * deletes its partial objects and releases the repository lock). While held, a signal aborts
 * `shutdownSignal` and the process exits when the last holder releases — or after GRACE_MS, or at
 * a second signal, whichever comes first. The holder prints its own line about what it stopped.
 */
export function holdSignalExit(): () => void {
  holders++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    holders--;
    if (pending && holders === 0) exitForSignal(pending, false);
  };
}

function exitForSignal(sig: NodeJS.Signals, announce: boolean): never {
  if (announce) {
    const notice = notices[notices.length - 1];
    process.stderr.write(`barysafe: interrupted by ${sig}${notice ? `: ${notice}` : ''}\n`);
  }
  runExitHooks();
  process.exit(signalExitCode(sig));
}

type StopHandler = (sig: NodeJS.Signals) => void;
let stopHandler: StopHandler | undefined;
let signalsSeen = 0;

/**
 * A long-running command (the agent) that wants to stop gracefully: while a handler is set, the
 * first signal calls it instead of exiting (it stops starting work and lets running work finish
 * within its own bound); any further signal is handled as without a handler (abort, let holders
 * clean up, exit). Returns an unregister function.
 */
export function onStopRequest(fn: StopHandler): () => void {
  stopHandler = fn;
  return () => {
    if (stopHandler === fn) stopHandler = undefined;
  };
}

/**
 * Installed once by the CLI: a signal aborts `shutdownSignal`; unless work holds the exit (see
 * holdSignalExit), the clean-ups run at once, one line says what was interrupted, and the
 * process exits with the signal's code. The first signal goes to the onStopRequest handler when
 * there is one.
 */
export function installSignalHandlers(): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  for (const sig of SIGNALS) {
    // process.on, not once: a second signal must find a handler too, or Node's default would kill
    // the process without running the clean-ups.
    process.on(sig, () => {
      signalsSeen++;
      if (signalsSeen === 1 && stopHandler) {
        stopHandler(sig);
        return;
      }
      if (pending) exitForSignal(pending, true); // a second signal: no more waiting
      controller.abort(sig);
      if (holders === 0) exitForSignal(sig, true);
      pending = sig;
      setTimeout(() => exitForSignal(sig, true), GRACE_MS).unref();
    });
  }
}

/** Whether a process with this pid exists (EPERM: it exists, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
