// JwksManager: the private key is a pretty JSON JWK (despite the .pem name); jwks.json is written
// only when absent and then served as read at startup, never compared with the private key.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
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
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });
    // Member order follows josekit: key material first, then the metadata set afterwards.
    jwk = {
      ...(privateKey.export({ format: 'jwk' }) as Record<string, unknown>),
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

  let key: KeyObject;
  try {
    key = createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
    createPublicKey(key);
  } catch (e) {
    // josekit would reject a JWK it cannot use when signing; at startup it is only deserialised.
    throw crab.serde(`invalid JWK: ${(e as Error).message}`);
  }
  const kid = typeof jwk.kid === 'string' ? jwk.kid : undefined;
  return {
    jwks,
    kid,
    // Header is just {kid, alg} in josekit's insertion order: it starts from an empty header (no typ).
    sign: (payload) =>
      new SignJWT(payload).setProtectedHeader(kid !== undefined ? { kid, alg: 'RS256' } : { alg: 'RS256' }).sign(key),
  };
}
