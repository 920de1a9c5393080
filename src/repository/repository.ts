import { readAtMost } from '../platform/bounded-read.js';
import { Readable } from 'node:stream';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import type { z } from 'zod';
import type { Signer, Verifier } from '../crypto/signing.js';
import { manifestKey, manifestSchema, type Manifest } from './manifest.js';
import { drillRecordSchema, type DrillRecord } from './drill-record.js';
import { DRILLS_PREFIX, SNAPSHOTS_PREFIX, TOMBSTONES_PREFIX, snapshotIdOfManifestKey } from './layout.js';
import { parseAndVerify, parseDocument, sha256Hex, serialize, signDocument, type Signed } from './signed-document.js';
import { tombstoneSchema, type RemovedSnapshot, type Tombstone } from './tombstone.js';
import { RepositoryMissingError, StorageError, StorageNotFoundError, type Storage } from './storage.js';

/**
 * Snapshots and drill records in a Storage. A snapshot exists only once its manifest does
 * (artifacts are written first, the manifest last), so listing manifests lists complete snapshots.
 */
/** A snapshot whose manifest parsed and, when a verify key is known, verified (true) — else null. */
export interface GoodSnapshot {
  id: string;
  manifest: Manifest;
  /** SHA-256 of the stored manifest bytes: what the next manifest chains to. */
  sha256: string;
  verified: true | null;
}

/** A snapshot whose manifest failed verification or does not parse: listed with why, never trusted. */
export interface DamagedSnapshot {
  id: string;
  sha256: string;
  verified: false;
  error: string;
  /** Whatever of the manifest could be read, for display only. */
  partial: { created_at?: string; host?: string };
}

export type SnapshotEntry = GoodSnapshot | DamagedSnapshot;

export type DrillRecordRef = SignedDocumentRef<DrillRecord>;

/** A signed document listed from the repository; `sha256` is of its stored bytes (what evidence cites). */
export type SignedDocumentRef<T> =
  | { key: string; record: Signed<T> | T; verified: true | null; sha256: string }
  | { key: string; verified: false; error: string; sha256: string };

const MAX_DOC_BYTES = 16 * 1024 * 1024;

export class Repository {
  private tombstoneList?: Promise<Array<SignedDocumentRef<Tombstone>>>;

  constructor(
    readonly storage: Storage,
    readonly verifier?: Verifier,
  ) {}

  /** Tombstones written by `forget`, read once per Repository (forgetCachedTombstones after writing one). */
  tombstones(): Promise<Array<SignedDocumentRef<Tombstone>>> {
    return (this.tombstoneList ??= this.listSignedDocuments(TOMBSTONES_PREFIX, 'tombstone', tombstoneSchema));
  }

  forgetCachedTombstones(): void {
    this.tombstoneList = undefined;
  }

  /**
   * The tombstone entry that removed snapshot `id` (with that manifest digest, when given). Only
   * tombstones whose signature verifies count: an unsigned one could hide a real deletion.
   */
  async tombstoned(id: string, sha256?: string): Promise<(RemovedSnapshot & { tombstone: string }) | undefined> {
    for (const t of await this.tombstones()) {
      if (t.verified !== true) continue;
      const r = t.record.removed.find((x) => x.id === id && (sha256 === undefined || x.manifest_sha256 === sha256));
      if (r) return { ...r, tombstone: t.key };
    }
    return undefined;
  }

  /** Ids of complete snapshots, oldest first. */
  async snapshotIds(): Promise<string[]> {
    const ids: string[] = [];
    try {
      for await (const o of this.storage.list(SNAPSHOTS_PREFIX)) {
        const id = snapshotIdOfManifestKey(o.key);
        if (id) ids.push(id);
      }
    } catch (e) {
      throw repoError(this.storage, e);
    }
    return ids.sort();
  }

  /** Reads one manifest; verifies it when a verify key is known (throws on a bad signature). */
  async readManifest(id: string, opts: { requireSignature?: boolean } = {}): Promise<GoodSnapshot> {
    const bytes = await this.readSmall(manifestKey(id), `manifest of snapshot ${id}`);
    return this.entryOf(id, bytes, opts);
  }

  /**
   * Every snapshot, oldest first; a manifest that fails verification (or is too large, too deep,
   * not JSON) is listed with its error, not hidden, and never stops the listing.
   */
  async list(): Promise<SnapshotEntry[]> {
    const out: SnapshotEntry[] = [];
    for (const id of await this.snapshotIds()) {
      let bytes: Buffer;
      try {
        bytes = await this.readSmall(manifestKey(id), `manifest of snapshot ${id}`);
      } catch (e) {
        if (!(e instanceof BarysafeError) || e.exitCode !== ExitCode.INTEGRITY) throw e;
        out.push({ id, sha256: '', verified: false, error: e.message, partial: {} });
        continue;
      }
      try {
        out.push(this.entryOf(id, bytes));
      } catch (e) {
        // Whatever went wrong with this one manifest (signature, shape, depth, numbers) is its
        // damage, never the listing's.
        out.push({ id, sha256: sha256Hex(bytes), verified: false, error: errorText(e), partial: partialOf(bytes) });
      }
    }
    return out;
  }

  private entryOf(id: string, bytes: Buffer, opts: { requireSignature?: boolean } = {}): GoodSnapshot {
    const what = `manifest of snapshot ${id}`;
    if (!this.verifier) {
      if (opts.requireSignature) {
        throw new BarysafeError('signature', `cannot verify the ${what}: no verify key`, {
          exitCode: ExitCode.USAGE,
          hint: 'set encryption.signing_key_file or encryption.verify_key in barysafe.toml',
        });
      }
      return {
        id,
        manifest: checkId(parseDocument(bytes, what, manifestSchema), id, what),
        sha256: sha256Hex(bytes),
        verified: null,
      };
    }
    const manifest = checkId(parseAndVerify(bytes, this.verifier, what, manifestSchema), id, what);
    return { id, manifest, sha256: sha256Hex(bytes), verified: true };
  }

  /** "latest" or an id (a unique prefix of one is accepted). */
  async resolve(ref: string): Promise<string> {
    const ids = await this.snapshotIds();
    if (ids.length === 0) {
      throw new BarysafeError('snapshot', `the repository ${this.storage.displayUrl} holds no snapshot`, {
        exitCode: ExitCode.REPOSITORY,
        hint: 'run `barysafe backup` first, or check repository.url',
      });
    }
    if (ref === 'latest') return ids[ids.length - 1]!;
    const hits = ids.filter((i) => i.startsWith(ref));
    if (hits.length === 1) return hits[0]!;
    throw new BarysafeError(
      'snapshot',
      hits.length
        ? `snapshot "${ref}" is ambiguous (${hits.length} match)`
        : `no snapshot "${ref}" in ${this.storage.displayUrl}`,
      {
        exitCode: ExitCode.USAGE,
        hint: 'list them with `barysafe snapshots`',
      },
    );
  }

  /**
   * Checks that `entry.manifest.previous` names the snapshot before it and its exact bytes. A
   * predecessor removed by `forget` is followed through its tombstone to the next manifest that
   * still exists, whose bytes must match the link the tombstone recorded.
   */
  async chainLink(entry: GoodSnapshot): Promise<{ ok: boolean; detail: string }> {
    const prev = entry.manifest.previous;
    const ids = await this.snapshotIds();
    const before = ids.filter((i) => i < entry.id);
    if (!prev) {
      return before.length === 0
        ? { ok: true, detail: 'first snapshot of the chain' }
        : {
            ok: false,
            detail: `the manifest names no previous snapshot, but ${before.length} older snapshot(s) exist`,
          };
    }
    const pruned: string[] = [];
    const tombstones = new Set<string>();
    for (let link = prev; ;) {
      let bytes: Buffer | undefined;
      try {
        bytes = await this.readSmall(manifestKey(link.id), `manifest of snapshot ${link.id}`);
      } catch (e) {
        if (e instanceof BarysafeError && e.exitCode === ExitCode.REPOSITORY) throw e;
      }
      const via = pruned.length
        ? ` through ${pruned.length} snapshot(s) removed by forget (${[...tombstones].join(', ')})`
        : '';
      if (bytes) {
        const actual = sha256Hex(bytes);
        return actual === link.sha256
          ? { ok: true, detail: `links to ${link.id}${via} (sha256 ${link.sha256.slice(0, 16)}…)` }
          : {
              ok: false,
              detail: `the previous manifest ${link.id} changed after ${pruned.length ? 'the snapshot after it was removed' : 'this snapshot was made'} (sha256 ${actual.slice(0, 16)}… ≠ ${link.sha256.slice(0, 16)}…)${via}`,
            };
      }
      const t = await this.tombstoned(link.id, link.sha256);
      if (!t) {
        return {
          ok: false,
          detail: `the previous snapshot ${link.id} is missing from the repository and no tombstone explains it${via}`,
        };
      }
      pruned.push(link.id);
      tombstones.add(t.tombstone);
      if (!t.previous)
        return {
          ok: true,
          detail: `the chain starts before ${pruned.length} snapshot(s) removed by forget (${[...tombstones].join(', ')})`,
        };
      link = t.previous;
    }
  }

  async putDocument(key: string, doc: object): Promise<{ sha256: string }> {
    const bytes = serialize(doc);
    await this.storage.put(key, Readable.from([bytes]), { contentLength: bytes.length, ifNoneMatch: true });
    return { sha256: sha256Hex(bytes) };
  }

  async listDrillRecords(): Promise<DrillRecordRef[]> {
    return this.listSignedDocuments(DRILLS_PREFIX, 'drill record', drillRecordSchema);
  }

  /**
   * Every signed JSON document under `prefix` (drill, verify and tombstone records), in key order,
   * parsed with `schema`. One that fails verification is listed with its error, never dropped.
   */
  async listSignedDocuments<T extends object>(
    prefix: string,
    what: string,
    schema: z.ZodType<T>,
  ): Promise<Array<SignedDocumentRef<T>>> {
    const out: Array<SignedDocumentRef<T>> = [];
    const keys: string[] = [];
    try {
      for await (const o of this.storage.list(prefix)) if (o.key.endsWith('.json')) keys.push(o.key);
    } catch (e) {
      throw repoError(this.storage, e);
    }
    for (const key of keys.sort()) {
      const bytes = await this.readSmall(key, `${what} ${key}`);
      const sha256 = sha256Hex(bytes);
      try {
        const record = this.verifier
          ? parseAndVerify(bytes, this.verifier, `${what} ${key}`, schema)
          : parseDocument(bytes, `${what} ${key}`, schema);
        out.push({ key, record, verified: this.verifier ? true : null, sha256 });
      } catch (e) {
        out.push({ key, verified: false, error: errorText(e), sha256 });
      }
    }
    return out;
  }

  /** Signs `doc` and stores it create-only at `key`; returns the SHA-256 of the stored bytes. */
  async putSignedDocument(key: string, doc: object, signer: Signer): Promise<{ sha256: string }> {
    return this.putDocument(key, signDocument(doc, signer));
  }

  async readSmall(key: string, what: string): Promise<Buffer> {
    let stream: Readable;
    try {
      stream = await this.storage.get(key);
    } catch (e) {
      if (e instanceof StorageNotFoundError) {
        throw new BarysafeError('missing', `${what} is missing from the repository (${key})`, {
          exitCode: ExitCode.INTEGRITY,
        });
      }
      throw repoError(this.storage, e);
    }
    let read: { bytes: Buffer; over: boolean };
    try {
      read = await readAtMost(stream, MAX_DOC_BYTES);
    } catch (e) {
      throw repoError(this.storage, e);
    }
    if (read.over)
      throw new BarysafeError('manifest', `${what} is larger than ${MAX_DOC_BYTES} bytes; refusing to read it`, {
        exitCode: ExitCode.INTEGRITY,
      });
    return read.bytes;
  }
}

function checkId(m: Manifest, id: string, what: string): Manifest {
  if (m.id !== id) {
    throw new BarysafeError('manifest', `${what} names snapshot ${m.id}: it was moved from another snapshot`, {
      exitCode: ExitCode.INTEGRITY,
    });
  }
  return m;
}

/** Display-only fields of a manifest that failed verification (never trusted for anything else). */
function partialOf(bytes: Buffer): DamagedSnapshot['partial'] {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as { created_at?: unknown; host?: unknown };
    return {
      ...(typeof v.created_at === 'string' ? { created_at: v.created_at } : {}),
      ...(typeof v.host === 'string' ? { host: v.host } : {}),
    };
  } catch {
    return {};
  }
}

/**
 * A storage failure as the error a command exits with (10). The hint is the backend's own (a
 * folder's mount, mode or free space; a bucket's endpoint, credentials or policy).
 */
export function repoError(storage: Storage, e: unknown): BarysafeError {
  if (e instanceof BarysafeError) return e;
  const message = e instanceof RepositoryMissingError ? e.message : `repository ${storage.displayUrl}: ${errorText(e)}`;
  return new BarysafeError('repository', message, {
    exitCode: ExitCode.REPOSITORY,
    hint:
      e instanceof StorageError && e.hint
        ? e.hint
        : e instanceof StorageError && e.retryable
          ? 'retry; if it fails again, check repository.url'
          : 'check repository.url',
    cause: e,
  });
}

/** The repository does not exist (yet): a writer that creates it may treat it as empty. */
export function isRepositoryMissing(e: unknown): boolean {
  return (
    e instanceof RepositoryMissingError || (e instanceof BarysafeError && e.cause instanceof RepositoryMissingError)
  );
}
