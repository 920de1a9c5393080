// POST /token (authorization_code + PKCE, refresh_token, device_code), /revoke, /introspect.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppState } from './app-state.js';
import { sessionIdFromCookie, sendJson } from './http-util.js';
import { buildIdToken, hasScope } from './id-token.js';
import { SigningError } from './keys.js';
import * as store from './store.js';

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };
const INVALID_CLIENT_HDR = { 'www-authenticate': 'Basic realm="token", error="invalid_client"' };

const bad = (res: ServerResponse, error: string, description?: string) =>
  sendJson(res, 400, description === undefined ? { error } : { error, error_description: description });
const invalidClient = (res: ServerResponse, body: Record<string, string> = { error: 'invalid_client' }) =>
  sendJson(res, 401, body, INVALID_CLIENT_HDR);

/** Basic first (split at the first ':', no URL-decoding), else client_id/client_secret in the body. */
function clientCredentials(req: IncomingMessage, form: Record<string, string>): [string, string] | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const s = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const i = s.indexOf(':');
    if (i >= 0) return [s.slice(0, i), s.slice(i + 1)];
  }
  if (form.client_id !== undefined && form.client_secret !== undefined) return [form.client_id, form.client_secret];
  return undefined;
}

/** Authenticates the client or answers 401 itself. Secrets compared with !=, as upstream. */
async function authenticate(
  st: AppState,
  req: IncomingMessage,
  res: ServerResponse,
  form: Record<string, string>,
  missingBody?: Record<string, string>,
) {
  const creds = clientCredentials(req, form);
  if (!creds) {
    invalidClient(res, missingBody);
    return undefined;
  }
  const client = await store.getClient(st.db, creds[0]);
  if (!client || client.client_secret !== creds[1]) {
    invalidClient(res);
    return undefined;
  }
  return client;
}

function tokenResponse(res: ServerResponse, accessToken: string, idToken: string, refreshToken: string | null) {
  sendJson(
    res,
    200,
    {
      access_token: accessToken,
      token_type: 'bearer',
      expires_in: 3600,
      id_token: idToken,
      refresh_token: refreshToken,
    },
    NO_STORE,
  );
}

const pkceS256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

async function authorizationCodeGrant(
  st: AppState,
  req: IncomingMessage,
  res: ServerResponse,
  form: Record<string, string>,
) {
  const client = await authenticate(st, req, res, form, {
    error: 'invalid_client',
    error_description: 'missing client authentication',
  });
  if (!client) return;
  if (form.code === undefined) return bad(res, 'invalid_request', 'code required');
  const code = await store.consumeAuthCode(st.db, form.code);
  if (!code || code.client_id !== client.client_id || code.redirect_uri !== (form.redirect_uri ?? ''))
    return bad(res, 'invalid_grant');
  if (form.code_verifier === undefined) return bad(res, 'invalid_request', 'code_verifier required');
  if (code.code_challenge_method !== 'S256' || pkceS256(form.code_verifier) !== code.code_challenge)
    return bad(res, 'invalid_grant', 'pkce verification failed');
  const at = await store.issueAccessToken(st.db, client.client_id, code.subject, code.scope, 3600);
  // amr/acr come from a session cookie sent to the token endpoint, so back-channel calls have none.
  const sid = sessionIdFromCookie(req);
  const sess = sid ? await store.getSession(st.db, sid) : undefined;
  const idToken = await buildIdToken(st.db, st.keys, {
    issuer: st.issuer,
    clientId: client.client_id,
    subject: code.subject,
    scope: code.scope,
    nonce: code.nonce,
    authTime: code.auth_time === null ? null : Number(code.auth_time),
    accessToken: at,
    amr: sess?.amr,
    acr: sess?.acr,
  });
  const rt = hasScope(code.scope, 'offline_access')
    ? await store.issueRefreshToken(st.db, client.client_id, code.subject, code.scope, 2592000, null)
    : null;
  tokenResponse(res, at, idToken, rt);
}

async function refreshTokenGrant(
  st: AppState,
  req: IncomingMessage,
  res: ServerResponse,
  form: Record<string, string>,
) {
  const client = await authenticate(st, req, res, form, {
    error: 'invalid_client',
    error_description: 'missing client authentication',
  });
  if (!client) return;
  if (form.refresh_token === undefined) return bad(res, 'invalid_request', 'refresh_token required');
  const old = await store.getTokenRaw(st.db, 'refresh_tokens', form.refresh_token);
  if (!store.isLive(old)) return bad(res, 'invalid_grant', 'invalid or expired refresh_token');
  if (old.client_id !== client.client_id) return bad(res, 'invalid_grant', 'refresh_token not issued to this client');
  // Rotation; note that the user's `enabled` flag is never re-checked here (faithful).
  await store.revokeToken(st.db, 'refresh_tokens', old.token);
  const rt = await store.issueRefreshToken(st.db, client.client_id, old.subject, old.scope, 2592000, old.token);
  const at = await store.issueAccessToken(st.db, client.client_id, old.subject, old.scope, 3600);
  const idToken = await buildIdToken(st.db, st.keys, {
    issuer: st.issuer,
    clientId: client.client_id,
    subject: old.subject,
    scope: old.scope,
    accessToken: at,
  });
  tokenResponse(res, at, idToken, rt);
}

async function deviceCodeGrant(st: AppState, res: ServerResponse, form: Record<string, string>) {
  if (form.device_code === undefined) return bad(res, 'invalid_request', 'device_code required');
  if (form.client_id === undefined) return bad(res, 'invalid_request', 'client_id required');
  const dc = await store.getDeviceCode(st.db, form.device_code);
  if (!dc) return bad(res, 'invalid_grant', 'device_code not found or expired');
  if (dc.client_id !== form.client_id) return bad(res, 'invalid_grant', 'device_code not bound to this client');
  if (dc.last_poll_at !== null && Math.floor(Date.now() / 1000) - dc.last_poll_at < dc.interval) {
    await store.slowDownDeviceCode(st.db, dc.device_code);
    return bad(res, 'slow_down', 'Polling too frequently');
  }
  await store.touchDeviceCodePoll(st.db, dc.device_code);
  switch (dc.status) {
    case 'pending':
      return bad(res, 'authorization_pending', 'User has not yet authorized the device');
    case 'denied':
      return bad(res, 'access_denied', 'User denied the authorization request');
    case 'consumed':
      return bad(res, 'invalid_grant', 'device_code already used');
    case 'approved':
      break;
    default:
      return sendJson(res, 500, { error: 'server_error', error_description: 'Unknown device_code status' });
  }
  const used = await store.consumeDeviceCode(st.db, dc.device_code);
  if (!used || used.subject === null) return bad(res, 'invalid_grant', 'Failed to consume device_code');
  const at = await store.issueAccessToken(st.db, dc.client_id, used.subject, used.scope, 3600);
  const idToken = await buildIdToken(st.db, st.keys, {
    issuer: st.issuer,
    clientId: dc.client_id,
    subject: used.subject,
    scope: used.scope,
    authTime: used.auth_time === null ? null : Number(used.auth_time),
    accessToken: at,
    amr: used.amr,
    acr: used.acr,
  });
  const rt = hasScope(used.scope, 'offline_access')
    ? await store.issueRefreshToken(st.db, dc.client_id, used.subject, used.scope, 2592000, null)
    : null;
  tokenResponse(res, at, idToken, rt);
}

export async function tokenEndpoint(
  st: AppState,
  req: IncomingMessage,
  res: ServerResponse,
  form: Record<string, string>,
) {
  try {
    switch (form.grant_type) {
      case 'authorization_code':
        return await authorizationCodeGrant(st, req, res, form);
      case 'refresh_token':
        return await refreshTokenGrant(st, req, res, form);
      case 'urn:ietf:params:oauth:grant-type:device_code':
        return await deviceCodeGrant(st, res, form);
      default:
        return sendJson(res, 400, { error: 'unsupported_grant_type' });
    }
  } catch (e) {
    // build_id_token failing (the signer refused the key): 500 with the error text, as upstream.
    if (e instanceof SigningError && !res.headersSent)
      return sendJson(res, 500, { error: 'server_error', details: `JOSE error: ${e.message}` });
    throw e;
  }
}

/** RFC 7009: revokes matching access and refresh tokens of any client (no ownership check, faithful). */
export async function revokeEndpoint(
  st: AppState,
  req: IncomingMessage,
  res: ServerResponse,
  form: Record<string, string>,
) {
  if (!(await authenticate(st, req, res, form))) return;
  await store.revokeToken(st.db, 'access_tokens', form.token!).catch(() => undefined);
  await store.revokeToken(st.db, 'refresh_tokens', form.token!).catch(() => undefined);
  res.writeHead(200, { 'content-length': 0 });
  res.end();
}

/** RFC 7662: only tokens of the calling client show as active. */
export async function introspectEndpoint(
  st: AppState,
  req: IncomingMessage,
  res: ServerResponse,
  form: Record<string, string>,
) {
  const client = await authenticate(st, req, res, form);
  if (!client) return;
  for (const [table, type] of [
    ['access_tokens', 'bearer'],
    ['refresh_tokens', 'refresh_token'],
  ] as const) {
    const t = await store.getTokenRaw(st.db, table, form.token!);
    if (!t) continue;
    if (!store.isLive(t) || t.client_id !== client.client_id) return sendJson(res, 200, { active: false });
    return sendJson(res, 200, {
      active: true,
      scope: t.scope,
      client_id: t.client_id,
      sub: t.subject,
      exp: Number(t.expires_at),
      iat: Number(t.created_at),
      token_type: type,
    });
  }
  sendJson(res, 200, { active: false });
}
