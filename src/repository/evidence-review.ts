import { Readable } from 'node:stream';
import { BarysafeError, ExitCode } from '../errors.js';
import { addSignature, parseEnvelope, serializeEnvelope, type DsseEnvelope } from '../crypto/dsse.js';
import type { Signer } from '../crypto/signing.js';
import { evidenceKey, reviewKey } from './layout.js';
import { readObject } from './evidence.js';
import { repoError } from './repository.js';
import { StorageExistsError, StorageNotFoundError, type Storage } from './storage.js';

/**
 * A reviewer's sign-off: the same envelope with one more signature over the same payload. It is
 * stored beside the record (evidence/<n>.review-<key>.intoto.jsonl), never in place: the next
 * record chains to the record's exact bytes, so rewriting it would break the chain.
 */
export function countersign(bytes: Uint8Array, signer: Signer, what: string): DsseEnvelope {
  const envelope = parseEnvelope(bytes);
  if (!envelope)
    throw new BarysafeError('evidence', `${what} is not a DSSE envelope`, { exitCode: ExitCode.INTEGRITY });
  if (envelope.signatures.some((s) => s.keyid === signer.keyId))
    throw new BarysafeError('evidence', `${what} is already signed by ${signer.keyId}`, {
      exitCode: ExitCode.USAGE,
      hint: 'a reviewer signs with their own key, not with the key barysafe signs records with',
    });
  return addSignature(envelope, signer);
}

export async function countersignStored(
  storage: Storage,
  sequence: number,
  signer: Signer,
): Promise<{ key: string; envelope: DsseEnvelope }> {
  const recordKey = evidenceKey(sequence);
  let bytes: Buffer;
  try {
    bytes = await readObject(storage, recordKey);
  } catch (e) {
    if (e instanceof StorageNotFoundError)
      throw new BarysafeError('evidence', `there is no evidence record #${sequence} (${recordKey})`, {
        exitCode: ExitCode.USAGE,
        hint: 'list the records with `barysafe verify-evidence`',
      });
    throw e;
  }
  const envelope = countersign(bytes, signer, recordKey);
  const key = reviewKey(sequence, signer.keyId);
  const out = serializeEnvelope(envelope);
  try {
    await storage.put(key, Readable.from([out]), { contentLength: out.length, ifNoneMatch: true });
  } catch (e) {
    if (e instanceof StorageExistsError)
      throw new BarysafeError('evidence', `record #${sequence} already carries a review by ${signer.keyId} (${key})`, {
        exitCode: ExitCode.USAGE,
      });
    throw repoError(storage, e);
  }
  return { key, envelope };
}
