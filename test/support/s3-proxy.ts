/**
 * A small recording HTTP proxy in front of the test S3 server (s3rver or MinIO). s3rver has no
 * Object Lock, so the proxy records every request (method, key, query, headers) for tests to
 * assert on what barysafe sends, and can emulate the part of Object Lock a client sees:
 * - a put (PutObject, or CreateMultipartUpload + CompleteMultipartUpload) that carries
 *   x-amz-object-lock-mode / -retain-until-date is remembered per key;
 * - HEAD and GET of such a key answer with those two headers, as S3 does;
 * - DELETE of a key whose retention has not expired answers 403 AccessDenied. (Real S3 with
 *   versioning writes a delete marker instead and keeps the locked version; refusing is stricter
 *   and makes a client that ignores retention fail loudly in tests.)
 * - GET ?object-lock and GET ?versioning answer with the configured bucket settings.
 * Requests are forwarded byte for byte (the Host header too, so SigV4 signatures still verify).
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  bucket: string;
  /** The object key ('' for bucket-level requests). */
  key: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  status?: number;
}

export interface S3ProxyOptions {
  /** Answer ?object-lock as a bucket with Object Lock enabled, and enforce retention on DELETE. */
  objectLock?: boolean;
  versioning?: 'Enabled' | 'Suspended';
  /** The store's clock, for retention (tests inject the same clock barysafe gets). */
  now?: () => Date;
}

export interface S3Proxy {
  endpoint: string;
  requests: RecordedRequest[];
  /** Retention per "bucket/key" as the emulation holds it. */
  locks: Map<string, { mode: string; until: string }>;
  stop(): Promise<void>;
}

export async function startS3Proxy(target: string, opts: S3ProxyOptions = {}): Promise<S3Proxy> {
  const up = new URL(target);
  const now = opts.now ?? (() => new Date());
  const requests: RecordedRequest[] = [];
  const locks = new Map<string, { mode: string; until: string }>();
  const pending = new Map<string, { mode: string; until: string }>();

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const [bucket = '', ...rest] = url.pathname.replace(/^\//, '').split('/');
    const key = rest.map((p) => decodeURIComponent(p)).join('/');
    const id = `${bucket}/${key}`;
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      bucket,
      key,
      query: url.searchParams,
      headers: req.headers,
    };
    requests.push(rec);
    const answer = (status: number, body: string) => {
      rec.status = status;
      res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      req.resume();
    };

    if (!key && req.method === 'GET' && url.searchParams.has('object-lock')) {
      return opts.objectLock
        ? answer(
            200,
            '<?xml version="1.0" encoding="UTF-8"?><ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>',
          )
        : answer(
            404,
            '<?xml version="1.0" encoding="UTF-8"?><Error><Code>ObjectLockConfigurationNotFoundError</Code><Message>Object Lock configuration does not exist for this bucket</Message></Error>',
          );
    }
    if (!key && req.method === 'GET' && url.searchParams.has('versioning')) {
      return answer(
        200,
        `<?xml version="1.0" encoding="UTF-8"?><VersioningConfiguration>${opts.versioning ? `<Status>${opts.versioning}</Status>` : ''}</VersioningConfiguration>`,
      );
    }
    const lock = locks.get(id);
    if (key && req.method === 'DELETE' && !url.searchParams.has('uploadId') && lock && opts.objectLock) {
      if (Date.parse(lock.until) > now().getTime())
        return answer(
          403,
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied because object protected by object lock.</Message></Error>',
        );
    }
    const wanted = lockOf(req.headers);
    const forward = http.request(
      { host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers },
      (ur) => {
        rec.status = ur.statusCode;
        const ok = (ur.statusCode ?? 500) < 300;
        if (ok && key) {
          const q = url.searchParams;
          if (req.method === 'PUT' && !q.has('uploadId') && !q.has('partNumber') && wanted) locks.set(id, wanted);
          if (req.method === 'POST' && q.has('uploads') && wanted) pending.set(id, wanted);
          if (req.method === 'POST' && q.has('uploadId') && pending.has(id)) {
            locks.set(id, pending.get(id)!);
            pending.delete(id);
          }
          if (req.method === 'DELETE' && !q.has('uploadId')) locks.delete(id);
        }
        const headers = { ...ur.headers };
        const held = locks.get(id);
        if (held && key && (req.method === 'HEAD' || req.method === 'GET') && ok) {
          headers['x-amz-object-lock-mode'] = held.mode;
          headers['x-amz-object-lock-retain-until-date'] = held.until;
        }
        res.writeHead(ur.statusCode ?? 502, headers);
        ur.pipe(res);
      },
    );
    forward.on('error', (e) => {
      if (!res.headersSent) answer(502, `<Error><Code>ProxyError</Code><Message>${e.message}</Message></Error>`);
      else res.destroy(e);
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    locks,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function lockOf(h: IncomingHttpHeaders): { mode: string; until: string } | undefined {
  const mode = h['x-amz-object-lock-mode'];
  const until = h['x-amz-object-lock-retain-until-date'];
  return typeof mode === 'string' && typeof until === 'string'
    ? { mode, until: new Date(until).toISOString() }
    : undefined;
}
