import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';

/**
 * age's payload: the STREAM construction over ChaCha20-Poly1305 (age-encryption.org/v1).
 * The plaintext is cut into 64 KiB chunks, each sealed with a 12-byte nonce made of an 11-byte
 * big-endian chunk counter and a last-chunk flag byte (1 on the final chunk only). The final chunk
 * may be shorter than 64 KiB, and may be empty only when it is the only chunk.
 *
 * Written here rather than taken from typage because typage's cipher is pure JavaScript
 * (~55-75 MiB/s): node:crypto's OpenSSL ChaCha20-Poly1305 is ten times faster, and the payload is
 * where a backup spends its time. Both classes are plain byte-in/bytes-out state machines, so the
 * stream wrappers stay thin and restore can hash, decrypt and write in one loop.
 */
export const CHUNK_SIZE = 64 * 1024;
export const TAG_SIZE = 16;
export const PAYLOAD_NONCE_SIZE = 16;
const SEALED_CHUNK = CHUNK_SIZE + TAG_SIZE;
/** 2^48 chunks of 64 KiB is 16 EiB: past that the counter would need all 11 bytes. */
const MAX_CHUNKS = 2 ** 48;

/** A payload failure: the header was fine, the chunks are not. The message says which rule broke. */
export class AgePayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgePayloadError';
  }
}

/** The payload key: HKDF-SHA-256 of the file key, salted with the file's 16-byte nonce. */
export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): KeyObject {
  return createSecretKey(Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32)));
}

/** The 12-byte chunk nonce, rewritten in place for each chunk (createCipheriv copies it). */
class ChunkNonce {
  readonly bytes = Buffer.alloc(12);
  counter = 0;
  set(last: boolean): Buffer {
    if (this.counter >= MAX_CHUNKS) throw new AgePayloadError('the payload has too many chunks');
    // Bytes 0-4 of the counter stay zero below 2^48 chunks.
    this.bytes.writeUIntBE(this.counter, 5, 6);
    this.bytes[11] = last ? 1 : 0;
    return this.bytes;
  }
}

/**
 * Encrypts a payload. push() returns the sealed chunks its input completed, end() the final one.
 * A full chunk is sealed only once a byte after it has arrived, because only then is it known
 * not to be the last. Input is read in place where a whole chunk lies inside one input buffer;
 * only the remainder is copied into the one reused carry buffer.
 */
export class PayloadEncryptor {
  private readonly nonce = new ChunkNonce();
  private readonly carry = Buffer.allocUnsafe(CHUNK_SIZE);
  private carried = 0;
  private ended = false;

  constructor(private readonly key: KeyObject) {}

  push(data: Uint8Array, out: Buffer[] = []): Buffer[] {
    let off = 0;
    while (off < data.length) {
      if (this.carried === CHUNK_SIZE) {
        this.seal(this.carry, false, out); // more bytes follow: not the last chunk
        this.carried = 0;
      }
      if (this.carried === 0 && data.length - off > CHUNK_SIZE) {
        this.seal(data.subarray(off, off + CHUNK_SIZE), false, out);
        off += CHUNK_SIZE;
        continue;
      }
      const n = Math.min(CHUNK_SIZE - this.carried, data.length - off);
      this.carry.set(data.subarray(off, off + n), this.carried);
      this.carried += n;
      off += n;
    }
    return out;
  }

  /** Seals what is left as the last chunk (empty only when the whole payload is). */
  end(out: Buffer[] = []): Buffer[] {
    if (this.ended) throw new Error('PayloadEncryptor.end() called twice');
    this.ended = true;
    this.seal(this.carry.subarray(0, this.carried), true, out);
    return out;
  }

  private seal(plain: Uint8Array, last: boolean, out: Buffer[]): void {
    const c = createCipheriv('chacha20-poly1305', this.key, this.nonce.set(last), { authTagLength: TAG_SIZE });
    out.push(c.update(plain));
    c.final();
    out.push(c.getAuthTag());
    this.nonce.counter++;
  }
}

/**
 * Decrypts a payload, enforcing every rule of the format: each chunk's tag; exactly one chunk
 * flagged last, at the very end (nothing may follow it, and the file may not stop without it);
 * a final chunk that is empty only when it is the only one. Plaintext is returned only after its
 * chunk's tag verified, so a caller never sees an unauthenticated byte.
 *
 * A full-size chunk may be the last one (payloads that are a multiple of 64 KiB), and that is known
 * only from its tag: it is opened as a middle chunk and, if that fails, as the last chunk, as the
 * reference implementation does. Nothing is held back waiting for the next byte.
 */
export class PayloadDecryptor {
  private readonly nonce = new ChunkNonce();
  private readonly carry = Buffer.allocUnsafe(SEALED_CHUNK);
  private carried = 0;
  private done = false;

  constructor(private readonly key: KeyObject) {}

  /** Chunks opened so far. */
  get chunks(): number {
    return this.nonce.counter;
  }

  push(data: Uint8Array, out: Buffer[] = []): Buffer[] {
    let off = 0;
    while (off < data.length) {
      if (this.done) throw new AgePayloadError('trailing data after the last chunk of the age payload');
      if (this.carried === 0 && data.length - off >= SEALED_CHUNK) {
        this.openFull(data.subarray(off, off + SEALED_CHUNK), out);
        off += SEALED_CHUNK;
        continue;
      }
      const n = Math.min(SEALED_CHUNK - this.carried, data.length - off);
      this.carry.set(data.subarray(off, off + n), this.carried);
      this.carried += n;
      off += n;
      if (this.carried === SEALED_CHUNK) {
        this.openFull(this.carry, out);
        this.carried = 0;
      }
    }
    return out;
  }

  /** The input ended: open the short last chunk, or fail if the last chunk never came. */
  end(out: Buffer[] = []): Buffer[] {
    if (this.done) return out;
    if (this.carried === 0) {
      throw new AgePayloadError(
        this.nonce.counter === 0
          ? 'the age payload has no chunks (truncated)'
          : `the age payload ends after chunk ${this.nonce.counter} without its last chunk (truncated)`,
      );
    }
    if (this.carried < TAG_SIZE) {
      throw new AgePayloadError(
        `chunk ${this.nonce.counter + 1} of the age payload is shorter than its tag (truncated)`,
      );
    }
    if (this.carried === TAG_SIZE && this.nonce.counter > 0) {
      throw new AgePayloadError('the last chunk of the age payload is empty, which only an empty payload may be');
    }
    const plain = this.open(this.carry.subarray(0, this.carried), true);
    if (!plain) throw new AgePayloadError(`chunk ${this.nonce.counter + 1} of the age payload has an invalid tag`);
    this.accept(plain, true, out);
    return out;
  }

  private openFull(sealed: Buffer | Uint8Array, out: Buffer[]): void {
    const middle = this.open(sealed, false);
    if (middle) return this.accept(middle, false, out);
    const last = this.open(sealed, true);
    if (!last) throw new AgePayloadError(`chunk ${this.nonce.counter + 1} of the age payload has an invalid tag`);
    this.accept(last, true, out);
  }

  private accept(plain: Buffer, last: boolean, out: Buffer[]): void {
    this.nonce.counter++;
    this.done = last;
    if (plain.length) out.push(plain);
  }

  /** The chunk's plaintext, or null when its tag does not verify under this nonce. */
  private open(sealed: Uint8Array, last: boolean): Buffer | null {
    const d = createDecipheriv('chacha20-poly1305', this.key, this.nonce.set(last), { authTagLength: TAG_SIZE });
    d.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
    const plain = d.update(sealed.subarray(0, sealed.length - TAG_SIZE));
    try {
      d.final();
    } catch {
      return null;
    }
    return plain;
  }
}
