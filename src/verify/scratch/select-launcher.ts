import { existsSync } from 'node:fs';
import path from 'node:path';
import { BarysafeError, ExitCode } from '../../errors.js';
import type { BarysafeConfig } from '../../config/schema.js';
import { parseDuration } from '../../units.js';
import { binaryLauncher } from './binary-launcher.js';
import { commandLauncher } from './command-launcher.js';
import { dockerAnswers, dockerLauncher } from './docker-launcher.js';
import { launcherFailed, type Launcher } from './launcher.js';

/**
 * Picks how to start the scratch instance: drill.barycenter_bin, else drill.image (only where a
 * Docker engine answers), else drill.command, else a `barycenter` found on PATH.
 */
export async function selectLauncher(drill: BarysafeConfig['drill']): Promise<Launcher> {
  if (drill.barycenter_bin) {
    if (!existsSync(drill.barycenter_bin))
      throw launcherFailed(`drill.barycenter_bin ${drill.barycenter_bin}`, 'does not exist');
    return binaryLauncher(drill.barycenter_bin);
  }
  if (drill.image) {
    if (await dockerAnswers())
      return dockerLauncher(drill.image, {
        selinuxRelabel: drill.selinux_relabel,
        pullTimeoutMs: parseDuration(drill.pull_timeout),
      });
    if (!drill.command) {
      throw new BarysafeError(
        'drill',
        `drill.image is set (${drill.image}) but no Docker engine answers on this host`,
        {
          exitCode: ExitCode.USAGE,
          hint: 'start Docker, or set drill.barycenter_bin (the binary) or drill.command (a command template) instead',
        },
      );
    }
  }
  if (drill.command) return commandLauncher(drill.command);
  const onPath = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => path.isAbsolute(dir))
    .map((dir) => path.join(dir, 'barycenter'))
    .find((f) => existsSync(f));
  if (onPath) return binaryLauncher(onPath, 'barycenter on PATH');
  throw new BarysafeError(
    'drill',
    'no way to start a scratch Barycenter: drill.barycenter_bin, drill.image and drill.command are unset and no `barycenter` is on PATH',
    {
      exitCode: ExitCode.USAGE,
      hint: 'set drill.barycenter_bin to the Barycenter binary (or drill.image / drill.command) in barysafe.toml',
    },
  );
}
