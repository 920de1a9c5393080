import path from 'node:path';
import type { CheckContext } from '../types.js';
import { gidOfGroup, type Identity, identityOfUser, nameOfUid } from './filesystem.js';
import { findProcess } from './process.js';
import { lastValue, loadUnit } from './systemd.js';
import { usesUnit } from './environment.js';

/** Who the service runs as and where its data lives: shared by the permissions, storage and disk checks. */

export type IdentityLookup = { ok: true; identity: Identity } | { ok: false; reason: string };

/** Who the service runs as: barycenter.service_user, else the live process, else the unit's User=. */
export async function serviceIdentity(ctx: CheckContext): Promise<IdentityLookup> {
  return ctx.memo('service-identity', async () => {
    const configured = ctx.config.barycenter.service_user;
    if (configured) {
      const id = await identityOfUser(configured);
      return id
        ? { ok: true, identity: id }
        : { ok: false, reason: `barycenter.service_user ${configured} is not in /etc/passwd` };
    }
    const p = await findProcess(ctx);
    if (p.found) {
      const [, euid] = p.process.uids;
      const [, egid] = p.process.gids;
      return {
        ok: true,
        identity: {
          uid: euid!,
          gids: [...new Set([egid!, ...p.process.groups])],
          source: `proc:${p.process.pid}/status Uid/Gid/Groups`,
          name: await nameOfUid(euid!),
        },
      };
    }
    if (usesUnit(ctx)) {
      const u = await loadUnit(ctx);
      const user = u.ok ? lastValue(u.unit, 'User') : undefined;
      if (user) {
        const id = await identityOfUser(user);
        if (id) return { ok: true, identity: { ...id, source: `User=${user} in ${u.ok ? u.unit.files[0] : 'unit'}` } };
      }
    }
    return {
      ok: false,
      reason: `service user unknown: set barycenter.service_user (live process: ${p.found ? 'found' : p.reason})`,
    };
  });
}

/** The service's group: barycenter.service_group, else the unit's Group=, else the user's primary group. */
export async function serviceGid(
  ctx: CheckContext,
  id: IdentityLookup,
): Promise<{ gid: number; source: string } | undefined> {
  const configured = ctx.config.barycenter.service_group;
  if (configured) {
    const gid = await gidOfGroup(configured);
    return gid === undefined ? undefined : { gid, source: `barycenter.service_group ${configured}` };
  }
  if (usesUnit(ctx)) {
    const u = await loadUnit(ctx);
    const g = u.ok ? lastValue(u.unit, 'Group') : undefined;
    const gid = g ? await gidOfGroup(g) : undefined;
    if (gid !== undefined) return { gid, source: `Group=${g}` };
  }
  return id.ok ? { gid: id.identity.gids[0]!, source: `primary group of ${id.identity.source}` } : undefined;
}

/** Barycenter keeps its key, its jwks.json and (by default) its SQLite file in one data directory. */
export const dataDirOf = (ctx: CheckContext) => path.dirname(ctx.barycenter.privateKeyPath);
