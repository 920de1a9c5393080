import type { CheckContext } from '../types.js';
import { probe as request, type HttpFacts } from '../../platform/http.js';
import { reachableHost, urlHost } from '../../platform/net.js';
import { publicUrlOf } from '../../barycenter/public-url.js';

export { request, type HttpFacts };

/** The URL the public reaches Barycenter at: barycenter.public_url, else server.public_base_url. */
export function publicUrl(ctx: Pick<CheckContext, 'config' | 'barycenter'>): string | null {
  return publicUrlOf(ctx.config.barycenter.public_url, ctx.barycenter.settings.server.public_base_url);
}

export function discovery(ctx: CheckContext): Promise<HttpFacts | null> {
  const base = publicUrl(ctx);
  if (!base) return Promise.resolve(null);
  return ctx.memo(`http:discovery:${base}`, () => request(`${base}/.well-known/openid-configuration`));
}

/** The JWKS the public is served: discovery's jwks_uri, else the well-known path. */
export async function servedJwks(ctx: CheckContext): Promise<HttpFacts | null> {
  const base = publicUrl(ctx);
  if (!base) return null;
  const disc = await discovery(ctx);
  const fromDiscovery = (disc?.json as { jwks_uri?: unknown } | undefined)?.jwks_uri;
  const url = typeof fromDiscovery === 'string' ? fromDiscovery : `${base}/.well-known/jwks.json`;
  return ctx.memo(`http:jwks:${url}`, () => request(url));
}

/** Where barysafe reaches the admin listener: it binds server.host, so a wildcard means loopback here. */
export function adminBaseUrl(ctx: CheckContext): string {
  return `http://${urlHost(reachableHost(ctx.barycenter.settings.server.host))}:${ctx.barycenter.adminPort}`;
}
