import { formPost, parseJsonObject, request } from '../platform/http.js';
import { toLoopback } from './loopback-url.js';

/**
 * The device grant against the scratch instance: no consent table (broken
 * upstream, §3.5.1), no PKCE, no redirect URI. POST /device_authorization auto-registers a client;
 * POST /login gives a 303 with the barycenter_session cookie; POST /device/consent approves;
 * then exactly one POST /token (a second poll within 5 s would get slow_down).
 */
export interface DeviceGrantTokens {
  clientId: string;
  idToken: string;
  accessToken: string;
}

export class TokenFlowError extends Error {}

export async function deviceGrant(o: {
  baseUrl: string;
  issuer: string;
  discovery: Record<string, unknown>;
  username: string;
  password: string;
}): Promise<DeviceGrantTokens> {
  const endpoint = (name: string, fallback: string) =>
    toLoopback(o.discovery[name], o.issuer, o.baseUrl) ?? `${o.baseUrl}${fallback}`;

  const da = await request(
    endpoint('device_authorization_endpoint', '/device_authorization'),
    formPost({ scope: 'openid profile email', client_name: 'barysafe drill' }),
  );
  const dev = parseJsonObject(da.text);
  if (
    da.status !== 200 ||
    typeof dev?.device_code !== 'string' ||
    typeof dev.user_code !== 'string' ||
    typeof dev.client_id !== 'string'
  ) {
    throw new TokenFlowError(
      `POST /device_authorization answered ${da.status}${dev?.error ? ` ${String(dev.error)}` : ''}, not a device code with an auto-registered client`,
    );
  }

  const login = await request(`${o.baseUrl}/login`, formPost({ username: o.username, password: o.password }));
  const session = /(?:^|,\s*)barycenter_session=([^;,\s]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1];
  if (login.status !== 303 || !session) {
    throw new TokenFlowError(
      login.status === 307
        ? 'POST /login rejected the drill user (307: bad credentials — did sync-users reach the scratch database?)'
        : `POST /login answered ${login.status} without a barycenter_session cookie`,
    );
  }

  const consent = await request(
    `${o.baseUrl}/device/consent`,
    formPost({ user_code: dev.user_code, approved: 'true' }, { cookie: `barycenter_session=${session}` }),
  );
  if (consent.status !== 200)
    throw new TokenFlowError(`POST /device/consent answered ${consent.status}: ${consent.text.slice(0, 120)}`);

  const tok = await request(
    endpoint('token_endpoint', '/token'),
    formPost({
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: dev.device_code,
      client_id: dev.client_id,
    }),
  );
  const body = parseJsonObject(tok.text);
  if (tok.status !== 200 || typeof body?.id_token !== 'string' || typeof body.access_token !== 'string') {
    throw new TokenFlowError(
      `POST /token (device_code) answered ${tok.status}${body?.error ? ` ${String(body.error)}${body.error_description ? `: ${String(body.error_description)}` : ''}` : ''} instead of tokens`,
    );
  }
  return { clientId: dev.client_id, idToken: body.id_token, accessToken: body.access_token };
}
