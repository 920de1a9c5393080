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
 * - get() of a missing key rejects with StorageNotFoundError; head() resolves null.
 * - list(prefix) yields every key under prefix (recursively), in lexical order.
 * - delete() of a missing key is not an error.
 */
export interface ObjectInfo {
  key: string;
  size: number;
}

export interface PutOptions {
  /** Known length in bytes, when the caller knows it (lets backends skip multipart). */
  contentLength?: number;
  /** Refuse to replace an existing object (manifests, drill records). */
  ifNoneMatch?: boolean;
  /** Called with the number of bytes sent so far (progress bars). */
  onProgress?: (bytes: number) => void;
}

export interface Storage {
  /** The repository URL with any secret removed; safe to print. */
  readonly displayUrl: string;
  put(key: string, body: Readable, opts?: PutOptions): Promise<ObjectInfo>;
  get(key: string): Promise<Readable>;
  head(key: string): Promise<ObjectInfo | null>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  /** Checks that the repository can be reached and written; throws a StorageError that says why not. */
  probeWritable(): Promise<void>;
  close?(): Promise<void>;
}

export class StorageError extends Error {
  constructor(
    message: string,
    readonly retryable = false,
    opts?: { cause?: unknown },
  ) {
    super(message, opts);
    this.name = 'StorageError';
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
