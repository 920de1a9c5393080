import { runToEnd, startProcess } from '../../platform/child-process.js';
import { serverArgs, syncUsersArgs, wrapped, type LaunchSpec, type Launcher } from './launcher.js';

/**
 * drill.command: a command template for deployments where Barycenter runs through a wrapper, e.g.
 * `nix run .#barycenter --` (not one that switches users: the scratch tree is 0700 and belongs to
 * barysafe's user, so another user could read neither config nor key). Barycenter's
 * arguments are appended; `{scratch}` and `{port}` in the template are replaced (shell-quoted).
 * The template is the operator's own configuration, so it runs through `sh -c`.
 */
export function commandLauncher(template: string): Launcher {
  const argv = (spec: LaunchSpec, args: string[]) => {
    const script = `${expand(template, spec)} "$@"`;
    return ['-c', script, 'barysafe-drill', ...args];
  };
  return {
    kind: 'command',
    description: `command ${template}`,
    // A wrapper (nix run, a script) may start anything: barysafe cannot name the build it boots.
    prepare: async () => ({ identity: null, reason: 'drill.command is a command template; its binary is unknown' }),
    syncUsers: (spec, timeoutMs) =>
      runToEnd(...wrapped(spec, '/bin/sh', argv(spec, syncUsersArgs(spec.layout))), {
        cwd: spec.layout.dir,
        env: spec.env,
        timeoutMs,
        onSpawn: spec.onSpawn,
      }),
    start: async (spec) =>
      startProcess(...wrapped(spec, '/bin/sh', argv(spec, serverArgs(spec.layout))), {
        cwd: spec.layout.dir,
        env: spec.env,
        onSpawn: spec.onSpawn,
      }),
  };
}

function expand(template: string, spec: LaunchSpec): string {
  return template
    .replace(/\{scratch\}/g, shellQuote(spec.layout.dir))
    .replace(/\{port\}/g, shellQuote(spec.env.BARYCENTER__SERVER__PORT ?? ''));
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
