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

/**
 * Installed once by the CLI: a signal aborts `shutdownSignal`; unless work holds the exit (see
 * holdSignalExit), the clean-ups run at once, one line says what was interrupted, and the
 * process exits with the signal's code.
 */
export function installSignalHandlers(): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  for (const sig of SIGNALS) {
    process.on(sig, () => {
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
