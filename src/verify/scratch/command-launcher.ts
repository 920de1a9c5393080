import { runToEnd } from '../../platform/child-process.js';
import {
  launcherFailed,
  probeEnv,
  probeFailure,
  localProcessPhases,
  type LaunchSpec,
  type Launcher,
} from './launcher.js';

/**
 * drill.command: a command template for deployments where Barycenter runs through a wrapper, e.g.
 * `nix run .#barycenter --` (not one that switches users: the scratch tree is 0700 and belongs to
 * barysafe's user, so another user could read neither config nor key). Barycenter's
 * arguments are appended; `{scratch}` and `{port}` in the template are replaced (shell-quoted).
 * The template is the operator's own configuration, so it runs through `sh -c`.
 */
export function commandLauncher(template: string): Launcher {
  const argv = (dir: string, port: string, args: string[]) => {
    const script = `${expand(template, dir, port)} "$@"`;
    return ['-c', script, 'barysafe-drill', ...args];
  };
  const forSpec = (spec: LaunchSpec, args: string[]) =>
    argv(spec.layout.dir, spec.env.BARYCENTER__SERVER__PORT ?? '', args);
  const description = `command ${template}`;
  return {
    kind: 'command',
    description,
    prepare: async ({ cwd, timeoutMs }) => {
      // `sh` exits 127 when the template names a program that is not there, 126 when it is not executable.
      const probe = await runToEnd('/bin/sh', argv(cwd, '', ['--version']), { cwd, env: probeEnv(), timeoutMs });
      const failure = probeFailure(probe, timeoutMs);
      if (failure) throw launcherFailed(description, failure, probe.output);
      // A wrapper (nix run, a script) may start anything: barysafe cannot name the build it boots.
      return { identity: null, reason: 'drill.command is a command template; its binary is unknown' };
    },
    ...localProcessPhases((spec, args) => ['/bin/sh', forSpec(spec, args)]),
  };
}

function expand(template: string, dir: string, port: string): string {
  return template.replace(/\{scratch\}/g, shellQuote(dir)).replace(/\{port\}/g, shellQuote(port));
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
