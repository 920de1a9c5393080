import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import { BarysafeError, ExitCode } from '../errors.js';
import { signBytes, verifyBytes, type Signer, type Verifier } from '../crypto/signing.js';

/**
 * Manifests and drill records are JSON documents signed with Ed25519 over their RFC 8785
 * canonical form (without the `signature` member), so formatting never breaks a signature.
 */
export interface Signature {
  alg: 'Ed25519';
  key_id: string;
  value: string;
}
export type Signed<T> = T & { signature: Signature };

// canonicalize is CommonJS (module.exports = fn) but its typings declare an ES default export.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

export function canonicalBytes(doc: object): Buffer {
  const { signature: _drop, ...rest } = doc as { signature?: unknown };
  return Buffer.from(canonicalize(rest) ?? '', 'utf8');
}

export function signDocument<T extends object>(doc: T, signer: Signer): Signed<T> {
  const value = signBytes(signer, canonicalBytes(doc));
  return { ...doc, signature: { alg: 'Ed25519', key_id: signer.keyId, value } };
}

/** Serialized form stored in the repository; its SHA-256 is what the next manifest chains to. */
export function serialize(doc: object): Buffer {
  return Buffer.from(JSON.stringify(doc, null, 2) + '\n', 'utf8');
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Parses and verifies a stored document. `what` names it in messages ("manifest of snapshot X").
 * Throws INTEGRITY when the signature is missing, made by another key, or does not verify.
 */
export function parseAndVerify<T extends object>(bytes: Uint8Array, verifier: Verifier, what: string): Signed<T> {
  const doc = parseDocument<Signed<T>>(bytes, what);
  const sig = doc.signature;
  if (!sig || sig.alg !== 'Ed25519' || typeof sig.value !== 'string') {
    throw new BarysafeError('signature', `${what} is not signed`, {
      exitCode: ExitCode.INTEGRITY,
      hint: 'it was not written by barysafe, or was altered',
    });
  }
  if (sig.key_id !== verifier.keyId) {
    throw new BarysafeError(
      'signature',
      `${what} is signed by ${sig.key_id}, not by the trusted key ${verifier.keyId}`,
      {
        exitCode: ExitCode.INTEGRITY,
        hint: "a forged snapshot, or encryption.signing_key_file / verify_key points at another repository's key",
      },
    );
  }
  if (!verifyBytes(verifier, canonicalBytes(doc), sig.value)) {
    throw new BarysafeError('signature', `${what} has an invalid signature: its content was altered after signing`, {
      exitCode: ExitCode.INTEGRITY,
      hint: 'do not restore from it; use another snapshot and investigate who can write to the repository',
    });
  }
  return doc;
}

export function parseDocument<T>(bytes: Uint8Array, what: string): T {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  } catch {
    throw new BarysafeError('manifest', `${what} is not valid JSON (truncated or corrupt)`, {
      exitCode: ExitCode.INTEGRITY,
    });
  }
}
