// The public OIDC listener: the routes barysafe's drills touch, with web.rs's status codes and headers.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AppState } from './app-state.js';
import { error as logError } from './log.js';
import {
  HttpError,
  appendQuery,
  formEncode,
  pctEncode,
  readForm,
  readJson,
  redirect,
  sendHtml,
  sendJson,
  sendText,
  sessionIdFromCookie,
} from './http-util.js';
import { buildIdToken, gatherClaims } from './id-token.js';
import { profile } from './profile.js';
import * as store from './store.js';
import { introspectEndpoint, revokeEndpoint, tokenEndpoint } from './token-endpoint.js';
import { createUser, getUserBySubject, verifyUserPassword } from './users.js';

const SECURITY_HEADERS: Record<string, string> = {
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'x-xss-protection': '1; mode=block',
  'content-security-policy':
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'",
  'referrer-policy': 'strict-origin-when-cross-origin',
  'permissions-policy': 'geolocation=(), microphone=(), camera=()',
};

type Handler = (st: AppState, req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

function discovery(st: AppState, _req: IncomingMessage, res: ServerResponse) {
  const iss = st.issuer;
  sendJson(res, 200, {
    issuer: iss,
    authorization_endpoint: `${iss}/authorize`,
    token_endpoint: `${iss}/token`,
    device_authorization_endpoint: `${iss}/device_authorization`,
    jwks_uri: `${iss}/.well-known/jwks.json`,
    registration_endpoint: `${iss}/connect/register`,
    userinfo_endpoint: `${iss}/userinfo`,
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    response_types_supported: ['code', 'id_token', 'id_token token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [st.settings.keys.alg],
    revocation_endpoint: `${iss}/revoke`,
    introspection_endpoint: `${iss}/introspect`,
    grant_types_supported: [
      'authorization_code',
      'refresh_token',
      'implicit',
      'urn:ietf:params:oauth:grant-type:device_code',
    ],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
    code_challenge_methods_supported: ['S256'],
    claims_supported: [
      'sub',
      'iss',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'nonce',
      'preferred_username',
      'name',
      'given_name',
      'family_name',
      'nickname',
      'picture',
      'profile',
      'website',
      'gender',
      'birthdate',
      'zoneinfo',
      'locale',
      'updated_at',
      'email',
      'email_verified',
    ],
    prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
    display_values_supported: ['page'],
    ui_locales_supported: ['en'],
    claim_types_supported: ['normal'],
  });
}

async function registerClient(st: AppState, req: IncomingMessage, res: ServerResponse) {
  const body = (await readJson(req)) as { redirect_uris?: unknown; client_name?: unknown } | null;
  if (!body || typeof body !== 'object' || !Array.isArray(body.redirect_uris)) {
    throw new HttpError(422, 'Failed to deserialize the JSON body into the target type: missing field `redirect_uris`');
  }
  const uris = body.redirect_uris.map(String);
  // Only emptiness is checked: any scheme, plain http and fragments are accepted.
  if (uris.length === 0)
    return sendJson(res, 400, { error: 'invalid_client_metadata', error_description: 'redirect_uris required' });
  const name = typeof body.client_name === 'string' ? body.client_name : null;
  const c = await store.createClient(st.db, name, uris);
  sendJson(res, 201, {
    client_id: c.client_id,
    client_secret: c.client_secret,
    client_name: c.client_name,
    redirect_uris: c.redirect_uris,
    client_id_issued_at: c.created_at,
    token_endpoint_auth_method: 'client_secret_post',
  });
}

function loginPage(_st: AppState, _req: IncomingMessage, res: ServerResponse, url: URL) {
  const err = url.searchParams.get('error');
  // return_to is inserted unescaped, as upstream (a finding, not a stand-in bug).
  const returnTo = url.searchParams.get('return_to') ?? '';
  sendHtml(
    res,
    200,
    `<!DOCTYPE html><html><head><title>Login</title></head><body>${err ? `<p class="error">${err}</p>` : ''}
<form method="POST" action="/login"><input type="hidden" name="return_to" value="${returnTo}">
<input name="username"><input name="password" type="password"><button type="submit">Sign in</button></form></body></html>`,
  );
}

async function loginSubmit(st: AppState, req: IncomingMessage, res: ServerResponse) {
  const form = await readForm(req, ['username', 'password']);
  const fail = (msg: string) =>
    redirect(
      res,
      profile().errorRedirect,
      `/login?error=${pctEncode(msg)}&return_to=${pctEncode(form.return_to ?? '')}`,
    );
  const subject = await verifyUserPassword(st.db, form.username!, form.password!);
  if (!subject) return fail('Invalid username or password');
  const user = await getUserBySubject(st.db, subject);
  if (!user) return fail('User not found');
  const now = Math.floor(Date.now() / 1000);
  const sid = await store.createSession(st.db, subject, now, 3600, req.headers['user-agent'] ?? null);
  const secure = st.issuer.startsWith('https://') ? 'Secure; ' : '';
  const location =
    Number(user.requires_2fa) === 1
      ? `/login/2fa?return_to=${pctEncode(form.return_to ?? '')}`
      : (form.return_to ?? '/');
  redirect(res, 303, location, {
    'set-cookie': `barycenter_session=${sid}; HttpOnly; ${secure}SameSite=Lax; Path=/; Max-Age=3600`,
  });
}

async function logout(st: AppState, req: IncomingMessage, res: ServerResponse) {
  const sid = sessionIdFromCookie(req);
  if (sid) await store.deleteSession(st.db, sid).catch(() => undefined);
  redirect(res, 303, '/', { 'set-cookie': 'barycenter_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0' });
}

async function registerUser(st: AppState, req: IncomingMessage, res: ServerResponse) {
  const form = await readForm(req, ['username', 'password']);
  try {
    await createUser(st.db, form.username!, form.password!, form.email ?? null);
    sendText(res, 201, 'User created');
  } catch (e) {
    sendText(res, 400, `Failed to create user: ${(e as Error).message}`);
  }
}

async function deviceAuthorization(st: AppState, req: IncomingMessage, res: ServerResponse) {
  const form = await readForm(req);
  const fwd = req.headers['x-forwarded-for'];
  const deviceInfo = JSON.stringify({
    ip_address: (typeof fwd === 'string' ? fwd.split(',')[0] : undefined) ?? 'Unknown',
    user_agent: req.headers['user-agent'] ?? 'Unknown',
  });
  let clientId: string,
    clientSecret: string,
    clientName: string | null,
    autoRegistered = false;
  if (form.client_id !== undefined) {
    const c = await store.getClient(st.db, form.client_id);
    if (!c) return sendJson(res, 401, { error: 'invalid_client', error_description: 'Client not found' });
    [clientId, clientSecret, clientName] = [c.client_id, c.client_secret, c.client_name];
  } else {
    // Anonymous auto-registration hands out a confidential client's secret (faithful finding).
    const name = form.client_name ?? 'Auto-registered Device';
    const c = await store.createClient(st.db, name, []);
    [clientId, clientSecret, clientName, autoRegistered] = [c.client_id, c.client_secret, name, true];
  }
  const scope = form.scope ?? 'openid';
  if (!scope.split(/\s+/).includes('openid'))
    return sendJson(res, 400, { error: 'invalid_scope', error_description: "Scope must include 'openid'" });
  const dc = await store.createDeviceCode(st.db, clientId, clientName, scope, deviceInfo);
  sendJson(res, 200, {
    device_code: dc.device_code,
    user_code: dc.user_code,
    verification_uri: `${st.issuer}/device`,
    verification_uri_complete: `${st.issuer}/device?user_code=${dc.user_code}`,
    expires_in: 1800,
    interval: 5,
    ...(autoRegistered ? { client_id: clientId, client_secret: clientSecret } : {}),
  });
}

async function devicePage(st: AppState, req: IncomingMessage, res: ServerResponse, url: URL) {
  const sid = sessionIdFromCookie(req);
  const sess = sid ? await store.getSession(st.db, sid) : undefined;
  const code = url.searchParams.get('user_code');
  if (!sess) return redirect(res, 307, `/login?return_to=${pctEncode(code ? `/device?user_code=${code}` : '/device')}`);
  sendHtml(
    res,
    200,
    `<!DOCTYPE html><html><head><title>Device Authorization</title></head><body>
<form method="POST" action="/device/verify"><input name="user_code" value="${code ?? ''}"><button type="submit">Continue</button></form></body></html>`,
  );
}

async function deviceVerify(st: AppState, req: IncomingMessage, res: ServerResponse) {
  const form = await readForm(req, ['user_code']);
  const sid = sessionIdFromCookie(req);
  const sess = sid ? await store.getSession(st.db, sid) : undefined;
  if (!sess) return sendText(res, 401, 'Not authenticated');
  const dc = await store.getDeviceCodeByUserCode(st.db, form.user_code!.toUpperCase());
  if (!dc) return sendText(res, 404, 'Device code not found or expired');
  sendHtml(
    res,
    200,
    `<!DOCTYPE html><html><head><title>Authorize Device</title></head><body><h1>Authorize ${dc.client_name ?? dc.client_id}</h1>
<form method="POST" action="/device/consent"><input type="hidden" name="user_code" value="${dc.user_code}">
<button name="approved" value="true">Approve</button><button name="approved" value="false">Deny</button></form></body></html>`,
  );
}

const deviceResultPage = (title: string, heading: string, text: string, ok: boolean) => `<!DOCTYPE html>
<html>
<head>
    <meta charset="UTF-8">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <title>${title}</title>
</head>
<body>
    <div class="container">
        <div class="${ok ? 'checkmark' : 'cross'}">${ok ? '✓' : '✗'}</div>
        <h1>${heading}</h1>
        <p>${text}</p>
    </div>
</body>
</html>`;

async function deviceConsent(st: AppState, req: IncomingMessage, res: ServerResponse) {
  const form = await readForm(req, ['user_code', 'approved']);
  if (!['true', 'false'].includes(form.approved!))
    throw new HttpError(422, 'Failed to deserialize form body: approved: provided string was not `true` or `false`');
  const sid = sessionIdFromCookie(req);
  if (!sid) return sendText(res, 401, 'Not authenticated');
  const sess = await store.getSession(st.db, sid);
  if (!sess) return sendText(res, 401, 'Session not found');
  const dc = await store.getDeviceCodeByUserCode(st.db, form.user_code!.toUpperCase());
  if (!dc) return sendText(res, 404, 'Device code not found or expired');
  // requires_2fa is ignored on this path, as upstream.
  if (form.approved === 'true') {
    await store.approveDeviceCode(st.db, dc.device_code, sess);
    sendHtml(
      res,
      200,
      deviceResultPage('Device Approved', 'Device Approved', 'You can now return to your device and continue.', true),
    );
  } else {
    await store.denyDeviceCode(st.db, dc.device_code);
    sendHtml(
      res,
      200,
      deviceResultPage('Device Denied', 'Device Access Denied', 'The authorization request has been rejected.', false),
    );
  }
}

async function userinfo(st: AppState, req: IncomingMessage, res: ServerResponse) {
  const hdr = { 'www-authenticate': 'Bearer realm="userinfo", error="invalid_token"' };
  const auth = req.headers.authorization;
  if (!auth?.startsWith('Bearer ')) return sendJson(res, 401, { error: 'invalid_token' }, hdr);
  const t = await store.getTokenRaw(st.db, 'access_tokens', auth.slice(7));
  if (!store.isLive(t)) return sendJson(res, 401, { error: 'invalid_token' }, hdr);
  let claims: Record<string, unknown>;
  try {
    claims = await gatherClaims(st.db, t.subject, t.scope);
  } catch {
    claims = { sub: t.subject };
  }
  sendJson(res, 200, claims);
}

async function getPropertyRoute(st: AppState, res: ServerResponse, owner: string, key: string) {
  const r = await st.db.get('SELECT value FROM properties WHERE owner = ? AND key = ?', [owner, key]);
  if (!r) return sendText(res, 404, 'Not found');
  sendText(res, 200, String(r.value), 'application/json');
}

const FORM_ROUTES: Record<
  string,
  (st: AppState, req: IncomingMessage, res: ServerResponse, form: Record<string, string>) => Promise<void>
> = {
  '/token': tokenEndpoint,
  '/revoke': revokeEndpoint,
  '/introspect': introspectEndpoint,
};
const FORM_REQUIRED: Record<string, string[]> = {
  '/token': ['grant_type'],
  '/revoke': ['token'],
  '/introspect': ['token'],
};

export function publicRoutes(st: AppState): Map<string, Map<string, Handler>> {
  const routes = new Map<string, Map<string, Handler>>();
  const add = (method: string, p: string, h: Handler) => {
    if (!routes.has(p)) routes.set(p, new Map());
    routes.get(p)!.set(method, h);
  };
  add('GET', '/.well-known/openid-configuration', discovery);
  add('GET', '/.well-known/jwks.json', (s, _q, res) => sendJson(res, 200, s.keys.jwks));
  add('POST', '/connect/register', registerClient);
  add('GET', '/login', loginPage);
  add('POST', '/login', loginSubmit);
  add('GET', '/logout', logout);
  add('GET', '/authorize', (s, q, r, u) => authorize(s, q, r, u));
  add('GET', '/consent', (_s, _q, res) => {
    // Reads ./static/consent.html from the working directory, which images do not ship.
    try {
      sendHtml(res, 200, readFileSync('static/consent.html', 'utf8'));
    } catch {
      sendText(res, 500, 'Consent page not found');
    }
  });
  add('POST', '/consent', consentSubmit);
  for (const [p, h] of Object.entries(FORM_ROUTES))
    add('POST', p, async (s, q, r) => h(s, q, r, await readForm(q, FORM_REQUIRED[p])));
  add('GET', '/userinfo', userinfo);
  add('POST', '/device_authorization', deviceAuthorization);
  add('GET', '/device', devicePage);
  add('POST', '/device/verify', deviceVerify);
  add('POST', '/device/consent', deviceConsent);
  add('GET', '/federation/trust-anchors', (s, _q, res) =>
    sendJson(res, 200, { trust_anchors: s.settings.federation.trust_anchors }),
  );
  if (st.settings.server.allow_public_registration) add('POST', '/register', registerUser);
  return routes;
}

// ---- /authorize and /consent -------------------------------------------------------------------

const errorRedirect = (res: ServerResponse, redirectUri: string, state: string | null, error: string, desc = '') => {
  const pairs: [string, string][] = [['error', error]];
  if (desc) pairs.push(['error_description', desc]);
  if (state !== null) pairs.push(['state', state]);
  redirect(res, profile().errorRedirect, appendQuery(redirectUri, pairs));
};

const PASSTHROUGH = ['state', 'nonce', 'prompt', 'display', 'ui_locales', 'claims_locales', 'max_age', 'acr_values'];

async function authorize(st: AppState, req: IncomingMessage, res: ServerResponse, url: URL) {
  const q = url.searchParams;
  for (const f of ['client_id', 'redirect_uri', 'response_type', 'scope']) {
    if (q.get(f) === null) throw new HttpError(400, `Failed to deserialize query string: missing field \`${f}\``);
  }
  const clientId = q.get('client_id')!,
    redirectUri = q.get('redirect_uri')!,
    responseType = q.get('response_type')!,
    scope = q.get('scope')!;
  const state = q.get('state'),
    nonce = q.get('nonce');
  // Errors before client validation go to the unvalidated redirect_uri (open redirect, faithful).
  if (!['code', 'id_token', 'id_token token'].includes(responseType))
    return errorRedirect(
      res,
      redirectUri,
      state,
      'unsupported_response_type',
      "only response_type=code, id_token, or 'id_token token' supported",
    );
  if (!scope.split(/\s+/).includes('openid'))
    return errorRedirect(res, redirectUri, state, 'invalid_scope', 'scope must include openid');
  const challenge = q.get('code_challenge');
  if (challenge === null || q.get('code_challenge_method') !== 'S256')
    return errorRedirect(res, redirectUri, state, 'invalid_request', 'PKCE (S256) required');
  const client = await store.getClient(st.db, clientId);
  if (!client) return errorRedirect(res, redirectUri, state, 'unauthorized_client', 'unknown client_id');
  if (!client.redirect_uris.includes(redirectUri))
    return errorRedirect(res, redirectUri, state, 'invalid_request', 'redirect_uri mismatch');

  const prompts = (q.get('prompt') ?? '').split(/\s+/).filter(Boolean);
  const sid = prompts.includes('login') || prompts.includes('select_account') ? undefined : sessionIdFromCookie(req);
  const sess = sid ? await store.getSession(st.db, sid) : undefined;
  const maxAge = q.get('max_age') !== null ? Number.parseInt(q.get('max_age')!, 10) : NaN;
  const now = Math.floor(Date.now() / 1000);
  const stale = sess && Number.isInteger(maxAge) && now - Number(sess.auth_time) > maxAge;
  const base: [string, string][] = [
    ['client_id', clientId],
    ['redirect_uri', redirectUri],
    ['response_type', responseType],
    ['scope', scope],
    ['code_challenge', challenge],
    ['code_challenge_method', 'S256'],
  ];
  const extras = (names: string[]) =>
    names.filter((n) => q.get(n) !== null).map((n) => [n, q.get(n)!] as [string, string]);
  if (!sess || Number(sess.expires_at) <= now || stale) {
    if (prompts.includes('none')) return errorRedirect(res, redirectUri, state, 'login_required');
    const returnTo = appendQuery('/authorize', [...base, ...extras([...PASSTHROUGH, 'login_hint'])]);
    return redirect(res, 307, `/login?return_to=${pctEncode(returnTo)}`);
  }
  const user = await getUserBySubject(st.db, sess.subject);
  if (!user) return errorRedirect(res, redirectUri, state, 'server_error', 'user not found');
  const highValue = scope.split(/\s+/).some((s) => ['admin', 'payment', 'transfer', 'delete'].includes(s));
  if (
    (Number(user.requires_2fa) === 1 || highValue || (Number.isInteger(maxAge) && maxAge < 300)) &&
    Number(sess.mfa_verified) === 0
  ) {
    return redirect(
      res,
      307,
      `/login/2fa?return_to=${pctEncode(appendQuery('/authorize', [...base, ...extras(PASSTHROUGH)]))}`,
    );
  }
  // Any value of BARYCENTER_SKIP_CONSENT (even "false" or "") skips consent.
  const skipConsent = process.env.BARYCENTER_SKIP_CONSENT !== undefined;
  if (
    !skipConsent &&
    (prompts.includes('consent') || !(await store.hasConsent(st.db, clientId, sess.subject, scope)))
  ) {
    if (prompts.includes('none')) return errorRedirect(res, redirectUri, state, 'consent_required');
    const pairs: [string, string][] = [
      ['client_id', clientId],
      ['scope', scope],
      ['redirect_uri', redirectUri],
      ['response_type', responseType],
      ['code_challenge', challenge],
      ['code_challenge_method', 'S256'],
    ];
    if (client.client_name !== null) pairs.push(['client_name', client.client_name]);
    return redirect(res, 307, appendQuery('/consent', [...pairs, ...extras(PASSTHROUGH)]));
  }
  await issueAuthorizationResult(st, res, {
    clientId,
    redirectUri,
    responseType,
    scope,
    state,
    nonce,
    challenge,
    sess,
  });
}

interface AuthzResult {
  clientId: string;
  redirectUri: string;
  responseType: string;
  scope: string;
  state: string | null;
  nonce: string | null;
  challenge: string;
  sess: store.Session;
}

async function issueAuthorizationResult(st: AppState, res: ServerResponse, a: AuthzResult) {
  const withState = (pairs: [string, string][]) =>
    a.state !== null ? [...pairs, ['state', a.state] as [string, string]] : pairs;
  if (a.responseType === 'code') {
    const code = await store.issueAuthCode(
      st.db,
      {
        client_id: a.clientId,
        redirect_uri: a.redirectUri,
        scope: a.scope,
        subject: a.sess.subject,
        nonce: a.nonce,
        code_challenge: a.challenge,
        code_challenge_method: 'S256',
        auth_time: Number(a.sess.auth_time),
      },
      300,
    );
    return redirect(res, 307, appendQuery(a.redirectUri, withState([['code', code]])));
  }
  if (a.nonce === null)
    return errorRedirect(res, a.redirectUri, a.state, 'invalid_request', 'nonce required for implicit flow');
  const common = {
    issuer: st.issuer,
    clientId: a.clientId,
    subject: a.sess.subject,
    scope: a.scope,
    nonce: a.nonce,
    authTime: Number(a.sess.auth_time),
    amr: a.sess.amr,
    acr: a.sess.acr,
  };
  if (a.responseType === 'id_token') {
    const idToken = await buildIdToken(st.db, st.keys, common);
    return redirect(res, 307, `${a.redirectUri}#${formEncode(withState([['id_token', idToken]]))}`);
  }
  const at = await store.issueAccessToken(st.db, a.clientId, a.sess.subject, a.scope, 3600);
  const idToken = await buildIdToken(st.db, st.keys, { ...common, accessToken: at });
  redirect(
    res,
    307,
    `${a.redirectUri}#${formEncode(
      withState([
        ['access_token', at],
        ['token_type', 'bearer'],
        ['expires_in', '3600'],
        ['id_token', idToken],
      ]),
    )}`,
  );
}

async function consentSubmit(st: AppState, req: IncomingMessage, res: ServerResponse) {
  const form = await readForm(req, ['client_id', 'scope', 'redirect_uri', 'response_type', 'action']);
  const state = form.state ?? null;
  const sid = sessionIdFromCookie(req);
  const sess = sid ? await store.getSession(st.db, sid) : undefined;
  if (!sess) return redirect(res, 307, '/login');
  if (form.action !== 'approve')
    return errorRedirect(res, form.redirect_uri!, state, 'access_denied', 'user denied consent');
  try {
    await store.grantConsent(st.db, form.client_id!, sess.subject, form.scope!);
  } catch {
    // Always taken on a migrated database: the `consents` table does not exist (§3.5).
    return errorRedirect(res, form.redirect_uri!, state, 'server_error', 'failed to store consent');
  }
  await issueAuthorizationResult(st, res, {
    clientId: form.client_id!,
    redirectUri: form.redirect_uri!,
    responseType: form.response_type!,
    scope: form.scope!,
    state,
    nonce: form.nonce ?? null,
    challenge: form.code_challenge ?? '',
    sess,
  });
}

export function createPublicServer(st: AppState): Server {
  const routes = publicRoutes(st);
  return createServer((req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const props = /^\/properties\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    const byMethod = routes.get(url.pathname);
    const handler: Handler | undefined = props
      ? req.method === 'GET'
        ? (s, _q, r) => getPropertyRoute(s, r, decodeURIComponent(props[1]!), decodeURIComponent(props[2]!))
        : undefined
      : byMethod?.get(req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET'));
    if (!handler) {
      res.writeHead(byMethod || props ? 405 : 404, { 'content-length': 0 });
      return void res.end();
    }
    Promise.resolve(handler(st, req, res, url)).catch((e: unknown) => {
      if (e instanceof HttpError) return sendText(res, e.status, e.body, e.contentType);
      logError('barycenter::web', `request failed: ${(e as Error).message}`);
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
      else res.end();
    });
  });
}
