/** Small fetch helpers for talking to the scratch instance and production's public JWKS. */

export const HTTP_TIMEOUT_MS = 10_000;

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/** One request with a time limit and no redirect following (a 303 from /login is the answer). */
export async function request(url: string, init: RequestInit = {}, timeoutMs = HTTP_TIMEOUT_MS): Promise<HttpAnswer> {
  const r = await fetch(url, { redirect: 'manual', ...init, signal: AbortSignal.timeout(timeoutMs) });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

export function formPost(fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  };
}

export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Maps a URL the scratch instance announces (under its issuer, http://localhost:<port>) to the
 * loopback address the drill talks to. Anything not under the scratch issuer is refused: a
 * discovery document pointing elsewhere (production!) is never followed.
 */
export function toLoopback(announced: unknown, issuer: string, baseUrl: string): string | undefined {
  if (typeof announced !== 'string' || !announced.startsWith(issuer + '/')) return undefined;
  return baseUrl + announced.slice(issuer.length);
}

/** Why a fetch failed, in words (the cause of undici's "fetch failed"). */
export function fetchFailure(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError') return 'timed out';
  return err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}
