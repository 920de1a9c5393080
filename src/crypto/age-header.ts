import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { parseIdentity, publicKeyObject, rawPublicKey, type X25519Identity } from './age-keys.js';
import { newX25519Key } from './keygen.js';

/**
 * age's header (age-encryption.org/v1) for X25519 recipients, with node:crypto:
 *
 *   age-encryption.org/v1
 *   -> X25519 <base64 ephemeral share>
 *   <base64 of the file key sealed to that recipient>
 *   --- <base64 HMAC-SHA-256 of everything up to and including "---">
 *
 * Parsing is strict, as the format requires and the published test vectors check: canonical
 * unpadded base64, body lines of exactly 64 columns ending with a shorter one, arguments of
 * printable ASCII, one space between fields. Hybrid post-quantum and tag stanzas are typage's
 * (age-typage.ts); written here only what node:crypto does faster than typage loads (~0.1 s).
 */

/** A header failure: the file is not a well-formed age file for these identities. */
export class AgeHeaderError extends Error {
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'AgeHeaderError';
  }
}

export interface Stanza {
  /** The first argument, e.g. "X25519". */
  type: string;
  args: string[];
  body: Buffer;
}

const VERSION_LINE = 'age-encryption.org/v1';
const X25519_LABEL = 'age-encryption.org/v1/X25519';
const BODY_BYTES_PER_LINE = 48; // 64 base64 columns
const ZERO_NONCE = Buffer.alloc(12);
/** Headers larger than this are refused before they are parsed (not an age file, or hostile). */
export const MAX_HEADER_SIZE = 1 << 20;

/** Canonical unpadded base64 (RFC 4648 §3.5: the unused bits of the last character are zero), or null. */
function decodeBase64(s: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]*$/.test(s) || s.length % 4 === 1) return null;
  const b = Buffer.from(s, 'base64');
  return encodeBase64(b) === s ? b : null;
}

function encodeBase64(b: Buffer): string {
  return b.toString('base64').replace(/=+$/, '');
}

/** The header's MAC key and value: HKDF-SHA-256(file key, info "header"), then HMAC-SHA-256. */
function headerMac(fileKey: Buffer, macInput: Buffer): Buffer {
  const key = Buffer.from(hkdfSync('sha256', fileKey, Buffer.alloc(0), 'header', 32));
  return createHmac('sha256', key).update(macInput).digest();
}

/** The header for these stanzas, MACed with the file key. */
export function encodeHeader(stanzas: readonly Stanza[], fileKey: Buffer): Buffer {
  const lines = [VERSION_LINE];
  for (const s of stanzas) {
    lines.push(['->', s.type, ...s.args].join(' '));
    // Full 64-column lines, then always one shorter line (empty when the body fills the last one).
    for (let off = 0; ; off += BODY_BYTES_PER_LINE) {
      const piece = s.body.subarray(off, off + BODY_BYTES_PER_LINE);
      lines.push(encodeBase64(piece));
      if (piece.length < BODY_BYTES_PER_LINE) break;
    }
  }
  const macInput = Buffer.from(lines.join('\n') + '\n---', 'latin1');
  return Buffer.concat([macInput, Buffer.from(` ${encodeBase64(headerMac(fileKey, macInput))}\n`, 'latin1')]);
}

export interface ParsedHeader {
  stanzas: Stanza[];
  /** The header bytes the MAC covers: up to and including the "---" of the MAC line. */
  macInput: Buffer;
  mac: Buffer;
}

/** Parses a complete header (as HeaderScanner delimits it), or throws AgeHeaderError saying what is wrong. */
export function parseHeader(header: Buffer): ParsedHeader {
  const lines = header.toString('latin1').split('\n');
  const bad = (what: string, line?: string) =>
    new AgeHeaderError(
      `invalid age header (${what}${line !== undefined ? `: ${JSON.stringify(line.slice(0, 80))}` : ''})`,
    );
  if (lines[0] !== VERSION_LINE) throw bad('not age-encryption.org/v1', lines[0]);
  const stanzas: Stanza[] = [];
  // The last element is what follows the final newline: nothing, by the scanner's construction.
  for (let i = 1; i < lines.length - 1;) {
    const line = lines[i]!;
    if (line.startsWith('---')) {
      const parts = line.split(' ');
      const mac = parts.length === 2 && parts[0] === '---' ? decodeBase64(parts[1]!) : null;
      if (!mac || mac.length !== 32 || i !== lines.length - 2) throw bad('malformed MAC line', line);
      const macInput = header.subarray(0, header.length - line.length - 1 + 3);
      return { stanzas, macInput, mac };
    }
    const parts = line.split(' ');
    if (parts[0] !== '->' || parts.length < 2) throw bad('malformed stanza line', line);
    const args = parts.slice(1);
    if (args.some((a) => !/^[\x21-\x7e]+$/.test(a))) throw bad('malformed stanza argument', line);
    const body: Buffer[] = [];
    for (i++; ; i++) {
      if (i >= lines.length - 1) throw bad('the header ends inside a stanza');
      const decoded = decodeBase64(lines[i]!);
      if (!decoded) throw bad('malformed stanza body line (every stanza ends with a short body line)', lines[i]);
      if (decoded.length > BODY_BYTES_PER_LINE) throw bad('stanza body line longer than 64 columns', lines[i]);
      body.push(decoded);
      if (decoded.length < BODY_BYTES_PER_LINE) break;
    }
    i++;
    stanzas.push({ type: args[0]!, args: args.slice(1), body: Buffer.concat(body) });
  }
  throw bad('no MAC line');
}

/** The file key, if this MAC is the header's; the comparison is constant-time. */
export function verifyMac(h: ParsedHeader, fileKey: Buffer): void {
  if (!timingSafeEqual(headerMac(fileKey, h.macInput), h.mac)) {
    throw new AgeHeaderError("the age header's MAC does not verify");
  }
}

function x25519WrapKey(shared: Buffer, share: Buffer, recipient: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([share, recipient]), X25519_LABEL, 32));
}

/** An X25519 stanza: an ephemeral key agreement with the recipient, sealing the file key. */
export function wrapX25519(fileKey: Buffer, recipient: Buffer): Stanza {
  const eph = newX25519Key().privateKey;
  const share = rawPublicKey(createPublicKey(eph));
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: eph, publicKey: publicKeyObject(recipient) });
  } catch (e) {
    // OpenSSL refuses an all-zero shared secret: the recipient is a low-order point.
    throw new Error(`the recipient is not a usable X25519 public key (${(e as Error).message})`);
  }
  const c = createCipheriv('chacha20-poly1305', x25519WrapKey(shared, share, recipient), ZERO_NONCE, {
    authTagLength: 16,
  });
  const body = Buffer.concat([c.update(fileKey), c.final(), c.getAuthTag()]);
  return { type: 'X25519', args: [encodeBase64(share)], body };
}

/**
 * The file key from the first X25519 stanza this identity opens, or null. A stanza that is
 * malformed, or whose share yields the all-zero secret, fails the whole header (as age does);
 * one sealed to another key is skipped.
 */
export function unwrapX25519(stanzas: readonly Stanza[], identity: X25519Identity): Buffer | null {
  for (const s of stanzas) {
    if (s.type !== 'X25519') continue;
    const share = s.args.length === 1 ? decodeBase64(s.args[0]!) : null;
    if (!share || share.length !== 32) throw new AgeHeaderError('invalid age header (malformed X25519 stanza)');
    // A 16-byte file key plus its tag: checked before anything is decrypted.
    if (s.body.length !== 32) throw new AgeHeaderError('invalid age header (X25519 stanza body is not 32 bytes)');
    let shared: Buffer;
    try {
      shared = diffieHellman({ privateKey: identity.privateKey, publicKey: publicKeyObject(share) });
    } catch (e) {
      throw new AgeHeaderError('invalid age header (X25519 share is a low-order point)', { cause: e });
    }
    const d = createDecipheriv('chacha20-poly1305', x25519WrapKey(shared, share, identity.publicKey), ZERO_NONCE, {
      authTagLength: 16,
    });
    d.setAuthTag(s.body.subarray(16));
    const fileKey = d.update(s.body.subarray(0, 16));
    try {
      d.final();
      return fileKey;
    } catch {
      continue; // sealed to another recipient
    }
  }
  return null;
}

/** A new file key and the header that wraps it for each X25519 recipient (raw public keys). */
export function newX25519Header(recipients: readonly Buffer[]): { header: Buffer; fileKey: Buffer } {
  const fileKey = randomBytes(16);
  return {
    header: encodeHeader(
      recipients.map((r) => wrapX25519(fileKey, r)),
      fileKey,
    ),
    fileKey,
  };
}

/** The file key of a header, for X25519 identities; "no identity matched" when none opens a stanza. */
export function unwrapX25519Header(identities: readonly string[], header: Buffer): Buffer {
  const h = parseHeader(header);
  for (const i of identities) {
    const fileKey = unwrapX25519(h.stanzas, parseIdentity(i));
    if (fileKey) {
      verifyMac(h, fileKey);
      return fileKey;
    }
  }
  throw new Error("no identity matched any of the file's recipients");
}

/**
 * Finds where the header ends in a byte stream: after the first line past the version line that
 * starts with "---" (stanza lines start with "-> ", body lines are base64, so no other line can).
 * push() returns the header and the bytes after it once the MAC line is complete; end() fails
 * when the input stopped inside the header. Whether the header is well-formed is parseHeader's job.
 */
export class HeaderScanner {
  private buf = Buffer.alloc(0);
  /** Where the search for "\n---" resumes. */
  private scanned = 0;
  /** Offset of the MAC line, once found. */
  private macAt = -1;

  push(data: Uint8Array): { header: Buffer; rest: Buffer } | null {
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : Buffer.from(data);
    if (this.macAt < 0) {
      const p = this.buf.indexOf('\n---', Math.max(0, this.scanned - 3));
      this.scanned = this.buf.length;
      if (p >= 0) this.macAt = p + 1;
    }
    const eol = this.macAt < 0 ? -1 : this.buf.indexOf(0x0a, this.macAt + 3);
    if (eol >= 0) return { header: this.buf.subarray(0, eol + 1), rest: this.buf.subarray(eol + 1) };
    if (this.buf.length > MAX_HEADER_SIZE) {
      throw new AgeHeaderError(`invalid age header (no MAC line in the first ${MAX_HEADER_SIZE} bytes)`);
    }
    return null;
  }

  end(): never {
    throw new AgeHeaderError(
      this.buf.length === 0 ? 'the file is empty (truncated)' : 'the file ends inside the age header (truncated)',
    );
  }
}
