import path from 'node:path';
import { BarysafeError, ExitCode } from '../errors.js';
import type { EffectiveBarycenter } from '../config/barycenter.js';
import { reachableHost, tcpReachable } from '../platform/net.js';

/** The directories a running Barycenter reads its key, JWKS and SQLite file from. */
export function livePaths(bc: EffectiveBarycenter): string[] {
  const dirs = [path.dirname(bc.privateKeyPath), path.dirname(bc.jwksPath), bc.workdir];
  if (bc.database.engine === 'sqlite' && bc.database.path) dirs.push(path.dirname(bc.database.path));
  return [...new Set(dirs.map((d) => path.resolve(d)))];
}

/**
 * Refuses to write into the live paths while Barycenter answers on its port: it reads the key and
 * JWKS only at startup and holds the SQLite file open, so files swapped under it are a split brain.
 */
export async function refuseLiveTarget(target: string, bc: EffectiveBarycenter): Promise<void> {
  const dest = path.resolve(target);
  const hit = livePaths(bc).find((d) => dest === d || dest.startsWith(d + path.sep));
  if (!hit) return;
  const host = reachableHost(bc.settings.server.host);
  if (await tcpReachable(host, bc.settings.server.port, 1000)) {
    throw new BarysafeError(
      'restore',
      `refusing to restore into ${dest}: it is a live path of the Barycenter that answers on ${host}:${bc.settings.server.port}`,
      {
        exitCode: ExitCode.USAGE,
        hint: 'stop the service first (e.g. systemctl stop barycenter), or restore into another directory and move the files',
      },
    );
  }
}
