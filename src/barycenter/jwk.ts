import { createPrivateKey } from 'node:crypto';
import type { JWK } from 'jose';
import { jwkThumbprint } from '../crypto/jwk-thumbprint.js';
import { BarysafeError, ExitCode } from '../errors.js';
import { JWK_PRIVATE_MEMBERS } from '../redact.js';

/**
 * Barycenter's `private_key.pem` is a pretty-printed JSON JWK and `jwks.json` is
 * written once and served verbatim, so the two can silently disagree. These helpers
 * describe both without ever returning private material.
 */
export interface KeyFacts {
  kid: string | null;
  kty: string;
  alg: string | null;
  /** The JWK `use` and `key_ops` members, when present. */
  use: string | null;
  keyOps: string[] | null;
  /** RFC 7638 SHA-256 thumbprint of the public part. */
  thumbprint: string;
  modulusBits: number | null;
  hasPrivateMembers: boolean;
}

export interface JwksFacts {
  keys: Array<KeyFacts & { privateMembers: string[] }>;
}

export interface KeyJwksMatch {
  /** jwks.json publishes exactly this key: one key, same kid and thumbprint, no private members. */
  exact: boolean;
  /** The key (by thumbprint) appears among the published keys. */
  published: boolean;
  /** What breaks tokens or leaks the key: a fail. */
  problems: string[];
  /**
   * What is unusual but works: the signing key is published correctly alongside other public keys
   * (a key rotation in progress, where the old or next key stays published). A warn, not a fail.
   */
  warnings: string[];
}

/** Parses the private key file; messages never include the file's content. */
export async function parsePrivateJwk(text: string, file = 'private_key.pem'): Promise<{ facts: KeyFacts; jwk: JWK }> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(text) as JWK;
  } catch {
    const looksPem = /-----BEGIN/.test(text);
    throw new BarysafeError(
      'key',
      `${file} is not a JSON JWK${looksPem ? ' (it is PEM; Barycenter only reads a JSON JWK and would fail to start with "Serialization error")' : ''}`,
      {
        exitCode: ExitCode.SOURCE,
        hint: 'keys.private_key_path must point at the JSON JWK Barycenter generated',
      },
    );
  }
  if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk) || typeof jwk.kty !== 'string') {
    throw new BarysafeError('key', `${file} is JSON but not a JWK (no "kty")`, { exitCode: ExitCode.SOURCE });
  }
  if (jwk.kty !== 'RSA' || typeof jwk.n !== 'string' || typeof jwk.e !== 'string' || typeof jwk.d !== 'string') {
    throw new BarysafeError(
      'key',
      `${file} is not an RSA private JWK (kty=${jwk.kty}${typeof jwk.d === 'string' ? '' : ', no private exponent'})`,
      {
        exitCode: ExitCode.SOURCE,
        hint: 'Barycenter signs with RS256 and needs the private RSA JWK it generated',
      },
    );
  }
  try {
    createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  } catch {
    throw new BarysafeError('key', `${file} is an RSA JWK whose private members are inconsistent or damaged`, {
      exitCode: ExitCode.SOURCE,
    });
  }
  return { facts: await describe(jwk), jwk };
}

export async function parseJwks(text: string, file = 'jwks.json'): Promise<JwksFacts> {
  let doc: { keys?: unknown };
  try {
    doc = JSON.parse(text) as { keys?: unknown };
  } catch {
    throw new BarysafeError('jwks', `${file} is not valid JSON`, { exitCode: ExitCode.SOURCE });
  }
  if (!doc || !Array.isArray(doc.keys)) {
    throw new BarysafeError('jwks', `${file} is not a JWK Set (no "keys" array)`, { exitCode: ExitCode.SOURCE });
  }
  const keys = [];
  for (const k of doc.keys as JWK[]) {
    if (!k || typeof k.kty !== 'string')
      throw new BarysafeError('jwks', `${file} holds an entry that is not a JWK`, { exitCode: ExitCode.SOURCE });
    keys.push({ ...(await describe(k)), privateMembers: JWK_PRIVATE_MEMBERS.filter((m) => m in k) });
  }
  return { keys };
}

export const MIN_RSA_BITS = 2048;

/**
 * Why Barycenter's signer would refuse this key. It signs every ID token with josekit's
 * `RS256.signer_from_jwk`, which rejects a JWK whose `alg` is present and not RS256 (a key
 * generated while `keys.alg` was something else carries that alg), whose `use` is present and not
 * `sig`, whose `key_ops` lacks `sign`, or that is under 2048 bits. Barycenter itself only parses the
 * key at startup, so such a key boots fine and then every token request answers 500.
 */
export function signerRefusals(k: KeyFacts): string[] {
  const out: string[] = [];
  if (k.kty !== 'RSA') out.push(`kty is ${k.kty}, not RSA`);
  if (k.alg !== null && k.alg !== 'RS256') out.push(`"alg":"${k.alg}" (only RS256, or no alg, can sign)`);
  if (k.use !== null && k.use !== 'sig') out.push(`"use":"${k.use}" (must be "sig" or absent)`);
  if (k.keyOps !== null && !k.keyOps.includes('sign')) out.push(`"key_ops":${JSON.stringify(k.keyOps)} lacks "sign"`);
  if (k.kty === 'RSA' && (k.modulusBits ?? 0) < MIN_RSA_BITS)
    out.push(`RSA ${k.modulusBits ?? '?'} bits, under ${MIN_RSA_BITS}`);
  return out;
}

export function matchKeyToJwks(key: KeyFacts, jwks: JwksFacts): KeyJwksMatch {
  const problems: string[] = [];
  const same = jwks.keys.filter((k) => k.thumbprint === key.thumbprint);
  const published = same.length > 0;
  if (!published) {
    const byKid = jwks.keys.find((k) => k.kid !== null && k.kid === key.kid);
    problems.push(
      byKid
        ? `jwks.json publishes kid ${key.kid} with a different modulus (thumbprint ${byKid.thumbprint}, key ${key.thumbprint}): tokens will fail signature verification`
        : `jwks.json does not publish the signing key (key kid ${key.kid ?? '(none)'}, published kids ${jwks.keys.map((k) => k.kid ?? '(none)').join(', ') || '(none)'}): relying parties will fail with "unknown kid"`,
    );
  } else if (same.some((k) => k.kid !== key.kid)) {
    problems.push(`jwks.json publishes the key under kid ${same[0]!.kid}, but the private key's kid is ${key.kid}`);
  }
  const leaking = jwks.keys.filter((k) => k.privateMembers.length > 0);
  if (leaking.length)
    problems.push(
      `jwks.json contains private key members (${[...new Set(leaking.flatMap((k) => k.privateMembers))].join(', ')}): the private key is published`,
    );
  const warnings: string[] = [];
  if (jwks.keys.length !== 1) {
    const others = jwks.keys.filter((k) => k.thumbprint !== key.thumbprint);
    const text = `jwks.json publishes ${jwks.keys.length} keys; Barycenter writes exactly one`;
    // The signing key published correctly beside other public keys is a rotation in progress:
    // relying parties still verify every token. Anything else about the set is a problem.
    if (problems.length === 0 && others.length > 0)
      warnings.push(
        `${text}: besides the signing key it publishes kid ${others.map((k) => k.kid ?? '(none)').join(', ')} (a key rotation in progress?)`,
      );
    else problems.push(text);
  }
  return { exact: problems.length === 0 && warnings.length === 0, published, problems, warnings };
}

async function describe(jwk: JWK): Promise<KeyFacts> {
  const publicOnly: JWK =
    jwk.kty === 'RSA'
      ? { kty: 'RSA', n: jwk.n, e: jwk.e }
      : jwk.kty === 'EC'
        ? { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y }
        : { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
  let thumbprint: string;
  try {
    thumbprint = jwkThumbprint(publicOnly as Record<string, unknown>);
  } catch {
    throw new BarysafeError('key', `a ${jwk.kty} JWK lacks the members needed for its thumbprint`, {
      exitCode: ExitCode.SOURCE,
    });
  }
  return {
    kid: typeof jwk.kid === 'string' ? jwk.kid : null,
    kty: jwk.kty!,
    alg: typeof jwk.alg === 'string' ? jwk.alg : null,
    use: typeof jwk.use === 'string' ? jwk.use : null,
    keyOps: Array.isArray(jwk.key_ops) ? jwk.key_ops.map(String) : null,
    thumbprint,
    modulusBits: jwk.kty === 'RSA' && typeof jwk.n === 'string' ? modulusBits(jwk.n) : null,
    hasPrivateMembers: JWK_PRIVATE_MEMBERS.some((m) => m in jwk),
  };
}

function modulusBits(nB64: string): number {
  const bytes = Buffer.from(nB64, 'base64url');
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return 0;
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes[i]!));
}
