import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { BarysafeError, ExitCode, errorText } from '../errors.js';

/**
 * The age seam. Everything barysafe encrypts or decrypts passes through encryptStream /
 * decryptStream, so the payload cipher (typage's pure-JS ChaCha20-Poly1305 today, ~55 MiB/s)
 * can later be swapped for node:crypto's without touching callers.
 */

/** Validates an age recipient string; the message never echoes more than its prefix. */
export async function checkRecipient(r: string): Promise<void> {
  const shown = r.length > 12 ? `${r.slice(0, 12)}…` : r;
  if (!/^age1[0-9a-z]+$/.test(r)) {
    throw new BarysafeError(
      'recipient',
      `invalid age recipient "${shown}": expected an X25519 (age1…) or hybrid (age1pq1…) recipient`,
      {
        exitCode: ExitCode.USAGE,
        hint: 'copy the recipient line printed by `age-keygen -y identity.txt` (or `barysafe init`) into encryption.recipients',
      },
    );
  }
  try {
    const e = new Encrypter();
    e.addRecipient(r);
    await e.encrypt(new Uint8Array(0));
  } catch (err) {
    throw new BarysafeError('recipient', `invalid age recipient "${shown}": ${errorText(err)}`, {
      exitCode: ExitCode.USAGE,
      hint: 'check encryption.recipients for a truncated or mistyped key',
    });
  }
}

export async function encryptStream(recipients: readonly string[], input: Readable): Promise<Readable> {
  const e = new Encrypter();
  for (const r of recipients) e.addRecipient(r);
  const out = await e.encrypt(Readable.toWeb(input) as unknown as ReadableStream<Uint8Array>);
  return Readable.fromWeb(out as unknown as WebReadableStream<Uint8Array>);
}

/**
 * Decrypts a stream. The header is read before this resolves, so a wrong identity fails here;
 * a corrupt payload fails while the returned stream is read (mapped by describeDecryptError).
 */
export async function decryptStream(identities: readonly string[], input: Readable): Promise<Readable> {
  const d = new Decrypter();
  for (const i of identities) d.addIdentity(i);
  let out: ReadableStream<Uint8Array>;
  try {
    out = await d.decrypt(Readable.toWeb(input) as unknown as ReadableStream<Uint8Array>);
  } catch (err) {
    throw describeDecryptError(err);
  }
  const node = Readable.fromWeb(out as unknown as WebReadableStream<Uint8Array>);
  // Re-map late payload errors (flipped bytes, truncation) into the same clear messages.
  return Readable.from(
    (async function* () {
      try {
        for await (const chunk of node) yield chunk as Uint8Array;
      } catch (e) {
        throw describeDecryptError(e);
      }
    })(),
    { objectMode: false },
  );
}

export function describeDecryptError(err: unknown): BarysafeError {
  if (err instanceof BarysafeError) return err;
  const msg = errorText(err);
  if (/no identity matched/i.test(msg)) {
    return new BarysafeError(
      'identity',
      'the age identity does not match any recipient this snapshot was encrypted to',
      {
        exitCode: ExitCode.IDENTITY,
        hint: 'pass the identity file that belongs to one of the recipients in the manifest (--identity FILE or encryption.identity_file)',
        cause: err,
      },
    );
  }
  if (/invalid tag|truncat|unexpected end|last chunk|invalid header|failed to read header|malformed|mac/i.test(msg)) {
    return new BarysafeError('integrity', `the encrypted object is corrupt or truncated (${msg})`, {
      exitCode: ExitCode.INTEGRITY,
      hint: 'the object in the repository was altered after upload; restore from another snapshot',
      cause: err,
    });
  }
  return new BarysafeError('decrypt', `decryption failed: ${msg}`, { exitCode: ExitCode.INTEGRITY, cause: err });
}

/** Reads an age identity file: AGE-SECRET-KEY-1… lines; '#' comments and blanks ignored. */
export async function loadIdentities(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BarysafeError('identity', `cannot read age identity file ${file}: ${code ?? errorText(e)}`, {
      exitCode: ExitCode.IDENTITY,
      hint: 'pass --identity FILE or set encryption.identity_file',
    });
  }
  const ids = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const bad = ids.findIndex((l) => !/^AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]+$/.test(l));
  if (ids.length === 0 || bad >= 0) {
    throw new BarysafeError(
      'identity',
      `${file} is not an age identity file${bad >= 0 ? ` (line ${bad + 1} is not an AGE-SECRET-KEY-1… identity)` : ' (it holds no identity)'}`,
      {
        exitCode: ExitCode.IDENTITY,
        hint: 'use a file written by `age-keygen` or `barysafe init`',
      },
    );
  }
  return ids;
}

export async function newIdentity(): Promise<{ identity: string; recipient: string }> {
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}

export async function recipientOf(identity: string): Promise<string> {
  return identityToRecipient(identity);
}
