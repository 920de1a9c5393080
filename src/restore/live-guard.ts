import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { BarysafeError, ExitCode } from '../errors.js';
import type { EffectiveBarycenter } from '../config/barycenter.js';
import { reachableHost, tcpReachable } from '../platform/net.js';
import { sameFile, statOrNull } from '../platform/safe-fs.js';

/**
 * What the live deployment reads and writes, as device+inode: a restore must not land on any of
 * it, whatever path names it — a symlink to the workdir, a bind mount of the data directory, a
 * hard link to the key. Text comparison of paths sees none of those.
 */
interface LiveObject {
  what: string;
  path: string;
  st: Stats;
  /** A directory the restore may not be inside (not only equal to). */
  tree: boolean;
}

async function liveObjects(bc: EffectiveBarycenter): Promise<LiveObject[]> {
  const candidates: Array<{ what: string; path: string; tree: boolean }> = [
    { what: "Barycenter's working directory", path: bc.workdir, tree: true },
    { what: 'the directory of the signing key', path: path.dirname(bc.privateKeyPath), tree: true },
    { what: 'the directory of jwks.json', path: path.dirname(bc.jwksPath), tree: true },
    { what: 'the signing key', path: bc.privateKeyPath, tree: false },
    { what: 'jwks.json', path: bc.jwksPath, tree: false },
    { what: "the directory of Barycenter's config", path: path.dirname(bc.configPath), tree: false },
    { what: "Barycenter's config", path: bc.configPath, tree: false },
  ];
  if (bc.database.engine === 'sqlite' && bc.database.path) {
    candidates.push({ what: 'the directory of the SQLite database', path: path.dirname(bc.database.path), tree: true });
    for (const suffix of ['', '-wal', '-shm', '-journal'])
      candidates.push({ what: `the SQLite database${suffix}`, path: bc.database.path + suffix, tree: false });
  }
  if (bc.envFile) {
    candidates.push({ what: "the directory of the service's env file", path: path.dirname(bc.envFile), tree: false });
    candidates.push({ what: "the service's env file", path: bc.envFile, tree: false });
  }
  const out: LiveObject[] = [];
  for (const c of candidates) {
    const st = await statOrNull(path.resolve(c.path));
    if (st) out.push({ ...c, path: path.resolve(c.path), st });
  }
  return out;
}

/**
 * Refuses a restore target that is, or is inside, a live directory of the deployment, or where a
 * restored file name is a live file — compared by device and inode, through symlinks and bind
 * mounts. `target` is the real path of the target directory; `names` the files it would receive.
 */
export async function refuseLiveTarget(
  target: string,
  names: readonly string[],
  bc: EffectiveBarycenter,
): Promise<void> {
  const live = await liveObjects(bc);
  const hit = async (p: string, st: Stats, selfOnly: boolean): Promise<void> => {
    const found = live.find((l) => sameFile(l.st, st) && (l.st.isDirectory() ? l.tree || selfOnly : true));
    if (found) await refuse(target, found, p, bc);
  };
  const targetSt = await stat(target);
  await hit(target, targetSt, true);
  for (let p = path.dirname(target); ; p = path.dirname(p)) {
    const st = await statOrNull(p);
    if (st) {
      const found = live.find((l) => l.tree && sameFile(l.st, st));
      if (found) await refuse(target, found, p, bc);
    }
    if (path.dirname(p) === p) break;
  }
  for (const n of names) {
    const st = await statOrNull(path.join(target, n));
    if (st && !st.isDirectory()) await hit(path.join(target, n), st, false);
  }
}

async function refuse(target: string, live: LiveObject, via: string, bc: EffectiveBarycenter): Promise<never> {
  const host = reachableHost(bc.settings.server.host);
  const answering = await tcpReachable(host, bc.settings.server.port, 1000);
  const seen = via === live.path ? '' : ` (${via} is ${live.path})`;
  throw new BarysafeError(
    'restore',
    answering
      ? `refusing to restore into ${target}: it is a live path of the Barycenter that answers on ${host}:${bc.settings.server.port} — ${live.what}${seen}`
      : `refusing to restore into ${target}: it is a live path of the Barycenter deployment — ${live.what}${seen}`,
    {
      exitCode: ExitCode.USAGE,
      hint: 'restore into a new directory of its own (barysafe creates it 0700), then stop Barycenter and install the files with the steps it prints',
    },
  );
}
