import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { redactUrl } from '../redact.js';
import {
  checkRange,
  RepositoryMissingError,
  StorageError,
  StorageExistsError,
  StorageNotFoundError,
  type BucketProtection,
  type LockMode,
  type ObjectInfo,
  type ObjectStat,
  type PutOptions,
  type Storage,
} from './storage.js';
import { parseS3Url } from './s3-url.js';

export interface S3StorageOptions {
  /** Custom endpoint for S3-compatible stores (MinIO, Ceph, s3rver…); default: AWS. */
  endpoint?: string;
  region?: string;
  /** Path-style addressing; defaults to true when an endpoint is given (http://host/bucket/key). */
  forcePathStyle?: boolean;
  /**
   * 'when_supported' (the SDK's default) sends flexible checksums on every request; some
   * S3-compatible stores then store the aws-chunked framing verbatim (a corrupt object) or reject
   * the request (R2, B2). 'when_required' sends them only where the operation needs one.
   * Default: 'when_required' with a custom endpoint, 'when_supported' on AWS.
   */
  checksum?: 'when_supported' | 'when_required';
  /** S3 Object Lock: every put (but transient ones) carries this retention. */
  objectLock?: { mode: LockMode; days: number };
  /** The clock retention dates are computed from (tests inject one). */
  now?: () => Date;
  partSizeMiB?: number;
  queueSize?: number;
  /** Socket connect timeout (ms). */
  connectTimeoutMs?: number;
  /** Socket idle timeout (ms) for a request in flight. */
  requestTimeoutMs?: number;
  /** Attempts per request, first one included. */
  maxAttempts?: number;
}

const MiB = 1024 * 1024;
/** Budget of one listing (1000 keys per page): about 130 MB of keys at most. */
const LIST_MAX_PAGES = 1_100;
const LIST_MAX_KEYS = 1_000_000;
const LIST_MAX_MS = 5 * 60_000;

/**
 * A repository in a bucket: s3://bucket/prefix. Credentials come from the standard AWS chain
 * (env, profile, web identity, instance role); nothing here reads or stores them.
 */
export class S3Storage implements Storage {
  readonly displayUrl: string;
  readonly bucket: string;
  /** '' or ending in '/'. */
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly endpointText: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly objectLock?: { mode: LockMode; days: number };
  private readonly now: () => Date;

  constructor(url: string, opts: S3StorageOptions = {}) {
    ({ bucket: this.bucket, prefix: this.prefix, displayUrl: this.displayUrl } = parseS3Url(url));
    const region = opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    this.endpointText = opts.endpoint ? redactUrl(opts.endpoint) : `https://s3.${region}.amazonaws.com`;
    this.partSize = Math.max(5, opts.partSizeMiB ?? 8) * MiB;
    this.queueSize = Math.max(1, opts.queueSize ?? 4);
    this.objectLock = opts.objectLock;
    this.now = opts.now ?? (() => new Date());
    const checksum =
      (opts.checksum ?? (opts.endpoint ? 'when_required' : 'when_supported')) === 'when_required'
        ? 'WHEN_REQUIRED'
        : 'WHEN_SUPPORTED';
    this.client = new S3Client({
      region,
      endpoint: opts.endpoint,
      forcePathStyle: opts.forcePathStyle ?? opts.endpoint !== undefined,
      requestChecksumCalculation: checksum,
      responseChecksumValidation: checksum,
      // Bounded retries and timeouts: a dead endpoint must fail in seconds, not minutes.
      maxAttempts: opts.maxAttempts ?? 3,
      requestHandler: {
        connectionTimeout: opts.connectTimeoutMs ?? 5_000,
        requestTimeout: opts.requestTimeoutMs ?? 120_000,
      },
    });
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<ObjectInfo> {
    const Key = this.keyOf(key);
    if (opts.ifNoneMatch) {
      // Some S3-compatible stores ignore If-None-Match: check first, and still send the header
      // so that stores which honour it close the race.
      if (await this.head(key)) {
        body.destroy(); // nobody will read it; don't leave the producer blocked on backpressure
        throw new StorageExistsError(key);
      }
    }
    let size = 0;
    let bodyError: unknown;
    body.once('error', (e) => (bodyError = e));
    // Count bytes as they are read; an error of the body rethrows here and fails the upload
    // before any part is completed (Upload buffers a whole part before sending it).
    const counted = Readable.from(
      (async function* () {
        for await (const chunk of body) {
          size += (chunk as Buffer).length;
          opts.onProgress?.(size);
          yield chunk as Buffer;
        }
      })(),
      { objectMode: false },
    );
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key,
        Body: counted,
        ...(opts.ifNoneMatch ? { IfNoneMatch: '*' } : {}),
        ...(opts.transient ? {} : this.lockParams()),
      },
      partSize: this.partSize,
      queueSize: this.queueSize,
      // We abort ourselves: when the abort fails (s3rver answers 405) Upload would throw that
      // error instead of the real cause.
      leavePartsOnError: true,
    });
    try {
      await upload.done();
      return { key, size };
    } catch (e) {
      if (!body.destroyed) body.destroy();
      if (upload.uploadId) {
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: upload.uploadId }))
          .catch(() => {}); // best effort; a lifecycle rule should clean up what this leaves
      }
      if (bodyError !== undefined && (e === bodyError || isSameError(e, bodyError))) throw bodyError;
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const name = (e as Error).name;
      if (
        opts.ifNoneMatch &&
        (status === 412 || name === 'PreconditionFailed' || name === 'ConditionalRequestConflict')
      ) {
        throw new StorageExistsError(key);
      }
      throw this.mapError(e, key, 'writing');
    }
  }

  async get(key: string): Promise<Readable> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) }));
      if (!out.Body) throw new StorageError(`empty response body for ${key} from ${this.endpointText}`);
      return out.Body as Readable; // in Node, the SDK's body is an http.IncomingMessage (a Readable)
    } catch (e) {
      throw this.mapError(e, key, 'reading');
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    checkRange(start, end);
    // Stores disagree on a range past the end (S3 answers 416, s3rver resets the connection on an
    // empty object), so ask only for bytes that exist: one HEAD first.
    const st = await this.head(key);
    if (!st) throw new StorageNotFoundError(key);
    const last = Math.min(end, st.size);
    if (last <= start) return Buffer.alloc(0);
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key), Range: `bytes=${start}-${last - 1}` }),
      );
      // A store that ignores Range answers 200 with the whole object: read no further than needed.
      const ranged = out.ContentRange !== undefined;
      const needed = ranged ? last - start : last;
      const body = out.Body as Readable | undefined;
      const chunks: Buffer[] = [];
      let n = 0;
      if (body) {
        for await (const c of body) {
          chunks.push(c as Buffer);
          n += (c as Buffer).length;
          if (n >= needed) break; // leaving the loop destroys the body
        }
      }
      const all = Buffer.concat(chunks, n);
      return ranged ? all.subarray(0, last - start) : all.subarray(start, last);
    } catch (e) {
      // 416: the object shrank since the HEAD.
      if ((e as Error).name === 'InvalidRange' || httpStatus(e) === 416) return Buffer.alloc(0);
      throw this.mapError(e, key, 'reading');
    }
  }

  async head(key: string): Promise<ObjectStat | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) }));
      const stat: ObjectStat = { key, size: out.ContentLength ?? 0 };
      if (out.ObjectLockRetainUntilDate && (out.ObjectLockMode === 'GOVERNANCE' || out.ObjectLockMode === 'COMPLIANCE'))
        stat.retention = { mode: out.ObjectLockMode, until: new Date(out.ObjectLockRetainUntilDate).toISOString() };
      return stat;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw this.mapError(e, key, 'reading');
    }
  }

  async protection(): Promise<BucketProtection> {
    const notes: string[] = [];
    const p: BucketProtection = { versioning: 'unknown', objectLock: 'unknown', notes };
    try {
      const v = await this.client.send(new GetBucketVersioningCommand({ Bucket: this.bucket }));
      p.versioning = v.Status === 'Enabled' ? 'enabled' : v.Status === 'Suspended' ? 'suspended' : 'disabled';
    } catch (e) {
      notes.push(`versioning: ${this.mapError(e, '(bucket versioning)', 'reading').message}`);
    }
    try {
      const l = await this.client.send(new GetObjectLockConfigurationCommand({ Bucket: this.bucket }));
      const c = l.ObjectLockConfiguration;
      p.objectLock = c?.ObjectLockEnabled === 'Enabled' ? 'enabled' : 'disabled';
      const r = c?.Rule?.DefaultRetention;
      if (r?.Mode === 'GOVERNANCE' || r?.Mode === 'COMPLIANCE')
        p.defaultRetention = {
          mode: r.Mode,
          ...(r.Days !== undefined ? { days: r.Days } : {}),
          ...(r.Years !== undefined ? { years: r.Years } : {}),
        };
    } catch (e) {
      if ((e as Error).name === 'ObjectLockConfigurationNotFoundError') p.objectLock = 'disabled';
      else notes.push(`object lock: ${this.mapError(e, '(object lock configuration)', 'reading').message}`);
    }
    return p;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // S3 and MinIO list in UTF-8 byte order, but some S3-compatible stores (s3rver) list in
    // directory order, so collect and sort: ~100 bytes per key, small next to any repository.
    const all = new Map<string, number>();
    try {
      const pages = paginateListObjectsV2(
        { client: this.client },
        { Bucket: this.bucket, Prefix: this.prefix + prefix },
      );
      // Bounded by a page, key and time budget: an endpoint that never ends its listing (or a
      // bucket someone floods) must not grow memory without limit.
      const deadline = Date.now() + LIST_MAX_MS;
      let pageCount = 0;
      for await (const page of pages) {
        if (++pageCount > LIST_MAX_PAGES || all.size > LIST_MAX_KEYS || Date.now() > deadline) {
          throw new StorageError(
            `listing ${prefix || '(all)'} in ${this.displayUrl} exceeds ${LIST_MAX_PAGES} pages, ${LIST_MAX_KEYS} keys or ${LIST_MAX_MS / 60_000} minutes; refusing to go on (is the endpoint misbehaving, or something filling the bucket?)`,
          );
        }
        for (const o of page.Contents ?? []) {
          if (o.Key) all.set(o.Key.slice(this.prefix.length), o.Size ?? 0);
        }
      }
    } catch (e) {
      throw this.mapError(e, prefix || '(all)', 'listing');
    }
    const keys = [...all.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const key of keys) yield { key, size: all.get(key)! };
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) }));
    } catch (e) {
      if (isNotFound(e) || (e as Error).name === 'NoSuchBucket') return; // nothing there to delete
      throw this.mapError(e, key, 'deleting');
    }
  }

  async probeWritable(): Promise<void> {
    const key = `.barysafe-probe-${randomBytes(6).toString('hex')}`;
    try {
      // A bucket with Object Lock wants a checksum on every put, probe or not.
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.keyOf(key),
          Body: 'probe',
          ...(this.objectLock ? { ChecksumAlgorithm: 'CRC32' } : {}),
        }),
      );
    } catch (e) {
      throw this.mapError(e, key, 'writing');
    }
    // Write-only (append-only) credentials are good practice for backups: a refused delete is fine.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) })).catch(() => {});
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /**
   * Retention for one put. S3 refuses an Object Lock put without an integrity checksum
   * (Content-MD5 or x-amz-checksum-*); naming the algorithm makes the SDK send one even under
   * WHEN_REQUIRED. lib-storage buffers every part, so the checksum goes in a header, never in
   * the aws-chunked trailer that some stores store verbatim.
   */
  private lockParams() {
    if (!this.objectLock) return {};
    return {
      ObjectLockMode: this.objectLock.mode,
      ObjectLockRetainUntilDate: new Date(this.now().getTime() + this.objectLock.days * 86_400_000),
      ChecksumAlgorithm: 'CRC32' as const,
    };
  }

  private keyOf(key: string): string {
    if (!key || key.startsWith('/') || key.split('/').some((p) => p === '' || p === '.' || p === '..')) {
      throw new StorageError(`invalid object key ${JSON.stringify(key)}`);
    }
    return this.prefix + key;
  }

  private mapError(e: unknown, key: string, doing: string): Error {
    if (e instanceof StorageError) return e;
    const err = e as Error & {
      code?: string;
      errors?: Array<{ code?: string }>;
      $metadata?: { httpStatusCode?: number };
    };
    const where = `${this.displayUrl} at ${this.endpointText}`;
    const code = err.code ?? err.errors?.[0]?.code;
    if (isNotFound(e) && doing === 'reading') return new StorageNotFoundError(key);
    if (
      (code && /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE)$/.test(code)) ||
      err.name === 'TimeoutError'
    ) {
      return new StorageError(
        `S3 endpoint ${this.endpointText} is unreachable (${code ?? err.name}) ${doing} ${key}: check the endpoint, network and firewall`,
        true,
        {
          cause: e,
          hint: 'the store did not answer; check repository.url / repository.endpoint and the network, then retry',
        },
      );
    }
    switch (err.name) {
      case 'NoSuchBucket':
        return new RepositoryMissingError(
          this.displayUrl,
          `bucket ${this.bucket} does not exist at ${this.endpointText} (NoSuchBucket)`,
          'create the bucket (barysafe never creates one), or fix repository.url and repository.endpoint',
        );
      case 'AccessDenied':
      case 'Forbidden':
      case 'InvalidAccessKeyId':
      case 'SignatureDoesNotMatch':
        return new StorageError(
          `access denied ${doing} ${key} in ${where} (${err.name}): check the AWS credentials and the bucket policy`,
          false,
          { cause: e, hint: 'check the AWS credentials barysafe runs with and the bucket policy' },
        );
      case 'CredentialsProviderError':
        return new StorageError(
          `no AWS credentials for ${where}: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or an instance role`,
          false,
          { cause: e, hint: 'give barysafe AWS credentials (environment, profile or instance role)' },
        );
    }
    const status = err.$metadata?.httpStatusCode;
    const retryable = status === undefined || status >= 500 || status === 429;
    return new StorageError(
      `S3 error ${doing} ${key} in ${where}: ${err.name}${status ? ` (HTTP ${status})` : ''}: ${err.message}`,
      retryable,
      {
        cause: e,
        hint: retryable
          ? 'the store did not answer as expected; check repository.url / repository.endpoint and the network, then retry'
          : 'check repository.url, the endpoint and your credentials',
      },
    );
  }
}

function httpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    err.name === 'NoSuchKey' ||
    err.name === 'NotFound' ||
    (err.$metadata?.httpStatusCode === 404 && err.name !== 'NoSuchBucket')
  );
}

/** Upload may rethrow the body's error from inside its chunker: same object, or same message and name. */
function isSameError(a: unknown, b: unknown): boolean {
  return a instanceof Error && b instanceof Error && a.name === b.name && a.message === b.message;
}
