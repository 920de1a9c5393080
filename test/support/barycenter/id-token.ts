// ID token and userinfo claims, as web.rs build_id_token / gather_claims.
import { createHash } from 'node:crypto';
import type { Db } from './db.js';
import type { KeyManager } from './keys.js';
import { getProperties, getUserBySubject } from './users.js';

const PROFILE_CLAIMS = [
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
];

export const hasScope = (scope: string, s: string) => scope.split(/\s+/).includes(s);

export async function gatherClaims(db: Db, subject: string, scope: string): Promise<Record<string, unknown>> {
  const claims: Record<string, unknown> = { sub: subject };
  const profile = hasScope(scope, 'profile');
  const email = hasScope(scope, 'email');
  if (!profile && !email) return claims;
  const props = await getProperties(db, subject);
  const user = await getUserBySubject(db, subject);
  if (profile) {
    for (const c of PROFILE_CLAIMS) {
      if (props.has(c)) claims[c] = props.get(c);
      else if (c === 'preferred_username' && user) claims[c] = user.username;
    }
  }
  if (email) {
    if (props.has('email')) claims.email = props.get('email');
    else if (user?.email != null) claims.email = user.email;
    if (props.has('email_verified')) claims.email_verified = props.get('email_verified');
    else if (user) claims.email_verified = Number(user.email_verified) !== 0;
  }
  return claims;
}

/** Left 128 bits of SHA-256 of the access token, base64url. */
export const atHash = (token: string) =>
  createHash('sha256').update(token).digest().subarray(0, 16).toString('base64url');

export interface IdTokenInput {
  issuer: string;
  clientId: string;
  subject: string;
  scope: string;
  nonce?: string | null;
  authTime?: number | null;
  accessToken?: string;
  amr?: string | null;
  acr?: string | null;
}

export async function buildIdToken(db: Db, keys: KeyManager, t: IdTokenInput): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  // aud is a single string: josekit serialises a one-element audience that way.
  const payload: Record<string, unknown> = { iss: t.issuer, sub: t.subject, aud: t.clientId, iat, exp: iat + 3600 };
  if (t.nonce != null) payload.nonce = t.nonce;
  if (t.authTime != null) payload.auth_time = t.authTime;
  if (t.amr != null) {
    try {
      payload.amr = JSON.parse(t.amr);
    } catch {
      /* ignored like upstream */
    }
  }
  if (t.acr != null) payload.acr = t.acr;
  if (t.accessToken) payload.at_hash = atHash(t.accessToken);
  try {
    for (const [k, v] of Object.entries(await gatherClaims(db, t.subject, t.scope))) if (k !== 'sub') payload[k] = v;
  } catch {
    /* claim lookup failures are ignored upstream */
  }
  return keys.sign(payload);
}
