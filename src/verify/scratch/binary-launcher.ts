import { sha256File } from '../../barycenter/identity.js';
import { runToEnd, startProcess } from '../../platform/child-process.js';
import {
  launcherFailed,
  probeEnv,
  probeFailure,
  serverArgs,
  syncUsersArgs,
  wrapped,
  type Launcher,
} from './launcher.js';

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
    syncUsers: (spec, timeoutMs) =>
      runToEnd(...wrapped(spec, bin, syncUsersArgs(spec.layout)), {
        cwd: spec.layout.dir,
        env: spec.env,
        timeoutMs,
        onSpawn: spec.onSpawn,
        signal: spec.signal,
      }),
    start: async (spec) =>
      startProcess(...wrapped(spec, bin, serverArgs(spec.layout)), {
        cwd: spec.layout.dir,
        env: spec.env,
        onSpawn: spec.onSpawn,
      }),
  };
}
