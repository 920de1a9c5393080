import type { Logger } from 'pino';
import type { BarysafeConfig } from '../config/schema.js';
import type { Storage } from '../repository/storage.js';
import { runDrill } from '../verify/drill.js';
import { printJson } from './common.js';
import { drillJson, drillText } from './drill-output.js';

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
  const result = await runDrill(config, {
    ref: o.ref,
    logger: o.logger,
    storage: o.storage,
    ...(o.allowRollback ? { allowRollback: true } : {}),
    ...(o.identityFile ? { identityFile: o.identityFile } : {}),
  });
  if (o.json) printJson(drillJson(result));
  else process.stdout.write(drillText(result));
  return result.exit_code;
}
