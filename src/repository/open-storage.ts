import { redactUrl } from '../redact.js';
import { FileStorage } from './file-storage.js';
import { openReader } from './object-reader.js';
import { openWriter } from './object-writer.js';
import { parseS3Url } from './s3-url.js';
import type { Readable } from 'node:stream';
import { canonicalRepositoryUrl } from '../config/repository-url.js';
import {
  StorageError,
  type BucketProtection,
  type LockMode,
  type ObjectInfo,
  type ObjectReader,
  type ObjectStat,
  type ObjectWriter,
  type PutOptions,
  type Storage,
  type WriterOptions,
} from './storage.js';

/** The `repository` section of barysafe.toml (src/config/schema.ts), as far as storage needs it. */
export interface RepositoryLocation {
  url: string;
  endpoint?: string;
  region?: string;
  force_path_style?: boolean;
  checksum?: 'when_supported' | 'when_required';
  part_size_mib?: number;
  queue_size?: number;
  object_lock?: { mode: LockMode; days: number };
}

/** Opens the storage backend a repository URL names (file:// or s3://). `now` dates Object Lock retention. */
export function openStorage(given: RepositoryLocation, opts: { now?: () => Date } = {}): Storage {
  const repo = { ...given, url: canonicalRepositoryUrl(given.url) };
  const scheme = /^([a-z0-9+.-]+):/.exec(repo.url)?.[1];
  switch (scheme) {
    case 'file':
      return new FileStorage(repo.url);
    case 's3': {
      // The AWS SDK takes ~0.5 s to load: only commands that really talk to S3 pay for it.
      const { displayUrl } = parseS3Url(repo.url); // a bad URL is a usage error now, not at first use
      return new LazyStorage(displayUrl, async () => {
        const { S3Storage } = await import('./s3-storage.js');
        return new S3Storage(repo.url, {
          endpoint: repo.endpoint,
          region: repo.region,
          forcePathStyle: repo.force_path_style,
          checksum: repo.checksum,
          partSizeMiB: repo.part_size_mib,
          queueSize: repo.queue_size,
          ...(repo.object_lock ? { objectLock: repo.object_lock } : {}),
          ...(opts.now ? { now: opts.now } : {}),
        });
      });
    }
    default:
      throw new StorageError(
        `unsupported repository URL ${redactUrl(repo.url)}: use file:///absolute/dir or s3://bucket/prefix`,
      );
  }
}

/** A Storage whose backend module is loaded on first use. */
class LazyStorage implements Storage {
  private backend?: Promise<Storage>;
  constructor(
    readonly displayUrl: string,
    private readonly load: () => Promise<Storage>,
  ) {}
  private get real(): Promise<Storage> {
    return (this.backend ??= this.load());
  }
  async put(key: string, body: Readable, opts?: PutOptions): Promise<ObjectInfo> {
    return (await this.real).put(key, body, opts);
  }
  async get(key: string): Promise<Readable> {
    return (await this.real).get(key);
  }
  async openReader(key: string): Promise<ObjectReader> {
    return openReader(await this.real, key);
  }
  async openWriter(key: string, opts?: WriterOptions): Promise<ObjectWriter> {
    return openWriter(await this.real, key, opts);
  }
  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    return (await this.real).getRange(key, start, end);
  }
  async head(key: string): Promise<ObjectStat | null> {
    return (await this.real).head(key);
  }
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    yield* (await this.real).list(prefix);
  }
  async delete(key: string): Promise<void> {
    return (await this.real).delete(key);
  }
  async probeWritable(): Promise<void> {
    return (await this.real).probeWritable();
  }
  async protection(): Promise<BucketProtection> {
    const real = await this.real;
    if (!real.protection)
      return { versioning: 'unknown', objectLock: 'unknown', notes: ['not reported by this backend'] };
    return real.protection();
  }
  async close(): Promise<void> {
    if (this.backend) await (await this.backend).close?.();
  }
}
