import { errorText } from '../errors.js';
import { probe } from '../platform/http.js';
import { parseJwks, type JwksFacts } from './jwk.js';

/**
 * The JWKS production serves at its public URL: discovery's `jwks_uri`, else the well-known path.
 * Never throws: `error` says why the keys are unknown (unreachable, not a JWK Set), so callers
 * can tell "production serves another key" (a finding) from "could not ask" (inconclusive).
 */
export interface ServedJwks {
  url: string;
  keys?: JwksFacts['keys'];
  error?: string;
}

export async function fetchServedJwks(base: string): Promise<ServedJwks> {
  const root = base.replace(/\/+$/, '');
  const disc = await probe(`${root}/.well-known/openid-configuration`);
  const fromDiscovery = (disc.json as { jwks_uri?: unknown } | undefined)?.jwks_uri;
  const url =
    disc.status === 200 && typeof fromDiscovery === 'string' ? fromDiscovery : `${root}/.well-known/jwks.json`;
  const r = await probe(url);
  if (r.error !== null) return { url: r.url, error: `unreachable (${r.error})` };
  if (r.status !== 200) return { url: r.url, error: `answered HTTP ${r.status}` };
  try {
    return { url: r.url, keys: (await parseJwks(JSON.stringify(r.json), r.url)).keys };
  } catch (e) {
    return { url: r.url, error: `did not answer with a JWK Set (${errorText(e)})` };
  }
}
