/* eslint-disable no-restricted-imports -- the one module that may call node:crypto's key generation */
import { createPrivateKey, generateKeyPairSync, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto';

/**
 * Key generation that never exports a KeyObject that node:crypto's generateKeyPair(Sync) made.
 *
 * Why: the generation job's destructor locks its key's mutex, and exporting that key holds the
 * same mutex while it allocates JavaScript values. When a garbage collection runs during the
 * export and collects the finished job, the thread waits on a lock it holds itself, forever. That
 * showed up as test files hanging with `~KeyGenJob()` in a GC weak callback on top of the main
 * thread's stack (Node 20.20.2; the destructor is unchanged upstream). It reproduces by running
 * `generateKeyPairSync('x25519').privateKey.export({ format: 'jwk' })` in a loop under
 * `node --gc-interval=150` (test/keygen.test.ts). A backup wraps every artifact's file key with
 * such an ephemeral key, so the hang could have stopped a scheduled agent.
 *
 * So X25519 keys are made from 32 random bytes, as age itself makes them. RSA, EC and Ed25519
 * pairs come out of the generation job already encoded (its encoding options), so no KeyObject of
 * it is ever handed out. The lint rule `no-restricted-imports` keeps every other module off
 * `generateKeyPair(Sync)`.
 */

/** PKCS#8 DER of an X25519 private key, up to its 32 key bytes (RFC 8410). */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** A KeyObject of the X25519 private key with these 32 bytes (an age identity's scalar). */
export function x25519PrivateKey(scalar: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, scalar]), format: 'der', type: 'pkcs8' });
}

/** A new X25519 private key, and its 32 bytes. */
export function newX25519Key(): { privateKey: KeyObject; scalar: Buffer } {
  const scalar = randomBytes(32);
  return { privateKey: x25519PrivateKey(scalar), scalar };
}

export type KeyPairType =
  { type: 'rsa'; modulusLength: number } | { type: 'ec'; namedCurve: string } | { type: 'ed25519' };

/** A new key pair as PKCS#8 and SPKI PEM. */
export function newPemPair(spec: KeyPairType): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generate(spec, {
    privateKeyEncoding: { format: 'pem', type: 'pkcs8' },
    publicKeyEncoding: { format: 'pem', type: 'spki' },
  });
  return { privatePem: privateKey as string, publicPem: publicKey as string };
}

/** A new key pair as private and public JWKs. */
export function newJwkPair(spec: KeyPairType): { privateJwk: JsonWebKey; publicJwk: JsonWebKey } {
  const { privateKey, publicKey } = generate(spec, {
    privateKeyEncoding: { format: 'jwk' },
    publicKeyEncoding: { format: 'jwk' },
  });
  return { privateJwk: privateKey as JsonWebKey, publicJwk: publicKey as JsonWebKey };
}

/** One generation job whose keys come out encoded; RSA's public exponent is Node's default, 65537. */
function generate(spec: KeyPairType, encoding: object): { privateKey: unknown; publicKey: unknown } {
  // @types/node has no overload for a spec held in a union, nor for the 'jwk' encoding.
  const generateEncoded = generateKeyPairSync as unknown as (
    type: string,
    options: object,
  ) => { privateKey: unknown; publicKey: unknown };
  const { type, ...options } = spec;
  return generateEncoded(type, { ...options, ...encoding });
}
