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

/**
 * Installed once by the CLI: a signal aborts `shutdownSignal`, runs the clean-ups and exits with the
 * signal's code.
 */
export function installSignalHandlers(): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  for (const sig of SIGNALS) {
    process.once(sig, () => {
      controller.abort(sig);
      runExitHooks();
      process.exit(signalExitCode(sig));
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
