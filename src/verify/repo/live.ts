import { publicUrlOf } from '../../barycenter/public-url.js';
import { fetchServedJwks } from '../../barycenter/served-jwks.js';
import type { BarysafeConfig } from '../../config/schema.js';
import type { GoodSnapshot, SnapshotEntry } from '../../repository/repository.js';
import type { LiveResult } from '../../repository/verify-record.js';

/**
 * `verify --live`: the backups hold the key production signs with. Two findings, each naming the
 * kid: production does not serve the newest snapshot's key (it signs with a key rotated after the
 * last backup, or another instance answers), and production serves a key no snapshot holds (a
 * rotation that was never backed up: losing the host loses that key). Only verified manifests
 * count as holding a key.
 */
export async function liveCheck(config: BarysafeConfig, entries: readonly SnapshotEntry[]): Promise<LiveResult> {
  const held = entries.filter((e): e is GoodSnapshot => e.verified === true);
  const newest = held[held.length - 1];
  const base = publicUrlOf(config.barycenter.public_url, newest?.manifest.barycenter.public_base_url);
  const result: LiveResult = {
    url: base,
    verdict: 'inconclusive',
    detail: '',
    served: [],
    newest_snapshot: newest?.id ?? null,
    newest_key: newest ? { kid: newest.manifest.key.kid, thumbprint: newest.manifest.key.thumbprint } : null,
    problems: [],
  };
  if (!newest) return { ...result, detail: 'no snapshot with a verified manifest holds a key' };
  if (!base)
    return {
      ...result,
      detail: "production's public URL is unknown: set barycenter.public_url (the snapshot records no public_base_url)",
    };
  const served = await fetchServedJwks(base);
  result.url = served.url;
  if (!served.keys) return { ...result, detail: `production's JWKS at ${served.url} ${served.error}` };
  const backedUp = new Set(held.map((e) => e.manifest.key.thumbprint));
  result.served = served.keys.map((k) => ({
    kid: k.kid,
    thumbprint: k.thumbprint,
    backed_up: backedUp.has(k.thumbprint),
  }));
  const nk = newest.manifest.key;
  if (!served.keys.some((k) => k.thumbprint === nk.thumbprint))
    result.problems.push(
      `production (${served.url}) does not serve the key of the newest snapshot ${newest.id} (kid ${nk.kid ?? '(none)'}, thumbprint ${nk.thumbprint}); it serves kid ${served.keys.map((k) => k.kid ?? '(none)').join(', ') || '(no key)'}: the key in use changed after the last backup`,
    );
  for (const k of result.served.filter((s) => !s.backed_up))
    result.problems.push(
      `production (${served.url}) serves kid ${k.kid ?? '(none)'} (thumbprint ${k.thumbprint}), which no snapshot holds: a key rotation that was never backed up`,
    );
  if (result.problems.length) return { ...result, verdict: 'fail', detail: result.problems[0]! };
  return {
    ...result,
    verdict: 'pass',
    detail: `production serves the newest snapshot's key ${nk.kid ?? '(no kid)'} and no key that no snapshot holds`,
  };
}
