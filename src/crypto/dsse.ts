import { signBytes, verifyBytes, type Signer, type Verifier } from './signing.js';

/**
 * DSSE v1 envelopes (Dead Simple Signing Envelope). The signature covers the pre-authentication
 * encoding of the payload type and the exact payload bytes, so there is no canonicalisation to get
 * wrong and any DSSE implementation verifies what barysafe signs. Hand-written because it is a
 * dozen lines; the only npm implementation (@sigstore/core) needs Node 22 from its current major.
 */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface DsseSignature {
  /** barysafe's key fingerprint: "ed25519:" + base64url(SHA-256(SPKI DER)). */
  keyid: string;
  /** Base64 (standard alphabet) Ed25519 signature over PAE(payloadType, payload). */
  sig: string;
}

export interface DsseEnvelope {
  payloadType: string;
  /** Base64 of the payload bytes. */
  payload: string;
  signatures: DsseSignature[];
}

/** PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in bytes as ASCII decimal. */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'utf8'),
    type,
    Buffer.from(` ${payload.length} `, 'utf8'),
    payload,
  ]);
}

export function signEnvelope(payloadType: string, payload: Uint8Array, signer: Signer): DsseEnvelope {
  return {
    payloadType,
    payload: Buffer.from(payload).toString('base64'),
    signatures: [signatureOf(payloadType, payload, signer)],
  };
}

/** A further signature over the same payload (a reviewer's countersignature); the payload is unchanged. */
export function addSignature(envelope: DsseEnvelope, signer: Signer): DsseEnvelope {
  if (envelope.signatures.some((s) => s.keyid === signer.keyId)) return envelope;
  const payload = payloadBytes(envelope);
  return { ...envelope, signatures: [...envelope.signatures, signatureOf(envelope.payloadType, payload, signer)] };
}

function signatureOf(payloadType: string, payload: Uint8Array, signer: Signer): DsseSignature {
  return { keyid: signer.keyId, sig: signBytes(signer, preAuthEncoding(payloadType, payload)) };
}

export function payloadBytes(envelope: DsseEnvelope): Buffer {
  return Buffer.from(envelope.payload, 'base64');
}

export type SignatureCheck =
  { keyid: string; status: 'valid' } | { keyid: string; status: 'invalid' } | { keyid: string; status: 'unknown-key' };

/**
 * Checks every signature against the keys given (matched by keyid). The payload is not parsed:
 * DSSE asks verifiers to authenticate before they interpret.
 */
export function checkSignatures(envelope: DsseEnvelope, keys: Verifier[]): SignatureCheck[] {
  const pae = preAuthEncoding(envelope.payloadType, payloadBytes(envelope));
  return envelope.signatures.map((s) => {
    const key = keys.find((k) => k.keyId === s.keyid);
    if (!key) return { keyid: s.keyid, status: 'unknown-key' } as const;
    return { keyid: s.keyid, status: verifyBytes(key, pae, s.sig) ? 'valid' : 'invalid' } as const;
  });
}

/** Parses an envelope's outer JSON shape (not its payload); null when it is not a DSSE envelope. */
export function parseEnvelope(bytes: Uint8Array): DsseEnvelope | null {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return null;
  }
  const e = v as Partial<DsseEnvelope> | null;
  if (!e || typeof e !== 'object' || typeof e.payloadType !== 'string' || typeof e.payload !== 'string') return null;
  if (!Array.isArray(e.signatures)) return null;
  if (!e.signatures.every((s) => s && typeof s.keyid === 'string' && typeof s.sig === 'string')) return null;
  return { payloadType: e.payloadType, payload: e.payload, signatures: e.signatures };
}

/** The stored form: one line, so a directory of records concatenates into an in-toto JSON Lines bundle. */
export function serializeEnvelope(envelope: DsseEnvelope): Buffer {
  return Buffer.from(JSON.stringify(envelope) + '\n', 'utf8');
}
