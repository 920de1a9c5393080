import { createPublicKey, type KeyObject } from 'node:crypto';
import { bech32 } from '@scure/base';
import { newX25519Key, x25519PrivateKey } from './keygen.js';

/**
 * age's native X25519 keys: recipients are Bech32 "age1…" (the 32-byte public key), identities
 * Bech32 "AGE-SECRET-KEY-1…" (the 32-byte scalar, upper case). Bech32 from @scure/base (typage's
 * own dependency); the X25519 keys are node:crypto KeyObjects.
 *
 * Hybrid post-quantum (age1pq1…, AGE-SECRET-KEY-PQ-1…) and tag (age1tag1…) keys are typage's
 * (age-typage.ts): isNativeRecipient / isNativeIdentity tell the two apart.
 */

export interface X25519Identity {
  privateKey: KeyObject;
  /** The raw 32-byte public key, which salts the wrap key. */
  publicKey: Buffer;
}

export function isNativeRecipient(r: string): boolean {
  return !/^age1(pq|tag|tagpq)1/i.test(r);
}

export function isNativeIdentity(i: string): boolean {
  return /^AGE-SECRET-KEY-1/i.test(i);
}

function decode(s: string, prefix: string, what: string): Buffer {
  let decoded: { prefix: string; words: number[] };
  try {
    decoded = bech32.decode(s as `${string}1${string}`);
  } catch (e) {
    throw new Error(`not a valid ${what} (${(e as Error).message})`);
  }
  if (decoded.prefix !== prefix) throw new Error(`not a valid ${what} (prefix ${decoded.prefix})`);
  const bytes = Buffer.from(bech32.fromWords(decoded.words));
  if (bytes.length !== 32) throw new Error(`not a valid ${what} (${bytes.length} bytes instead of 32)`);
  return bytes;
}

/** The raw public key of an "age1…" recipient; throws with a short reason when it is not one. */
export function parseRecipient(r: string): Buffer {
  const raw = decode(r, 'age', 'X25519 recipient');
  publicKeyObject(raw); // rejects what OpenSSL does not take as a point encoding
  return raw;
}

export function publicKeyObject(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' });
}

export function parseIdentity(i: string): X25519Identity {
  const scalar = decode(i, 'age-secret-key-', 'X25519 identity');
  const privateKey = x25519PrivateKey(scalar);
  return { privateKey, publicKey: rawPublicKey(createPublicKey(privateKey)) };
}

export function rawPublicKey(k: KeyObject): Buffer {
  return Buffer.from(k.export({ format: 'jwk' }).x!, 'base64url');
}

export function encodeRecipient(raw: Buffer): string {
  return bech32.encode('age', bech32.toWords(raw));
}

export function generateIdentity(): { identity: string; recipient: string } {
  const { privateKey, scalar } = newX25519Key();
  return {
    identity: bech32.encode('age-secret-key-', bech32.toWords(scalar)).toUpperCase(),
    recipient: encodeRecipient(rawPublicKey(createPublicKey(privateKey))),
  };
}
