// JwksManager: the private key is a pretty JSON JWK (despite the .pem name); jwks.json is written
// only when absent and then served as read at startup, never compared with the private key. The
// key is only deserialised at startup; josekit's RS256.signer_from_jwk judges it at each signing.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { newJwkPair } from '../../../src/crypto/keygen.js';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';
import { crab } from './errors.js';
import { randomKid } from './ids.js';
import type { Settings } from './settings.js';

export interface KeyManager {
  /** The JWKS document as loaded from disk at startup. */
  jwks: unknown;
  kid: string | undefined;
  sign(payload: Record<string, unknown>): Promise<string>;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw crab.serde((e as Error).message);
  }
}

export async function loadOrGenerateKeys(cfg: Settings['keys']): Promise<KeyManager> {
  mkdirSync(path.dirname(cfg.jwks_path), { recursive: true });
  mkdirSync(path.dirname(cfg.private_key_path), { recursive: true });

  let jwk: Record<string, unknown>;
  if (existsSync(cfg.private_key_path)) {
    const parsed = parseJson(readFileSync(cfg.private_key_path, 'utf8'));
    if (
      !parsed ||
      typeof parsed !== 'object' ||
      Array.isArray(parsed) ||
      typeof (parsed as { kty?: unknown }).kty !== 'string'
    ) {
      throw crab.serde('invalid type: expected a JWK object');
    }
    jwk = parsed as Record<string, unknown>;
  } else {
    const { privateJwk } = newJwkPair({ type: 'rsa', modulusLength: 2048 });
    // Member order follows josekit: key material first, then the metadata set afterwards.
    jwk = {
      ...(privateJwk as Record<string, unknown>),
      kid: cfg.key_id ?? randomKid(),
      alg: cfg.alg,
      use: 'sig',
    };
    writeFileSync(cfg.private_key_path, JSON.stringify(jwk, null, 2)); // plain write: mode follows umask
  }

  if (!existsSync(cfg.jwks_path)) {
    const pub: Record<string, unknown> = { kty: jwk.kty, n: jwk.n, e: jwk.e };
    for (const k of ['kid', 'alg', 'use'] as const) if (jwk[k] !== undefined) pub[k] = jwk[k];
    writeFileSync(cfg.jwks_path, JSON.stringify({ keys: [pub] }, null, 2));
  }
  const jwks = parseJson(readFileSync(cfg.jwks_path, 'utf8'));

  const kid = typeof jwk.kid === 'string' ? jwk.kid : undefined;
  return {
    jwks,
    kid,
    // Header is just {kid, alg} in josekit's insertion order: it starts from an empty header (no typ).
    sign: async (payload) =>
      new SignJWT(payload)
        .setProtectedHeader(kid !== undefined ? { kid, alg: 'RS256' } : { alg: 'RS256' })
        .sign(rs256Signer(jwk)),
  };
}

/** A JOSE error at signing time; build_id_token's callers turn it into a 500 answer. */
export class SigningError extends Error {}

/**
 * josekit RS256.signer_from_jwk: kty RSA, `alg` absent or RS256, `use` absent or sig, `key_ops`
 * absent or containing sign, at least 2048 bits; anything else is an error (the token endpoint
 * then answers 500).
 */
export function rs256Signer(jwk: Record<string, unknown>): KeyObject {
  const refuse = (m: string) => new SigningError(`Invalid JWK format: ${m}`);
  if (jwk.kty !== 'RSA') throw refuse(`A parameter kty must be RSA: ${String(jwk.kty)}`);
  if (jwk.alg !== undefined && jwk.alg !== 'RS256')
    throw refuse(`The JWK alg parameter must be RS256: ${String(jwk.alg)}`);
  if (jwk.use !== undefined && jwk.use !== 'sig') throw refuse(`The JWK use parameter must be sig: ${String(jwk.use)}`);
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('sign')))
    throw refuse('The JWK key_ops parameter must contain sign');
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  } catch (e) {
    throw refuse((e as Error).message);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < 2048) throw refuse(`key length must be 2048 or more: ${bits}`);
  return key;
}
