import { randomBytes } from 'node:crypto';
import { runToEnd, startProcess, type RunningProcess } from '../../platform/child-process.js';
import { serverArgs, syncUsersArgs, type LaunchSpec, type Launcher } from './launcher.js';

/**
 * drill.image: the Barycenter container image (ENTRYPOINT is the binary), run with the
 * host network so "127.0.0.1:<port>" means the host's loopback (and a scratch PostgreSQL on the
 * host's loopback is reachable). The scratch directory is mounted at the same path, so every path
 * in the overrides is valid inside. Env values are passed by name (`-e KEY`), never as `KEY=VALUE`
 * on a command line `ps` can show. The container runs as barysafe's uid: the scratch files are 0600.
 */
export function dockerLauncher(image: string, docker = 'docker'): Launcher {
  const runArgs = (spec: LaunchSpec, name: string, args: string[]) => {
    const uid = typeof process.getuid === 'function' ? `${process.getuid()}:${process.getgid!()}` : undefined;
    const envNames = Object.keys(spec.env).filter(
      (k) => k.startsWith('BARYCENTER') || k === 'RUST_LOG' || k === 'NO_COLOR',
    );
    return [
      'run',
      '--rm',
      '--name',
      name,
      '--network',
      'host',
      ...(uid ? ['--user', uid] : []),
      '-v',
      `${spec.layout.dir}:${spec.layout.dir}`,
      '-w',
      spec.layout.dir,
      ...envNames.flatMap((k) => ['-e', k]),
      image,
      ...args,
    ];
  };
  const name = () => `barysafe-drill-${randomBytes(4).toString('hex')}`;
  return {
    kind: 'docker',
    description: `docker image ${image}`,
    syncUsers: async (spec, timeoutMs) => {
      const n = name();
      const r = await runToEnd(docker, runArgs(spec, n, syncUsersArgs(spec.layout)), {
        cwd: spec.layout.dir,
        env: spec.env,
        timeoutMs,
      });
      // Killing the docker CLI on timeout does not always stop the container (--rm then never fires).
      if (r.timedOut) await removeContainer(docker, n, spec);
      return r;
    },
    start: async (spec) => {
      const n = name();
      const p = startProcess(docker, runArgs(spec, n, serverArgs(spec.layout)), {
        cwd: spec.layout.dir,
        env: spec.env,
      });
      return withContainerRemoval(p, n, docker, spec);
    },
  };
}

/** Stopping the docker CLI does not always stop the container: remove it by name as well. */
function withContainerRemoval(p: RunningProcess, name: string, docker: string, spec: LaunchSpec): RunningProcess {
  return {
    ...p,
    stop: async (graceMs) => {
      await removeContainer(docker, name, spec);
      return p.stop(graceMs);
    },
  };
}

async function removeContainer(docker: string, name: string, spec: LaunchSpec): Promise<void> {
  await runToEnd(docker, ['rm', '-f', name], { cwd: spec.layout.dir, env: spec.env, timeoutMs: 30_000 });
}

/** Whether a Docker engine answers (the CLI alone is not enough). */
export async function dockerAnswers(docker = 'docker'): Promise<boolean> {
  const r = await runToEnd(docker, ['version', '--format', '{{.Server.Version}}'], {
    cwd: process.cwd(),
    env: process.env,
    timeoutMs: 10_000,
  });
  return r.code === 0 && !r.timedOut;
}
