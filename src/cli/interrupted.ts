import { ExitCode, errorText } from '../errors.js';
import { shutdownSignal } from '../platform/lifecycle.js';

/**
 * What backup and the drill say when SIGINT/SIGTERM aborted their work (through shutdownSignal):
 * one line, and exit INTERRUPTED (holdSignalExit's release then exits with the signal's own code).
 * A failure the signal did not cause is rethrown unchanged.
 */
export function reportInterrupted(e: unknown, stopProgress: () => void): number {
  if (!shutdownSignal.aborted) throw e;
  stopProgress();
  process.stderr.write(`barysafe: interrupted by ${String(shutdownSignal.reason)}: ${errorText(e)}\n`);
  return ExitCode.INTERRUPTED;
}

/** A signal that came after the work had completed (too late to stop it): says what was kept. */
export function reportLateInterrupt(completed: string): void {
  if (shutdownSignal.aborted)
    process.stderr.write(`barysafe: interrupted by ${String(shutdownSignal.reason)} after ${completed}\n`);
}
