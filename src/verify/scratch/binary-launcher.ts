import { sha256File } from '../../barycenter/identity.js';
import { runToEnd } from '../../platform/child-process.js';
import { launcherFailed, probeEnv, probeFailure, localProcessPhases, type Launcher } from './launcher.js';

/** drill.barycenter_bin: the real binary, run directly with the scratch directory as its working directory. */
export function binaryLauncher(bin: string, source = 'drill.barycenter_bin'): Launcher {
  const description = `binary ${bin}`;
  return {
    kind: 'binary',
    description,
    prepare: async ({ cwd, timeoutMs }) => {
      const probe = await runToEnd(bin, ['--version'], { cwd, env: probeEnv(), timeoutMs });
      const failure = probeFailure(probe, timeoutMs);
      if (failure) throw launcherFailed(description, failure, probe.output);
      return { identity: { kind: 'binary', path: bin, sha256: await sha256File(bin), source } };
    },
    ...localProcessPhases((_spec, args) => [bin, args]),
  };
}
