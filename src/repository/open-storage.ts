import { redactUrl } from '../redact.js';
import { FileStorage } from './file-storage.js';
import { S3Storage } from './s3-storage.js';
import { StorageError, type Storage } from './storage.js';

/** The `repository` section of barysafe.toml (src/config/schema.ts), as far as storage needs it. */
export interface RepositoryLocation {
  url: string;
  endpoint?: string;
  region?: string;
  force_path_style?: boolean;
  checksum?: 'when_supported' | 'when_required';
  part_size_mib?: number;
  queue_size?: number;
}

/** Opens the storage backend a repository URL names (file:// or s3://). */
export function openStorage(repo: RepositoryLocation): Storage {
  const scheme = /^([a-z0-9+.-]+):/i.exec(repo.url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'file':
      return new FileStorage(repo.url);
    case 's3':
      return new S3Storage(repo.url, {
        endpoint: repo.endpoint,
        region: repo.region,
        forcePathStyle: repo.force_path_style,
        checksum: repo.checksum,
        partSizeMiB: repo.part_size_mib,
        queueSize: repo.queue_size,
      });
    default:
      throw new StorageError(`unsupported repository URL ${redactUrl(repo.url)}: use file:///absolute/dir or s3://bucket/prefix`);
  }
}
