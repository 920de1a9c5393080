import type { Logger } from '../log.js';
import type { BarysafeConfig } from '../config/schema.js';
import { holdSignalExit, shutdownSignal } from '../platform/lifecycle.js';
import type { Storage } from '../repository/storage.js';
import { runDrill } from '../verify/drill.js';
import { STEP_NAMES } from '../verify/types.js';
import { printJson } from './common.js';
import { reportInterrupted, reportLateInterrupt } from './interrupted.js';
import { drillJson, drillText } from './drill-output.js';
import { phaseReporter } from './progress.js';

/** `restore --verify`: runs the drill (src/verify/), prints its result and returns its exit code. */
export async function runDrillCommand(
  config: BarysafeConfig,
  o: {
    ref: string;
    identityFile?: string;
    allowRollback?: boolean;
    json: boolean;
    logger: Logger;
    storage: Storage;
  },
): Promise<number> {
  // Phases on stderr only (stdout is the result, JSON with --json): the launcher preflight and each step.
  const progress = phaseReporter(STEP_NAMES.length + 1);
  // A signal stops the drill instead of ending the process at once: teardown stops the scratch
  // instance, drops the scratch database and removes the scratch directory first; then one line
  // says so and the process exits with the signal's code.
  const releaseExit = holdSignalExit();
  try {
    let result;
    try {
      result = await runDrill(config, {
        ref: o.ref,
        logger: o.logger,
        storage: o.storage,
        onPhase: progress.onPhase,
        signal: shutdownSignal,
        ...(o.allowRollback ? { allowRollback: true } : {}),
        ...(o.identityFile ? { identityFile: o.identityFile } : {}),
      });
    } catch (e) {
      return reportInterrupted(e, progress.stop);
    }
    progress.stop();
    if (o.json) printJson(drillJson(result));
    else process.stdout.write(drillText(result));
    reportLateInterrupt('the drill had finished and torn down');
    return result.exit_code;
  } finally {
    progress.stop();
    releaseExit();
  }
}
