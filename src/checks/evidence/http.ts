import http from 'node:http';
import https from 'node:https';
import { errorText } from '../../errors.js';
import { redactText, redactUrl } from '../../redact.js';
import type { CheckContext } from '../types.js';
import { trustedCas } from './tls.js';

/**
 * Small HTTP probes over node:http(s) rather than fetch: they honour BARYSAFE_CA_FILE per request
 * and report what was asked and what came back, as evidence.
 */
export interface HttpFacts {
  url: string;
  method: string;
  status: number | null;
  contentType: string | null;
  /** Parsed JSON body when the answer is JSON. */
  json: unknown;
  /** Set when no answer arrived (refused, timed out, TLS rejected). */
  error: string | null;
}

const MAX_BODY = 2 * 1024 * 1024;

export function request(
  url: string,
  opts: { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<HttpFacts> {
  const method = opts.method ?? 'GET';
  const shown = redactUrl(url);
  return new Promise((resolve) => {
    const done = (f: Partial<HttpFacts>) =>
      resolve({ url: shown, method, status: null, contentType: null, json: undefined, error: null, ...f });
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return done({ error: `not a URL: ${shown}` });
    }
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.request(
      u,
      {
        method,
        timeout: opts.timeoutMs ?? 10_000,
        headers: {
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
        ...(u.protocol === 'https:' ? { ca: trustedCas() } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_BODY) chunks.push(c);
        });
        res.on('end', () => {
          const contentType = res.headers['content-type'] ?? null;
          let json: unknown;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            json = undefined;
          }
          done({ status: res.statusCode ?? null, contentType, json });
        });
        res.on('error', (e) => done({ error: redactText(errorText(e)) }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs ?? 10_000} ms`)));
    req.on('error', (e) => done({ error: redactText(errorText(e)) }));
    req.end(payload);
  });
}

/** The URL the public reaches Barycenter at: barycenter.public_url, else server.public_base_url. */
export function publicUrl(ctx: CheckContext): string | null {
  const u = ctx.config.barycenter.public_url ?? ctx.barycenter.settings.server.public_base_url;
  return u ? u.replace(/\/+$/, '') : null;
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
  const host = ctx.barycenter.settings.server.host;
  const reach = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `http://${reach}:${ctx.barycenter.adminPort}`;
}
