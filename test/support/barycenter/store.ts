// OIDC rows (clients, sessions, codes, tokens, device codes), mirroring Barycenter's storage.rs.
import type { Db, Row } from './db.js';
import { nowSecs, randomId, userCode } from './ids.js';

export interface Client {
  client_id: string;
  client_secret: string;
  client_name: string | null;
  redirect_uris: string[];
  created_at: number;
}

export async function createClient(db: Db, clientName: string | null, redirectUris: string[]): Promise<Client> {
  const c: Client = {
    client_id: randomId(),
    client_secret: randomId(),
    client_name: clientName,
    redirect_uris: redirectUris,
    created_at: nowSecs(),
  };
  await db.run(
    'INSERT INTO clients (client_id, client_secret, client_name, redirect_uris, created_at) VALUES (?, ?, ?, ?, ?)',
    [c.client_id, c.client_secret, clientName, JSON.stringify(redirectUris), c.created_at],
  );
  return c;
}

export async function getClient(db: Db, clientId: string): Promise<Client | undefined> {
  const r = await db.get('SELECT * FROM clients WHERE client_id = ?', [clientId]);
  if (!r) return undefined;
  let uris: string[] = [];
  try {
    uris = JSON.parse(String(r.redirect_uris));
  } catch {
    /* leave empty */
  }
  return { ...(r as unknown as Client), redirect_uris: uris };
}

export interface Session {
  session_id: string;
  subject: string;
  auth_time: number;
  expires_at: number;
  amr: string | null;
  acr: string | null;
  mfa_verified: number;
}

export async function createSession(
  db: Db,
  subject: string,
  authTime: number,
  ttl: number,
  userAgent: string | null,
): Promise<string> {
  const id = randomId();
  await db.run(
    'INSERT INTO sessions (session_id, subject, auth_time, created_at, expires_at, user_agent, ip_address, amr, acr, mfa_verified) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, NULL, 0)',
    [id, subject, authTime, nowSecs(), authTime + ttl, userAgent],
  );
  return id;
}

/** Expired sessions read as absent. */
export async function getSession(db: Db, id: string): Promise<Session | undefined> {
  const r = await db.get('SELECT * FROM sessions WHERE session_id = ?', [id]);
  if (!r || nowSecs() > Number(r.expires_at)) return undefined;
  return r as unknown as Session;
}

export const deleteSession = (db: Db, id: string) => db.run('DELETE FROM sessions WHERE session_id = ?', [id]);

export interface AuthCode {
  code: string;
  client_id: string;
  redirect_uri: string;
  scope: string;
  subject: string;
  nonce: string | null;
  code_challenge: string;
  code_challenge_method: string;
  auth_time: number | null;
}

export async function issueAuthCode(db: Db, c: Omit<AuthCode, 'code'>, ttl: number): Promise<string> {
  const code = randomId();
  const now = nowSecs();
  await db.run(
    'INSERT INTO auth_codes (code, client_id, redirect_uri, scope, subject, nonce, code_challenge, code_challenge_method, created_at, expires_at, consumed, auth_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)',
    [
      code,
      c.client_id,
      c.redirect_uri,
      c.scope,
      c.subject,
      c.nonce,
      c.code_challenge,
      c.code_challenge_method,
      now,
      now + ttl,
      c.auth_time,
    ],
  );
  return code;
}

/** Single use: a consumed or expired code is gone. */
export async function consumeAuthCode(db: Db, code: string): Promise<AuthCode | undefined> {
  const r = await db.get('SELECT * FROM auth_codes WHERE code = ?', [code]);
  if (!r || Number(r.consumed) !== 0 || nowSecs() > Number(r.expires_at)) return undefined;
  await db.run('UPDATE auth_codes SET consumed = 1 WHERE code = ?', [code]);
  return r as unknown as AuthCode;
}

export interface TokenRow {
  token: string;
  client_id: string;
  subject: string;
  scope: string;
  created_at: number;
  expires_at: number;
  revoked: number;
  parent_token?: string | null;
}

export async function issueAccessToken(
  db: Db,
  clientId: string,
  subject: string,
  scope: string,
  ttl: number,
): Promise<string> {
  const t = randomId();
  const now = nowSecs();
  await db.run(
    'INSERT INTO access_tokens (token, client_id, subject, scope, created_at, expires_at, revoked) VALUES (?, ?, ?, ?, ?, ?, 0)',
    [t, clientId, subject, scope, now, now + ttl],
  );
  return t;
}

export async function issueRefreshToken(
  db: Db,
  clientId: string,
  subject: string,
  scope: string,
  ttl: number,
  parent: string | null,
): Promise<string> {
  const t = randomId();
  const now = nowSecs();
  await db.run(
    'INSERT INTO refresh_tokens (token, client_id, subject, scope, created_at, expires_at, revoked, parent_token) VALUES (?, ?, ?, ?, ?, ?, 0, ?)',
    [t, clientId, subject, scope, now, now + ttl, parent],
  );
  return t;
}

/** Raw row regardless of expiry or revocation. */
export const getTokenRaw = async (db: Db, table: 'access_tokens' | 'refresh_tokens', token: string) =>
  (await db.get(`SELECT * FROM ${table} WHERE token = ?`, [token])) as TokenRow | undefined;

export const isLive = (t: TokenRow | undefined): t is TokenRow =>
  !!t && Number(t.revoked) === 0 && nowSecs() <= Number(t.expires_at);

export const revokeToken = (db: Db, table: 'access_tokens' | 'refresh_tokens', token: string) =>
  db.run(`UPDATE ${table} SET revoked = 1 WHERE token = ?`, [token]);

export interface DeviceCode {
  device_code: string;
  user_code: string;
  client_id: string;
  client_name: string | null;
  scope: string;
  expires_at: number;
  last_poll_at: number | null;
  interval: number;
  status: string;
  subject: string | null;
  auth_time: number | null;
  amr: string | null;
  acr: string | null;
}

export async function createDeviceCode(
  db: Db,
  clientId: string,
  clientName: string | null,
  scope: string,
  deviceInfo: string,
): Promise<DeviceCode> {
  const now = nowSecs();
  const dc: DeviceCode = {
    device_code: randomId(),
    user_code: userCode(),
    client_id: clientId,
    client_name: clientName,
    scope,
    expires_at: now + 1800,
    last_poll_at: null,
    interval: 5,
    status: 'pending',
    subject: null,
    auth_time: null,
    amr: null,
    acr: null,
  };
  await db.run(
    'INSERT INTO device_codes (device_code, user_code, client_id, client_name, scope, device_info, created_at, expires_at, last_poll_at, "interval", status, subject, auth_time, amr, acr) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, 5, ?, NULL, NULL, NULL, NULL)',
    [dc.device_code, dc.user_code, clientId, clientName, scope, deviceInfo, now, dc.expires_at, 'pending'],
  );
  return dc;
}

async function liveDeviceCode(
  db: Db,
  column: 'device_code' | 'user_code',
  value: string,
): Promise<DeviceCode | undefined> {
  const r = (await db.get(`SELECT * FROM device_codes WHERE ${column} = ?`, [value])) as Row | undefined;
  if (!r || Number(r.expires_at) < nowSecs()) return undefined;
  return {
    ...(r as unknown as DeviceCode),
    interval: Number(r.interval),
    last_poll_at: r.last_poll_at === null ? null : Number(r.last_poll_at),
  };
}
export const getDeviceCode = (db: Db, code: string) => liveDeviceCode(db, 'device_code', code);
export const getDeviceCodeByUserCode = (db: Db, code: string) => liveDeviceCode(db, 'user_code', code);

export const touchDeviceCodePoll = (db: Db, code: string) =>
  db.run('UPDATE device_codes SET last_poll_at = ? WHERE device_code = ?', [nowSecs(), code]);
export const slowDownDeviceCode = (db: Db, code: string) =>
  db.run('UPDATE device_codes SET "interval" = "interval" + 5 WHERE device_code = ?', [code]);
export const approveDeviceCode = (db: Db, code: string, s: Session) =>
  db.run(
    "UPDATE device_codes SET status = 'approved', subject = ?, auth_time = ?, amr = ?, acr = ? WHERE device_code = ?",
    [s.subject, s.auth_time, s.amr, s.acr, code],
  );
export const denyDeviceCode = (db: Db, code: string) =>
  db.run("UPDATE device_codes SET status = 'denied' WHERE device_code = ?", [code]);

export async function consumeDeviceCode(db: Db, code: string): Promise<DeviceCode | undefined> {
  const dc = await getDeviceCode(db, code);
  if (!dc || dc.status !== 'approved') return undefined;
  await db.run("UPDATE device_codes SET status = 'consumed' WHERE device_code = ?", [code]);
  return dc;
}

/**
 * Consent goes through the entity's table name `consents`, which no migration creates (the table is
 * `consent`): lookups fail and are read as "no consent", inserts fail. Reproduced on purpose.
 */
export async function hasConsent(db: Db, clientId: string, subject: string, scope: string): Promise<boolean> {
  try {
    const rows = await db.all('SELECT scope FROM consents WHERE client_id = ? AND subject = ? AND revoked = 0', [
      clientId,
      subject,
    ]);
    const want = scope.split(/\s+/).filter(Boolean);
    return rows.some((r) => {
      const have = String(r.scope).split(/\s+/);
      return want.every((s) => have.includes(s));
    });
  } catch {
    return false;
  }
}

export async function grantConsent(db: Db, clientId: string, subject: string, scope: string): Promise<void> {
  await db.run(
    'INSERT INTO consents (client_id, subject, scope, granted_at, expires_at, revoked) VALUES (?, ?, ?, ?, NULL, 0)',
    [clientId, subject, scope, nowSecs()],
  );
}
