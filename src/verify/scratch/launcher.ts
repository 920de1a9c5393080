import type { BuildIdentity } from '../../barycenter/identity.js';
import { BarysafeError, ExitCode } from '../../errors.js';
import { describeExit, runToEnd, startProcess, type RunningProcess, type Exit } from '../../platform/child-process.js';
import type { ScratchLayout } from './scratch-env.js';

/**
 * How a scratch Barycenter is started. Every launcher runs the same CLI:
 * `-c <scratch>/config.toml` for the server, `-c <config> sync-users --file <users>` before it,
 * with the scratch environment (BARYCENTER__ overrides) applied.
 */
export interface LaunchSpec {
  layout: ScratchLayout;
  env: NodeJS.ProcessEnv;
  /**
   * Argument vector the launched program runs behind (the drill's sandbox: join its network
   * namespace, die with barysafe), e.g. ['nsenter', '--net=…', '--', 'setpriv', '--pdeathsig', 'KILL', '--'].
   */
  wrap?: readonly string[];
  /** Called with the pid of every process a launcher starts (recorded so none outlives barysafe). */
  onSpawn?: (pid: number) => void;
  /**
   * The containers a launcher runs (the engine owns them, so no signal of ours reaches them): each
   * is adopted before it starts and released once removed, so none outlives barysafe either.
   */
  containers?: { adopt(docker: string, name: string): void; release(name: string): void };
  /** Aborted when the drill is interrupted: a running sync-users is stopped. */
  signal?: AbortSignal;
}

/** `cmd args` behind the spec's wrapper, as [program, ...arguments]. */
export function wrapped(spec: LaunchSpec, cmd: string, args: readonly string[]): [string, string[]] {
  const all = [...(spec.wrap ?? []), cmd, ...args];
  return [all[0]!, all.slice(1)];
}

export interface Launcher {
  kind: 'binary' | 'docker' | 'command';
  /** For messages and evidence, e.g. "binary /usr/local/bin/barycenter". */
  description: string;
  /**
   * Run once before the drill's clock starts and before any restored file exists: makes what is
   * booted available (pulls a missing image), proves the launcher runs at all (`--version`, with
   * no restored config or database involved) and says which build it is. `identity` is null when
   * the launcher cannot tell. Throws a launcher failure (see launcherFailed) when it cannot run.
   */
  prepare(opts: PrepareOptions): Promise<{ identity: BuildIdentity | null; reason?: string }>;
  syncUsers(
    spec: LaunchSpec,
    timeoutMs: number,
  ): Promise<Exit & { output: string; timedOut: boolean; aborted?: boolean }>;
  start(spec: LaunchSpec): Promise<RunningProcess>;
}

export interface PrepareOptions {
  /** An empty private directory to run the probe in. */
  cwd: string;
  /** Bound of the probe (drill.boot_timeout). */
  timeoutMs: number;
}

/** The environment of a launcher's probe: enough to find programs, nothing of the deployment. */
export function probeEnv(from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR']) if (from[k] !== undefined) env[k] = from[k];
  return env;
}

/**
 * barysafe could not run Barycenter at all: the launcher is broken (a missing or non-executable
 * binary, a command naming a program that is not there, a probe that fails without any restored
 * data). An `error` of the drill, exit 2 (fix drill.barycenter_bin / image / command); it says
 * nothing about the backup.
 */
export function launcherFailed(description: string, what: string, output?: string): BarysafeError {
  return new BarysafeError(
    'drill',
    `the launcher failed: ${description} ${what}; barysafe could not run Barycenter, so this says nothing about the backup${output ? `; last lines of its output:\n${output}` : ''}`,
    {
      exitCode: ExitCode.USAGE,
      hint: 'point drill.barycenter_bin (or drill.image / drill.command) at a Barycenter that runs on this host: `<it> --version` must exit 0',
    },
  );
}

/**
 * The probe's verdict: `--version` must exit 0 within its bound. Barycenter prints its version
 * without reading a config or a database, so any failure here is the launcher's.
 */
export function probeFailure(r: Exit & { output: string; timedOut: boolean }, timeoutMs: number): string | undefined {
  if (r.timedOut) return `did not answer \`--version\` within ${Math.round(timeoutMs / 1000)}s (drill.boot_timeout)`;
  if (r.code === 0) return undefined;
  return `\`--version\` ${describeExit(r)} before any restored data was involved`;
}

/** Barycenter's argument vectors; --config must come before the subcommand (it is not global). */
export const serverArgs = (l: ScratchLayout) => ['-c', l.configPath];
export const syncUsersArgs = (l: ScratchLayout) => ['-c', l.configPath, 'sync-users', '--file', l.usersFile];

/**
 * sync-users and the server as local processes in the scratch directory (inside the sandbox's
 * wrapper), for the launchers that run a program on this host: `command` says how Barycenter's
 * arguments become a program and its arguments (the binary itself, or /bin/sh with a template).
 */
export function localProcessPhases(
  command: (spec: LaunchSpec, barycenterArgs: string[]) => [string, string[]],
): Pick<Launcher, 'syncUsers' | 'start'> {
  return {
    syncUsers: (spec, timeoutMs) =>
      runToEnd(...wrapped(spec, ...command(spec, syncUsersArgs(spec.layout))), {
        cwd: spec.layout.dir,
        env: spec.env,
        timeoutMs,
        onSpawn: spec.onSpawn,
        signal: spec.signal,
      }),
    start: async (spec) =>
      startProcess(...wrapped(spec, ...command(spec, serverArgs(spec.layout))), {
        cwd: spec.layout.dir,
        env: spec.env,
        onSpawn: spec.onSpawn,
      }),
  };
}
