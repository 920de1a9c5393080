import path from 'node:path';
import type { CheckContext, Lookup } from '../types.js';
import { gidOfGroup, type Identity, identityOfUser, nameOfUid } from './filesystem.js';
import { findProcess } from './process.js';
import { lastValue, loadUnit } from './systemd.js';
import { usesUnit } from './environment.js';

/** Who the service runs as and where its data lives: shared by the permissions, storage and disk checks. */

/** Who the service runs as: barycenter.service_user, else the live process, else the unit's User=. */
export async function serviceIdentity(ctx: CheckContext): Promise<Lookup<Identity>> {
  return ctx.memo('service-identity', async () => {
    const configured = ctx.config.barycenter.service_user;
    if (configured) {
      const id = await identityOfUser(configured);
      return id
        ? resolved(id)
        : { ok: false, reason: `barycenter.service_user ${configured} has no passwd entry (getent passwd)` };
    }
    const p = await findProcess(ctx);
    if (p.ok) {
      const [, euid] = p.value.uids;
      const [, egid] = p.value.gids;
      return resolved({
        uid: euid!,
        gids: [...new Set([egid!, ...p.value.groups])],
        source: `proc:${p.value.pid}/status Uid/Gid/Groups`,
        name: await nameOfUid(euid!),
      });
    }
    if (usesUnit(ctx)) {
      const u = await loadUnit(ctx);
      const user = u.ok ? lastValue(u.value, 'User') : undefined;
      if (user) {
        const id = await identityOfUser(user);
        if (id) return resolved({ ...id, source: `User=${user} in ${u.ok ? u.value.files[0] : 'unit'}` });
      }
    }
    return {
      ok: false,
      reason: `service user unknown: set barycenter.service_user (live process: ${p.ok ? 'found' : p.reason})`,
    };
  });
}

const resolved = (identity: Identity): Lookup<Identity> => ({ ok: true, value: identity, source: identity.source });

/** The service's group: barycenter.service_group, else the unit's Group=, else the user's primary group. */
export async function serviceGid(
  ctx: CheckContext,
  id: Lookup<Identity>,
): Promise<{ gid: number; source: string } | undefined> {
  const configured = ctx.config.barycenter.service_group;
  if (configured) {
    const gid = await gidOfGroup(configured);
    return gid === undefined ? undefined : { gid, source: `barycenter.service_group ${configured}` };
  }
  if (usesUnit(ctx)) {
    const u = await loadUnit(ctx);
    const g = u.ok ? lastValue(u.value, 'Group') : undefined;
    const gid = g ? await gidOfGroup(g) : undefined;
    if (gid !== undefined) return { gid, source: `Group=${g}` };
  }
  return id.ok ? { gid: id.value.gids[0]!, source: `primary group of ${id.source}` } : undefined;
}

/** Barycenter keeps its key, its jwks.json and (by default) its SQLite file in one data directory. */
export const dataDirOf = (ctx: CheckContext) => path.dirname(ctx.barycenter.privateKeyPath);
