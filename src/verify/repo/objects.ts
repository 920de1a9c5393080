import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { parse as parseDotenv } from 'dotenv';
import { parse as parseToml } from 'smol-toml';
import { BarysafeError, ExitCode, errorText } from '../../errors.js';
import { AgeDecryptor, decryptStream } from '../../crypto/age.js';
import { AgeHeaderError, HeaderScanner, MAX_HEADER_SIZE, parseHeader } from '../../crypto/age-header.js';
import { isNativeRecipient } from '../../crypto/age-keys.js';
import { parseJwks, parsePrivateJwk } from '../../barycenter/jwk.js';
import { describeExit, runToEnd } from '../../platform/child-process.js';
import { pgTool } from '../../platform/pg-tools.js';
import type { ArtifactRecord, Manifest } from '../../repository/manifest.js';
import { repoError } from '../../repository/repository.js';
import { StorageNotFoundError, type Storage } from '../../repository/storage.js';
import type { ObjectCheck } from '../../repository/verify-record.js';
import type { EgressBudget } from './egress.js';

/**
 * The checks of one artifact object, by tier. Findings about the object (missing, wrong size,
 * a header for other recipients, a hash mismatch, a plaintext that does not parse) are returned
 * as `problem`; failures to do the work (the store unreachable, an identity that belongs to no
 * recipient) are thrown, because they say nothing about the object.
 */
export interface ObjectOutcome {
  checks: ObjectCheck[];
  ok: boolean;
  problem?: string;
  /** Set when the check could not decide (a tool it needs is missing); not a finding. */
  inconclusive?: string;
  /** Not read because the egress budget was spent. */
  left?: boolean;
  bytes: number;
}

export interface Identities {
  identities: string[];
  /** The recipients those identities belong to. */
  recipients: string[];
}

const FIRST_HEADER_READ = 4096;
const NONCE = 16;

/** Inventory: the object exists with the recorded size, and its age header names the manifest's recipients. */
export async function inventoryObject(
  storage: Storage,
  a: ArtifactRecord,
  manifest: Manifest,
  ids: Identities | undefined,
  budget: EgressBudget,
): Promise<ObjectOutcome> {
  const checks: ObjectCheck[] = ['present'];
  let bytes = 0;
  const found = (problem: string): ObjectOutcome => ({ checks, ok: false, problem, bytes });
  let st;
  try {
    st = await storage.head(a.object);
  } catch (e) {
    throw repoError(storage, e);
  }
  if (!st) return found('missing from the repository');
  checks.push('size');
  if (st.size !== a.size)
    return found(
      `${st.size < a.size ? 'truncated' : 'larger than recorded'}: ${st.size} bytes, the manifest says ${a.size}`,
    );

  checks.push('header');
  // The header is a few hundred bytes per recipient: read a little, more only if it is longer.
  let header: Buffer | undefined;
  let after: Buffer = Buffer.alloc(0);
  for (let want = FIRST_HEADER_READ; ; want *= 8) {
    const n = Math.min(want, st.size);
    if (!budget.reserve(n)) return { checks: checks.slice(0, -1), ok: true, left: true, bytes };
    const head = await range(storage, a.object, 0, n);
    budget.settle(n, head.length);
    bytes += head.length;
    let hit;
    try {
      hit = new HeaderScanner().push(head);
    } catch (e) {
      return found(`not an age file: ${errorText(e)}`);
    }
    if (hit) {
      header = hit.header;
      after = hit.rest;
      break;
    }
    if (n >= st.size) return found('the object ends inside its age header');
    if (n >= MAX_HEADER_SIZE) return found(`no age header in the first ${n} bytes`);
  }
  let stanzas;
  try {
    stanzas = parseHeader(header).stanzas;
  } catch (e) {
    return found(`not a valid age file: ${errorText(e)}`);
  }
  const want = manifest.recipients ?? [];
  const x25519 = stanzas.filter((s) => s.type === 'X25519').length;
  const wantX25519 = want.filter(isNativeRecipient).length;
  if (stanzas.length !== want.length || x25519 !== wantX25519)
    return found(
      `the age header is sealed to ${stanzas.length} recipient(s) (${stanzas.map((s) => s.type).join(', ') || 'none'}), the manifest names ${want.length}`,
    );

  if (!ids) return { checks, ok: true, bytes };
  // With an identity: open the header (the file key and the header MAC), reading no payload.
  if (after.length < NONCE) {
    const more = await range(storage, a.object, header.length + after.length, header.length + NONCE);
    budget.add(more.length); // at most 16 bytes: not worth stopping for
    bytes += more.length;
    after = Buffer.concat([after, more]);
  }
  try {
    const dec = new AgeDecryptor(ids.identities);
    await dec.update(Buffer.concat([header, after.subarray(0, NONCE)]));
    if (!dec.headerDone) return found('the object ends before its payload nonce');
  } catch (e) {
    if (e instanceof AgeHeaderError) return found(`the age header does not verify: ${e.message}`);
    if (/no identity matched/i.test(errorText(e))) {
      const ours = ids.recipients.filter((r) => want.includes(r));
      if (ours.length === 0) throw identityNotARecipient();
      return found(
        `the age header is sealed to other recipients: the identity of ${short(ours[0]!)}, a recipient the manifest names, opens none of its ${stanzas.length} stanza(s)`,
      );
    }
    throw e;
  }
  return { checks, ok: true, bytes };
}

export interface DataContext {
  ids: Identities;
  /** A private (0700) directory for the database plaintext while it is checked. */
  tempDir: string;
  pgBinDir?: string;
}

const SMALL_LIMIT = 16 * 1024 * 1024;

/**
 * --read-data: downloads the object, hashes and decrypts it in one pass, and parses the plaintext
 * as what its kind says. Nothing is parsed before the ciphertext matched the signed manifest.
 */
export async function readDataObject(
  storage: Storage,
  a: ArtifactRecord,
  manifest: Manifest,
  ctx: DataContext,
  budget: EgressBudget,
): Promise<ObjectOutcome> {
  const checks: ObjectCheck[] = ['present', 'size', 'header', 'data'];
  if (!budget.reserve(a.size)) return { checks: [], ok: true, left: true, bytes: 0 };
  let bytes = 0;
  const found = (problem: string): ObjectOutcome => ({ checks, ok: false, problem, bytes });
  let body: Readable;
  try {
    body = await storage.get(a.object);
  } catch (e) {
    if (e instanceof StorageNotFoundError) return found('missing from the repository');
    throw repoError(storage, e);
  }
  const hash = createHash('sha256');
  let storeError: unknown;
  let tooLong = false;
  const hashed = Readable.from(
    (async function* () {
      try {
        for await (const c of body) {
          const chunk = c as Buffer;
          hash.update(chunk);
          bytes += chunk.length;
          // The budget holds the recorded size: an object that grew is a finding, not a reason to overspend.
          if (bytes > a.size) {
            tooLong = true;
            throw new Error('the object is longer than the manifest records');
          }
          yield chunk;
        }
      } catch (e) {
        if (!tooLong) storeError = e;
        throw e;
      }
    })(),
    { objectMode: false },
  );
  const isDb = a.kind === 'database';
  const dbFile = path.join(ctx.tempDir, manifest.database?.engine === 'postgres' ? 'check.pgdump' : 'check.db');
  const small: Buffer[] = [];
  let plainBytes = 0;
  try {
    const plain = await decryptStream(ctx.ids.identities, hashed);
    const counter = async function* (src: AsyncIterable<Buffer>) {
      for await (const c of src) {
        plainBytes += c.length;
        yield c;
      }
    };
    if (isDb) {
      await pipeline(plain, counter, createWriteStream(dbFile, { mode: 0o600, flags: 'w' }));
    } else {
      await pipeline(
        plain,
        counter,
        new Writable({
          write(chunk: Buffer, _e, cb) {
            if (a.kind !== 'extra' && plainBytes <= SMALL_LIMIT) small.push(chunk);
            cb();
          },
        }),
      );
    }
  } catch (e) {
    await rm(dbFile, { force: true });
    budget.settle(a.size, bytes);
    if (tooLong) return found(`longer than the ${a.size} bytes the manifest records`);
    // A decryption failure stops the download (the body is destroyed): that is the finding.
    if (storeError !== undefined && !(e instanceof BarysafeError)) throw repoError(storage, storeError);
    if (e instanceof BarysafeError && e.exitCode === ExitCode.INTEGRITY)
      return found(e.message.replace(/^the encrypted object is /, 'does not decrypt: '));
    if (e instanceof BarysafeError && e.exitCode === ExitCode.IDENTITY) {
      const ours = ctx.ids.recipients.filter((r) => (manifest.recipients ?? []).includes(r));
      if (ours.length === 0) throw identityNotARecipient();
      return found(`the age header is sealed to other recipients (the identity of ${short(ours[0]!)} opens none)`);
    }
    throw e;
  }
  budget.settle(a.size, bytes);
  try {
    const sha256 = hash.digest('hex');
    if (bytes !== a.size) return found(`${bytes} bytes, the manifest says ${a.size}`);
    if (sha256 !== a.sha256)
      return found(`sha256 ${sha256.slice(0, 16)}… ≠ ${a.sha256.slice(0, 16)}… in the manifest (altered after upload)`);
    if (plainBytes !== a.plaintext_size)
      return found(`decrypts to ${plainBytes} bytes, the manifest says ${a.plaintext_size}`);
    const text = () => Buffer.concat(small).toString('utf8');
    switch (a.kind) {
      case 'key': {
        const { facts } = await parsePrivateJwk(text(), `${a.name} in the snapshot`);
        if (manifest.key && facts.thumbprint !== manifest.key.thumbprint)
          return found(
            `decrypts to a key with thumbprint ${facts.thumbprint}, the manifest says ${manifest.key.thumbprint}`,
          );
        break;
      }
      case 'jwks': {
        const jwks = await parseJwks(text(), `${a.name} in the snapshot`);
        const got = jwks.keys.map((k) => k.thumbprint).sort();
        const want = [...(manifest.key?.jwks?.thumbprints ?? [])].sort();
        if (JSON.stringify(got) !== JSON.stringify(want))
          return found(`decrypts to a JWKS with thumbprints ${got.join(', ')}, the manifest says ${want.join(', ')}`);
        break;
      }
      case 'config':
        if (/\.toml$/i.test(a.name)) parseToml(text());
        break;
      case 'env':
        parseDotenv(Buffer.concat(small));
        break;
      case 'database': {
        const p =
          manifest.database?.engine === 'postgres' ? await pgRestoreList(dbFile, ctx) : await sqliteCheck(dbFile);
        if (p?.inconclusive) return { checks, ok: true, inconclusive: p.inconclusive, bytes };
        if (p?.problem) return found(p.problem);
        break;
      }
      default:
        break;
    }
    return { checks, ok: true, bytes };
  } catch (e) {
    if (e instanceof BarysafeError) return found(`decrypts but does not parse: ${e.message}`);
    return found(`decrypts but does not parse (${errorText(e).split('\n')[0]})`);
  } finally {
    await rm(dbFile, { force: true });
  }
}

async function sqliteCheck(file: string): Promise<{ problem?: string; inconclusive?: string } | undefined> {
  const fh = await open(file, 'r');
  const first = Buffer.alloc(16);
  try {
    await fh.read(first, 0, 16, 0);
  } finally {
    await fh.close();
  }
  const head = first.toString('latin1');
  if (head !== 'SQLite format 3\0') return { problem: 'decrypts but is not an SQLite database' };
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
    const text = rows.map((r) => r.integrity_check).join('; ');
    return text === 'ok' ? undefined : { problem: `PRAGMA integrity_check: ${text.slice(0, 300)}` };
  } finally {
    db.close();
  }
}

async function pgRestoreList(
  file: string,
  ctx: DataContext,
): Promise<{ problem?: string; inconclusive?: string } | undefined> {
  const tool = pgTool(ctx.pgBinDir, 'pg_restore');
  const r = await runToEnd(tool, ['--list', file], {
    cwd: ctx.tempDir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
    timeoutMs: 10 * 60_000,
  });
  if (r.spawnError) return { inconclusive: `pg_restore ${describeExit(r)}: set backup.pg_bin_dir` };
  if (r.code !== 0)
    return { problem: `pg_restore --list ${describeExit(r)}: ${r.output.split('\n').slice(-3).join(' ')}` };
  return undefined;
}

async function range(storage: Storage, key: string, start: number, end: number): Promise<Buffer> {
  try {
    return await storage.getRange(key, start, end);
  } catch (e) {
    if (e instanceof StorageNotFoundError) return Buffer.alloc(0);
    throw repoError(storage, e);
  }
}

function identityNotARecipient(): BarysafeError {
  return new BarysafeError('identity', 'the age identity belongs to none of the recipients the snapshot names', {
    exitCode: ExitCode.IDENTITY,
    hint: 'pass the identity file of one of encryption.recipients (--identity FILE or encryption.identity_file)',
  });
}

function short(recipient: string): string {
  return recipient.length > 16 ? `${recipient.slice(0, 12)}…` : recipient;
}
