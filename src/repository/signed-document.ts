import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import * as z from 'zod';
import { BarysafeError, ExitCode } from '../errors.js';
import { signBytes, verifyBytes, type Signer, type Verifier } from '../crypto/signing.js';

/**
 * Manifests and drill records are JSON documents signed with Ed25519 over their RFC 8785
 * canonical form (without the `signature` member), so formatting never breaks a signature.
 */
export const signatureSchema = z.object({ alg: z.literal('Ed25519'), key_id: z.string(), value: z.string() });
export type Signature = z.infer<typeof signatureSchema>;
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
 * Throws INTEGRITY when the signature is missing, made by another key, or does not verify, and
 * when the stored bytes are not exactly the form barysafe writes: the signature covers the parsed
 * content, so bytes that parse the same way but differ (a duplicate key that JSON.parse resolves
 * one way and another parser the other, escapes, number forms) are refused as altered.
 */
export function parseAndVerify<T extends object>(
  bytes: Uint8Array,
  verifier: Verifier,
  what: string,
  schema: z.ZodType<T>,
): Signed<T> {
  const doc = parseJson(bytes, what) as { signature?: Partial<Signature> };
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
  if (!Buffer.from(bytes).equals(serialize(doc))) {
    throw new BarysafeError(
      'signature',
      `${what} is not byte for byte the document barysafe signed and wrote (duplicate keys, escapes, number forms or reformatting): it was altered`,
      {
        exitCode: ExitCode.INTEGRITY,
        hint: 'do not restore from it; use another snapshot and investigate who can write to the repository',
      },
    );
  }
  // Checked after the signature: a signed document of the wrong shape was written by a broken
  // barysafe (or a newer, incompatible one), which is a different message than a forgery.
  return { ...conform(doc, what, schema), signature: sig as Signature };
}

/** Parses a stored document without verifying it (no verify key configured). */
export function parseDocument<T>(bytes: Uint8Array, what: string, schema: z.ZodType<T>): T {
  return conform(parseJson(bytes, what), what, schema);
}

/** Deeper than any document barysafe writes; bounds the recursion of everything that walks one. */
export const MAX_JSON_DEPTH = 32;

/**
 * Stored JSON (bounded by the reader's size cap). Nesting deeper than MAX_JSON_DEPTH and numbers
 * that are not finite (1e400) are INTEGRITY errors like any other damage: nothing later
 * (canonicalisation, schemas, rendering) may crash on what the repository holds.
 */
function parseJson(bytes: Uint8Array, what: string): object {
  if (nestingDepth(bytes) > MAX_JSON_DEPTH) {
    throw new BarysafeError('manifest', `${what} is nested deeper than ${MAX_JSON_DEPTH} levels; refusing it`, {
      exitCode: ExitCode.INTEGRITY,
    });
  }
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new BarysafeError('manifest', `${what} is not valid JSON (truncated or corrupt)`, {
      exitCode: ExitCode.INTEGRITY,
    });
  }
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new BarysafeError('manifest', `${what} is not a JSON object`, { exitCode: ExitCode.INTEGRITY });
  if (!allFinite(v)) {
    throw new BarysafeError('manifest', `${what} holds a number that is not finite (e.g. 1e400); refusing it`, {
      exitCode: ExitCode.INTEGRITY,
    });
  }
  return v;
}

/** The deepest bracket nesting of JSON text, counted outside strings, without parsing it. */
function nestingDepth(bytes: Uint8Array): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) max = depth;
      if (max > MAX_JSON_DEPTH) return max;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

function allFinite(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(allFinite);
  if (v && typeof v === 'object') return Object.values(v).every(allFinite);
  return true;
}

function conform<T>(doc: unknown, what: string, schema: z.ZodType<T>): T {
  const r = schema.safeParse(doc);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : '(document)';
  throw new BarysafeError(
    'manifest',
    `${what} is not a valid barysafe document: ${where}: ${issue?.message ?? 'invalid'}`,
    {
      exitCode: ExitCode.INTEGRITY,
      hint: 'it was not written by this version of barysafe, or was altered',
    },
  );
}
