import { randomBytes } from 'node:crypto';
import { BarysafeError, ExitCode } from '../../errors.js';
import type { BuildIdentity } from '../../barycenter/identity.js';
import { runToEnd, startProcess, type RunningProcess } from '../../platform/child-process.js';
import { serverArgs, syncUsersArgs, type LaunchSpec, type Launcher } from './launcher.js';

/**
 * What the docker CLI itself needs to find the engine: a remote or rootless engine
 * (DOCKER_HOST), a context, a config directory, TLS. They go to the CLI's environment only; the
 * container gets nothing but the BARYCENTER* variables it is told to take (`-e NAME`).
 */
export const DOCKER_CLIENT_ENV = [
  'DOCKER_HOST',
  'DOCKER_CONTEXT',
  'DOCKER_CONFIG',
  'DOCKER_TLS_VERIFY',
  'DOCKER_CERT_PATH',
];

export function dockerClientEnv(from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', ...DOCKER_CLIENT_ENV]) if (from[k] !== undefined) env[k] = from[k];
  return env;
}

export interface DockerOptions {
  docker?: string;
  /** Append :Z to the scratch mount (SELinux: a private label for the container). */
  selinuxRelabel?: boolean;
  /** Time allowed to pull a missing image (before the drill's clock starts). */
  pullTimeoutMs?: number;
}

type UserMode = { kind: 'uid' } | { kind: 'rootless' } | { kind: 'userns' };

/**
 * drill.image: the Barycenter container image (ENTRYPOINT is the binary), run with the host network
 * so "127.0.0.1:<port>" means the host's loopback (and a scratch PostgreSQL on the host's loopback
 * is reachable). The scratch directory is mounted at the same path, so every path in the overrides
 * is valid inside. Env values are passed by name (`-e KEY`), never as `KEY=VALUE` on a command line
 * `ps` can show. The container must be able to read the 0700 scratch tree: it runs as barysafe's
 * uid, or — on a rootless engine, where the container's root is barysafe's user — as root, or with
 * `--userns=host` where the engine remaps user namespaces.
 */
export function dockerLauncher(image: string, opts: DockerOptions = {}): Launcher {
  const docker = opts.docker ?? 'docker';
  let mode: UserMode = { kind: 'uid' };
  const cliEnv = (spec: LaunchSpec): NodeJS.ProcessEnv => ({ ...spec.env, ...dockerClientEnv() });
  const runArgs = (spec: LaunchSpec, name: string, args: string[]) => {
    const uid = typeof process.getuid === 'function' ? `${process.getuid()}:${process.getgid!()}` : undefined;
    const envNames = Object.keys(spec.env).filter(
      (k) => k.startsWith('BARYCENTER') || k === 'RUST_LOG' || k === 'NO_COLOR',
    );
    const user =
      mode.kind === 'rootless'
        ? ['--user', '0:0']
        : mode.kind === 'userns'
          ? ['--userns', 'host', ...(uid ? ['--user', uid] : [])]
          : uid
            ? ['--user', uid]
            : [];
    return [
      'run',
      '--rm',
      '--name',
      name,
      '--network',
      'host',
      ...user,
      '-v',
      `${spec.layout.dir}:${spec.layout.dir}${opts.selinuxRelabel ? ':Z' : ''}`,
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
    // The image inspect (and pull) is this launcher's probe: a missing image is the launcher's failure.
    prepare: async () => {
      mode = await userMode(docker);
      return { identity: await ensureImage(docker, image, opts.pullTimeoutMs ?? 600_000) };
    },
    syncUsers: async (spec, timeoutMs) => {
      const n = name();
      spec.containers?.adopt(docker, n);
      const r = await runToEnd(docker, runArgs(spec, n, syncUsersArgs(spec.layout)), {
        cwd: spec.layout.dir,
        env: cliEnv(spec),
        timeoutMs,
        onSpawn: spec.onSpawn,
        signal: spec.signal,
      });
      // Killing the docker CLI on timeout does not always stop the container (--rm then never fires).
      if (r.timedOut || r.aborted) await removeContainer(docker, n, spec);
      else spec.containers?.release(n); // it exited, and --rm removed it
      return r;
    },
    start: async (spec) => {
      const n = name();
      spec.containers?.adopt(docker, n);
      const p = startProcess(docker, runArgs(spec, n, serverArgs(spec.layout)), {
        cwd: spec.layout.dir,
        env: cliEnv(spec),
        onSpawn: spec.onSpawn,
      });
      return withContainerRemoval(p, n, docker, spec);
    },
  };
}

/** Rootless engines and user-namespace remapping change what --user means (docker info SecurityOptions). */
async function userMode(docker: string): Promise<UserMode> {
  const r = await runToEnd(docker, ['info', '--format', '{{json .SecurityOptions}}'], {
    cwd: process.cwd(),
    env: dockerClientEnv(),
    timeoutMs: 30_000,
  });
  if (r.code !== 0) return { kind: 'uid' };
  if (/name=rootless/.test(r.output)) return { kind: 'rootless' };
  if (/name=userns/.test(r.output)) return { kind: 'userns' };
  return { kind: 'uid' };
}

/**
 * The image's identity, pulling it first when the engine does not have it: a pull inside
 * sync-users' time limit would read as "Barycenter does not start", and it is not restore time.
 */
async function ensureImage(docker: string, image: string, pullTimeoutMs: number): Promise<BuildIdentity> {
  const env = dockerClientEnv();
  const inspect = () =>
    runToEnd(docker, ['image', 'inspect', '--format', '{{.Id}} {{json .RepoDigests}}', image], {
      cwd: process.cwd(),
      env,
      timeoutMs: 30_000,
    });
  let r = await inspect();
  let pulled = false;
  if (r.code !== 0) {
    const pull = await runToEnd(docker, ['pull', image], { cwd: process.cwd(), env, timeoutMs: pullTimeoutMs });
    if (pull.code !== 0 || pull.timedOut)
      throw new BarysafeError(
        'drill',
        `cannot pull drill.image ${image}${pull.timedOut ? ` within ${Math.round(pullTimeoutMs / 1000)}s` : ''}: ${lastLine(pull.output)}`,
        {
          exitCode: ExitCode.USAGE,
          hint: 'name an image that exists (Barycenter publishes ghcr.io/cloudnebulaproject/barycenter:<version> per release; there is no latest), or pull it beforehand',
        },
      );
    pulled = true;
    r = await inspect();
  }
  const m = /^(sha256:[0-9a-f]{64})\s+(.*)$/m.exec(r.output);
  if (r.code !== 0 || !m)
    throw new BarysafeError('drill', `cannot inspect drill.image ${image}: ${lastLine(r.output)}`, {
      exitCode: ExitCode.USAGE,
    });
  let digests: string[] = [];
  try {
    digests = (JSON.parse(m[2]!) as string[] | null) ?? [];
  } catch {
    /* an image built locally has no repo digest */
  }
  const digest = digests.map((d) => /@(sha256:[0-9a-f]{64})$/.exec(d)?.[1]).find(Boolean);
  return {
    kind: 'image',
    ref: image,
    id: m[1]!,
    ...(digest ? { digest } : {}),
    source: pulled ? 'drill.image (pulled before the drill)' : 'drill.image',
  };
}

function lastLine(output: string): string {
  return output.trim().split('\n').at(-1) || '(no output)';
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

/** `docker rm -f`; the container is released from the sandbox's watch only once it is really gone. */
async function removeContainer(docker: string, name: string, spec: LaunchSpec): Promise<void> {
  const r = await runToEnd(docker, ['rm', '-f', name], {
    cwd: spec.layout.dir,
    env: { ...spec.env, ...dockerClientEnv() },
    timeoutMs: 30_000,
  });
  if ((r.code === 0 && !r.timedOut) || /no such container/i.test(r.output)) spec.containers?.release(name);
}

/** Whether a Docker engine answers (the CLI alone is not enough). */
export async function dockerAnswers(docker = 'docker'): Promise<boolean> {
  const r = await runToEnd(docker, ['version', '--format', '{{.Server.Version}}'], {
    cwd: process.cwd(),
    env: dockerClientEnv(),
    timeoutMs: 10_000,
  });
  return r.code === 0 && !r.timedOut;
}
