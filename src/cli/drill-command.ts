import type { Logger } from 'pino';
import type { BarysafeConfig } from '../config/schema.js';
import type { Storage } from '../repository/storage.js';
import { BarysafeError, ExitCode } from '../errors.js';

/** Bridges `restore --verify` to the drill (src/verify/); replaced when the drill lands. */
export async function runDrillCommand(_config: BarysafeConfig, _o: { ref: string; identityFile?: string; json: boolean; logger: Logger; storage: Storage }): Promise<number> {
  throw new BarysafeError('drill', 'restore --verify is not available in this build', { exitCode: ExitCode.USAGE });
}
