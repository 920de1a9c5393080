import type { BuildIdentity } from '../../barycenter/identity.js';
import type { RunningProcess, Exit } from '../../platform/child-process.js';
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
   * Run once before the drill's clock starts: makes what is booted available (pulls a missing
   * image) and says which build it is. `identity` is null when the launcher cannot tell.
   */
  prepare(): Promise<{ identity: BuildIdentity | null; reason?: string }>;
  syncUsers(spec: LaunchSpec, timeoutMs: number): Promise<Exit & { output: string; timedOut: boolean }>;
  start(spec: LaunchSpec): Promise<RunningProcess>;
}

/** Barycenter's argument vectors; --config must come before the subcommand (it is not global). */
export const serverArgs = (l: ScratchLayout) => ['-c', l.configPath];
export const syncUsersArgs = (l: ScratchLayout) => ['-c', l.configPath, 'sync-users', '--file', l.usersFile];
