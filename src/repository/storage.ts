import type { Readable } from 'node:stream';

/**
 * The one small seam between barysafe and where snapshots live. Keys are '/'-separated relative
 * paths ("snapshots/<id>/manifest.json"). Backends: file:// (file-storage.ts) and s3://
 * (s3-storage.ts); both pass the same conformance suite (test/storage-conformance.test.ts).
 *
 * Contract:
 * - put() is all-or-nothing: when it rejects, no object (and no partial object) exists at key;
 *   when the body stream errors, put() rejects with that error (not a backend follow-up error).
 * - put() consumes the body as a stream; memory must not grow with its size.
 * - get() and getRange() of a missing key reject with StorageNotFoundError; head() resolves null.
 * - head() is the stat of one object (no body is read): its size and, where the store reports it,
 *   its Object Lock retention. getRange() reads only the bytes asked for (an age header), fewer
 *   when the object is shorter, none when the range starts past its end.
 * - list(prefix) yields every key under prefix (recursively), in lexical order.
 * - delete() of a missing key is not an error.
 * - A repository that does not exist (no folder, no bucket) is not an empty one: list() and get()
 *   reject with RepositoryMissingError, head() resolves null, delete() does nothing. An existing
 *   but empty repository lists nothing. probeWritable() and put() create a missing file:// folder
 *   (the first backup); a missing bucket is never created.
 * - A StorageError's hint says what to fix in terms of the backend (a local folder or a bucket).
 */
export interface ObjectInfo {
  key: string;
  size: number;
}

export type LockMode = 'GOVERNANCE' | 'COMPLIANCE';

export interface ObjectStat extends ObjectInfo {
  /** S3 Object Lock retention reported by the store; absent when there is none (or no Object Lock). */
  retention?: { mode: LockMode; until: string };
}

/** What the store says about versioning and Object Lock on the bucket (s3:// only). */
export interface BucketProtection {
  versioning: 'enabled' | 'suspended' | 'disabled' | 'unknown';
  objectLock: 'enabled' | 'disabled' | 'unknown';
  /** The bucket's default retention, when one is set. */
  defaultRetention?: { mode: LockMode; days?: number; years?: number };
  /** Why a value is unknown (access denied, not implemented by the store). */
  notes: string[];
}

export interface PutOptions {
  /** Known length in bytes, when the caller knows it (lets backends skip multipart). */
  contentLength?: number;
  /** Refuse to replace an existing object (manifests, drill records). */
  ifNoneMatch?: boolean;
  /** Called with the number of bytes sent so far (progress bars). */
  onProgress?: (bytes: number) => void;
  /**
   * Not put under Object Lock retention: the writer lock, which must be deletable when released.
   * Everything else a repository holds (snapshots, records) is.
   */
  transient?: boolean;
}

/**
 * An object read into buffers the caller owns. A restore fills a buffer, decrypts it and hands
 * that same buffer to its hashing worker, so a local file is read straight into it: a stream would
 * allocate a fresh buffer for every read (256 MiB of garbage per 256 MiB restored) and the hash
 * would need a copy of each.
 */
export interface ObjectReader {
  /** Fills `into` from its start with the next bytes: all of it but at the end, 0 once ended. */
  read(into: Uint8Array): Promise<number>;
  /** Stops reading and releases the descriptor or the download; waits for a read in flight. */
  close(): Promise<void>;
}

/**
 * An object written from the caller's buffers, in order (openWriter). A backup seals each read
 * of its database into a list of buffers (a 64 KiB chunk and its tag, sixteen times) and hands
 * that list over whole: a local file takes it in one writev, where a stream took each buffer
 * through its own hops (measured: a 256 MiB object written 0.1 s faster).
 * Like put(), all or nothing: no object exists at the key until close() resolved.
 */
export interface ObjectWriter {
  /** Writes the buffers after those of earlier calls; one call at a time. Rejects as put() does. */
  write(buffers: readonly Uint8Array[]): Promise<void>;
  /** Makes the object durable and visible at its key. */
  close(): Promise<ObjectInfo>;
  /** Leaves no object and no partial object; called once no write is in flight. Does nothing after close(). */
  abort(): Promise<void>;
}

export type WriterOptions = Pick<PutOptions, 'ifNoneMatch' | 'onProgress'>;

export interface Storage {
  /** The repository URL with any secret removed; safe to print. */
  readonly displayUrl: string;
  put(key: string, body: Readable, opts?: PutOptions): Promise<ObjectInfo>;
  get(key: string): Promise<Readable>;
  /**
   * The object read into the caller's buffers, where the backend can do better than copying from
   * get() (a local file: no stream, no buffer per read). Rejects as get() does.
   */
  openReader?(key: string): Promise<ObjectReader>;
  /** An ObjectWriter, where the backend can do better than put() of a stream (see openWriter()). */
  openWriter?(key: string, opts?: WriterOptions): Promise<ObjectWriter>;
  /** Bytes [start, end) of the object. */
  getRange(key: string, start: number, end: number): Promise<Buffer>;
  head(key: string): Promise<ObjectStat | null>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  /** Checks that the repository can be reached and written; throws a StorageError that says why not. */
  probeWritable(): Promise<void>;
  /** Versioning and Object Lock of the bucket; absent on backends that have neither (file://). */
  protection?(): Promise<BucketProtection>;
  close?(): Promise<void>;
}

export class StorageError extends Error {
  /** What to do about it, in the backend's terms (a folder's mount or mode, a bucket's endpoint or policy). */
  readonly hint?: string;
  constructor(
    message: string,
    readonly retryable = false,
    opts?: { cause?: unknown; hint?: string },
  ) {
    super(message, opts?.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'StorageError';
    this.hint = opts?.hint;
  }
}

/** The repository itself does not exist: no folder at a file:// URL, no bucket at an s3:// one. */
export class RepositoryMissingError extends StorageError {
  constructor(
    readonly displayUrl: string,
    detail: string,
    hint: string,
  ) {
    super(`no repository at ${displayUrl}: ${detail}`, false, { hint });
    this.name = 'RepositoryMissingError';
  }
}

export class StorageNotFoundError extends StorageError {
  constructor(readonly key: string) {
    super(`object not found: ${key}`);
    this.name = 'StorageNotFoundError';
  }
}

export class StorageExistsError extends StorageError {
  constructor(readonly key: string) {
    super(`object already exists: ${key}`);
    this.name = 'StorageExistsError';
  }
}

/** A byte range [start, end) as getRange takes it: whole numbers, start <= end. */
export function checkRange(start: number, end: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start)
    throw new StorageError(`invalid byte range [${start}, ${end})`);
}
