import { redactUrl } from '../redact.js';
import { StorageError } from './storage.js';

/** s3://bucket/prefix → bucket, '' or 'prefix/', and the URL to print. */
export function parseS3Url(url: string): { bucket: string; prefix: string; displayUrl: string } {
  // The scheme in any case, as URLs allow (and openStorage dispatches on).
  const m = /^s3:\/\/([^/?#]+)\/?([^?#]*)$/i.exec(url);
  if (!m) throw new StorageError(`invalid S3 repository URL ${redactUrl(url)} (use s3://bucket/prefix)`);
  const p = m[2]!.replace(/^\/+|\/+$/g, '');
  const prefix = p ? `${p}/` : '';
  return { bucket: m[1]!, prefix, displayUrl: `s3://${m[1]}/${prefix}` };
}
