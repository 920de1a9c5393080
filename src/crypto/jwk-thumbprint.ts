import { createHash } from 'node:crypto';

/** The members of a JWK that its thumbprint covers, by key type (RFC 7638, section 3.2). */
const REQUIRED: Record<string, readonly string[]> = {
  RSA: ['e', 'kty', 'n'],
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  oct: ['k', 'kty'],
};

/**
 * The SHA-256 JWK thumbprint (RFC 7638): the required members, in lexicographic order, as JSON
 * without whitespace, hashed and base64url-encoded. Written here rather than taken from jose,
 * whose module graph costs ~30 ms of the start-up of every backup and restore for these lines; a
 * test holds it to jose's result and to the RFC's example.
 * Throws when the key type is unknown or a required member is missing or not a string.
 */
export function jwkThumbprint(jwk: Readonly<Record<string, unknown>>): string {
  const members = typeof jwk.kty === 'string' ? REQUIRED[jwk.kty] : undefined;
  if (!members) throw new Error(`no thumbprint is defined for a JWK of type ${String(jwk.kty)}`);
  const canonical: Record<string, string> = {};
  for (const m of members) {
    const v = jwk[m];
    if (typeof v !== 'string' || v === '') throw new Error(`the JWK's "${m}" member is missing or not a string`);
    canonical[m] = v;
  }
  // JSON.stringify keeps the insertion order: the members come out sorted.
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url');
}
