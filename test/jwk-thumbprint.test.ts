import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { jwkThumbprint } from '../src/crypto/jwk-thumbprint.js';
import { newJwkPair } from '../src/crypto/keygen.js';

// The example of RFC 7638, section 3.1, with its published thumbprint.
const RFC_7638_KEY = {
  kty: 'RSA',
  n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
  e: 'AQAB',
  alg: 'RS256',
  kid: '2011-04-29',
};

test("the JWK thumbprint is RFC 7638's for its example key, and jose's for RSA, EC and OKP keys", async () => {
  assert.equal(jwkThumbprint(RFC_7638_KEY), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  const keys: JWK[] = [
    newJwkPair({ type: 'rsa', modulusLength: 2048 }).privateJwk as JWK,
    newJwkPair({ type: 'ec', namedCurve: 'P-256' }).privateJwk as JWK,
    newJwkPair({ type: 'ec', namedCurve: 'P-384' }).publicJwk as JWK,
    newJwkPair({ type: 'ed25519' }).privateJwk as JWK,
    { kty: 'oct', k: 'c2VjcmV0LWtleS1ieXRlcw' },
  ];
  for (const k of keys) {
    // Private and optional members play no part.
    assert.equal(jwkThumbprint({ ...k, kid: 'x', use: 'sig' }), await calculateJwkThumbprint(k, 'sha256'), k.kty);
  }
});

test('a JWK of an unknown type, or without a required member, has no thumbprint', () => {
  assert.throws(() => jwkThumbprint({ kty: 'RSA', n: RFC_7638_KEY.n }), /"e" member is missing/);
  assert.throws(
    () => jwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'AA', y: 7 }),
    /"y" member is missing or not a string/,
  );
  assert.throws(() => jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: '' }), /"x" member/);
  assert.throws(() => jwkThumbprint({ kty: 'PQ', x: 'AA' }), /no thumbprint is defined for a JWK of type PQ/);
  assert.throws(() => jwkThumbprint({ n: 'AA', e: 'AQAB' }), /type undefined/);
});
