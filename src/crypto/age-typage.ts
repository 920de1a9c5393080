import { Decrypter, Encrypter, identityToRecipient } from 'age-encryption';
import { errorText } from '../errors.js';
import { AgeHeaderError } from './age-header.js';

/**
 * typage (age-encryption) for the keys barysafe does not handle natively: hybrid post-quantum
 * (age1pq1…) and tag (age1tag1…) recipients and AGE-SECRET-KEY-PQ-1 identities. Loaded only when
 * such a key is configured (importing typage takes ~0.1 s). The payload stays native either way.
 */

/**
 * A fresh file key and the header typage writes for it. typage generates the file key inside
 * Encrypter.encrypt() and hands it to each recipient's wrapFileKey(); the first recipient here
 * keeps that key and adds no stanza. The file typage then produces for an empty payload is
 * header ‖ 16-byte nonce ‖ one 16-byte tag: the header is kept, the rest discarded.
 */
export async function typageHeader(recipients: readonly string[]): Promise<{ header: Buffer; fileKey: Buffer }> {
  let fileKey: Buffer | undefined;
  const e = new Encrypter();
  e.addRecipient({
    wrapFileKey: (k: Uint8Array) => {
      fileKey = Buffer.from(k);
      return [];
    },
  });
  for (const r of recipients) e.addRecipient(r);
  const empty = Buffer.from(await e.encrypt(new Uint8Array(0)));
  const header = empty.subarray(0, empty.length - 32);
  if (
    !fileKey ||
    fileKey.length !== 16 ||
    !header
      .subarray(header.lastIndexOf('\n---') + 1)
      .toString('latin1')
      .match(/^--- \S+\n$/)
  ) {
    // typage changed how it builds files: refuse rather than write something unreadable.
    throw new Error('age-encryption produced an unexpected file layout; cannot build an age header');
  }
  return { header, fileKey };
}

/** The file key of a header, with typage's parser and identities. */
export async function typageUnwrap(identities: readonly string[], header: Buffer): Promise<Buffer> {
  const d = new Decrypter();
  for (const i of identities) d.addIdentity(i);
  try {
    return Buffer.from(await d.decryptHeader(header));
  } catch (e) {
    const msg = errorText(e);
    if (/no identity matched/i.test(msg)) throw e;
    if (/HMAC/.test(msg)) throw new AgeHeaderError("the age header's MAC does not verify", { cause: e });
    throw new AgeHeaderError(`invalid age header (${msg})`, { cause: e });
  }
}

/** Validates a non-native recipient by encrypting an empty file to it. */
export async function typageCheckRecipient(r: string): Promise<void> {
  const e = new Encrypter();
  e.addRecipient(r);
  await e.encrypt(new Uint8Array(0));
}

export async function typageRecipientOf(identity: string): Promise<string> {
  return identityToRecipient(identity);
}
