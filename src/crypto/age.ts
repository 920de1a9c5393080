import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import { AgeHeaderError, HeaderScanner, newX25519Header, unwrapX25519Header } from './age-header.js';
import {
  generateIdentity,
  isNativeIdentity,
  isNativeRecipient,
  parseIdentity,
  parseRecipient,
  encodeRecipient,
} from './age-keys.js';
import {
  AgePayloadError,
  CHUNK_SIZE,
  PAYLOAD_NONCE_SIZE,
  PayloadDecryptor,
  PayloadEncryptor,
  payloadKey,
} from './age-payload.js';

/**
 * The age seam. Everything barysafe encrypts or decrypts passes through encryptStream /
 * decryptStream (or AgeDecryptor). All of it is node:crypto: X25519 header (age-header.ts) and
 * STREAM payload (age-payload.ts), ten times faster than typage's pure-JS cipher and without
 * typage's load time. Hybrid post-quantum and tag keys go to typage for the header only
 * (age-typage.ts, loaded on demand).
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
    // A trial wrap also refuses a low-order point, which would fail only at the first backup.
    if (isNativeRecipient(r)) newX25519Header([parseRecipient(r)]);
    else await (await import('./age-typage.js')).typageCheckRecipient(r);
  } catch (err) {
    throw new BarysafeError('recipient', `invalid age recipient "${shown}": ${errorText(err)}`, {
      exitCode: ExitCode.USAGE,
      hint: 'check encryption.recipients for a truncated or mistyped key',
    });
  }
}

/**
 * Streams move data in buffers of up to this size (Node 20's default is 16 KiB): sixteen payload
 * chunks per hop instead of a quarter of one, which is what keeps the stream plumbing well below
 * the cipher's cost.
 */
export const STREAM_BUFFER = 1 << 20;

/**
 * A new age file to every recipient: its first bytes (the header and the payload's nonce) and the
 * encryptor of its payload, for a caller that moves the bytes itself (storeArtifact).
 */
export async function newAgeFile(
  recipients: readonly string[],
): Promise<{ prefix: Buffer; payload: PayloadEncryptor }> {
  const { header, fileKey } = recipients.every(isNativeRecipient)
    ? newX25519Header(recipients.map(parseRecipient))
    : await (await import('./age-typage.js')).typageHeader(recipients);
  const nonce = randomBytes(PAYLOAD_NONCE_SIZE);
  return { prefix: Buffer.concat([header, nonce]), payload: new PayloadEncryptor(payloadKey(fileKey, nonce)) };
}

/** Encrypts a stream to every recipient. */
export async function encryptStream(recipients: readonly string[], input: Readable): Promise<Readable> {
  const { prefix, payload } = await newAgeFile(recipients);
  const t = new EncryptTransform(payload, prefix);
  // An error of the input (pg_dump exiting non-zero…) destroys t with that same error.
  pipeline(input, t, () => {});
  return t;
}

/**
 * Decrypts a stream. The header is read before this resolves, so a wrong identity fails here;
 * a corrupt payload fails while the returned stream is read. Both come out as the clear
 * BarysafeErrors of describeDecryptError; an error of the input itself comes out unchanged.
 * No plaintext byte is released before its chunk's tag verified, and the stream ends only after
 * the last chunk did. On a failure, the plaintext of the chunks before it is released first (as
 * age does), then the error.
 */
export async function decryptStream(identities: readonly string[], input: Readable): Promise<Readable> {
  const dec = new AgeDecryptor(identities);
  const chunks = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let first: Buffer[] = [];
  try {
    while (!dec.headerDone) {
      const next = await chunks.next();
      // At the end of the input inside the header, end() throws saying so.
      if (next.done) dec.end();
      else first = await dec.update(next.value);
    }
  } catch (e) {
    await chunks.return?.(); // stops and destroys the input
    throw isAgeFailure(e) ? describeDecryptError(e) : e;
  }
  // One chunk of read-ahead: when a chunk fails, the ones before it have been read by the
  // consumer before the error arrives (a stream's error discards what it still buffers).
  return Readable.from(plaintextOf(dec, first, chunks), { objectMode: false, highWaterMark: CHUNK_SIZE });
}

async function* plaintextOf(dec: AgeDecryptor, first: Buffer[], chunks: AsyncIterator<Buffer>) {
  yield* first;
  for (;;) {
    const next = await chunks.next();
    const out: Buffer[] = [];
    let failure: unknown;
    try {
      if (next.done) dec.end(out);
      else dec.push(next.value, out);
    } catch (e) {
      failure = e;
    }
    yield* out;
    if (failure !== undefined) {
      await chunks.return?.();
      throw describeDecryptError(failure);
    }
    if (next.done) return;
  }
}

/** An age format failure (header, payload, no matching identity), as opposed to an I/O error. */
export function isAgeFailure(e: unknown): boolean {
  return e instanceof AgeHeaderError || e instanceof AgePayloadError || /no identity matched/i.test(errorText(e));
}

/**
 * An age file decrypted as its bytes arrive, without streams, for callers that hash, decrypt and
 * write in one loop. While the header is read, update() collects it (async: the identities are
 * tried); once headerDone, push() is synchronous and returns the plaintext of every chunk its input
 * completed; end() opens the last chunk once the input ended. Each throws at the first broken
 * rule: AgeHeaderError, AgePayloadError or typage's "no identity matched" (describeDecryptError
 * turns them into the user-facing errors). On a throw, `out` holds the chunks opened before it.
 */
export class AgeDecryptor {
  private scanner: HeaderScanner | null = new HeaderScanner();
  private fileKey?: Buffer;
  private nonce = Buffer.alloc(0);
  private payload?: PayloadDecryptor;

  constructor(private readonly identities: readonly string[]) {}

  /** True once the header verified and the payload nonce was read. */
  get headerDone(): boolean {
    return this.payload !== undefined;
  }

  /** push() once the header is done; until then, reads the header first. */
  async update(data: Uint8Array, out: Buffer[] = []): Promise<Buffer[]> {
    if (this.payload) return this.payload.push(data, out);
    const rest = await this.readHeader(data);
    return rest ? this.payload!.push(rest, out) : out;
  }

  push(data: Uint8Array, out: Buffer[] = []): Buffer[] {
    if (!this.payload) throw new Error('AgeDecryptor.push() before the header was read; use update()');
    return this.payload.push(data, out);
  }

  end(out: Buffer[] = []): Buffer[] {
    if (this.scanner) this.scanner.end();
    if (!this.payload) throw new AgeHeaderError('the file ends before the 16-byte payload nonce (truncated)');
    return this.payload.end(out);
  }

  /** The payload bytes after the header and nonce, once both are complete; null until then. */
  private async readHeader(data: Uint8Array): Promise<Buffer | null> {
    let rest: Uint8Array = data;
    if (this.scanner) {
      const found = this.scanner.push(data);
      if (!found) return null;
      this.scanner = null;
      this.fileKey = this.identities.every(isNativeIdentity)
        ? unwrapX25519Header(this.identities, found.header)
        : await (await import('./age-typage.js')).typageUnwrap(this.identities, found.header);
      rest = found.rest;
    }
    this.nonce = Buffer.concat([this.nonce, rest]);
    if (this.nonce.length < PAYLOAD_NONCE_SIZE) return null;
    this.payload = new PayloadDecryptor(payloadKey(this.fileKey!, this.nonce.subarray(0, PAYLOAD_NONCE_SIZE)));
    return this.nonce.subarray(PAYLOAD_NONCE_SIZE);
  }
}

class EncryptTransform extends Transform {
  private prefix: Buffer | null;
  constructor(
    private readonly enc: PayloadEncryptor,
    prefix: Buffer,
  ) {
    super({ readableHighWaterMark: STREAM_BUFFER, writableHighWaterMark: STREAM_BUFFER });
    this.prefix = prefix;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.emitAll(this.enc.push(chunk, this.takePrefix()));
    cb();
  }

  override _flush(cb: TransformCallback): void {
    this.emitAll(this.enc.end(this.takePrefix()));
    cb();
  }

  private takePrefix(): Buffer[] {
    const p = this.prefix;
    this.prefix = null;
    return p ? [p] : [];
  }

  /** Chunk by chunk: concatenating them per input buffer measured ~15 % more CPU (allocation and copy). */
  private emitAll(out: Buffer[]): void {
    for (const b of out) this.push(b);
  }
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
  if (
    err instanceof AgeHeaderError ||
    err instanceof AgePayloadError ||
    /invalid tag|truncat|unexpected end|last chunk|invalid header|failed to read header|malformed|mac/i.test(msg)
  ) {
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
  return generateIdentity();
}

export async function recipientOf(identity: string): Promise<string> {
  if (!isNativeIdentity(identity)) return (await import('./age-typage.js')).typageRecipientOf(identity);
  return encodeRecipient(parseIdentity(identity).publicKey);
}
