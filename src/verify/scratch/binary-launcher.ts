import { runToEnd, startProcess } from '../../platform/child-process.js';
import { serverArgs, syncUsersArgs, type Launcher } from './launcher.js';

/** drill.barycenter_bin: the real binary, run directly with the scratch directory as its working directory. */
export function binaryLauncher(bin: string): Launcher {
  return {
    kind: 'binary',
    description: `binary ${bin}`,
    syncUsers: (spec, timeoutMs) =>
      runToEnd(bin, syncUsersArgs(spec.layout), { cwd: spec.layout.dir, env: spec.env, timeoutMs }),
    start: async (spec) => startProcess(bin, serverArgs(spec.layout), { cwd: spec.layout.dir, env: spec.env }),
  };
}
