// S3 Object Lock and checksum headers, seen on the wire: s3rver has no Object Lock, so a recording
// proxy in front of it (support/s3-proxy.ts) captures every request barysafe sends and emulates
// retention on HEAD and DELETE. What the proxy cannot prove is that a real store honours the
// headers; docs/STORES.md says which stores were tested how.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { S3Storage } from '../src/repository/s3-storage.js';
import { StorageError } from '../src/repository/storage.js';
import { getS3, useS3Credentials, type TestS3 } from './support/services.js';
import { startS3Proxy, type RecordedRequest, type S3Proxy } from './support/s3-proxy.js';

const MiB = 1024 * 1024;
const NOW = new Date('2026-06-01T12:00:00.000Z');
const DAY = 86_400_000;

let s3: TestS3;
let proxy: S3Proxy;
before(async () => {
  s3 = await getS3();
  useS3Credentials(s3);
  proxy = await startS3Proxy(s3.endpoint, { objectLock: true, versioning: 'Enabled', now: () => NOW });
});
after(async () => {
  await proxy?.stop();
  await s3?.stop();
});

async function storage(extra: Partial<ConstructorParameters<typeof S3Storage>[1]> = {}) {
  const bucket = await s3.createBucket();
  return new S3Storage(`s3://${bucket}/ol`, {
    endpoint: proxy.endpoint,
    region: s3.region,
    partSizeMiB: 5,
    queueSize: 2,
    now: () => NOW,
    ...extra,
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
async function bytesOf(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}
/** Requests for one key since `from`. */
function seen(key: string, from: number): RecordedRequest[] {
  return proxy.requests.slice(from).filter((r) => r.key.endsWith(key));
}
const checksumHeader = (r: RecordedRequest) =>
  Object.keys(r.headers).find((h) => h.startsWith('x-amz-checksum-') && h !== 'x-amz-checksum-algorithm') ??
  (r.headers['content-md5'] ? 'content-md5' : undefined);
const chunked = (r: RecordedRequest) =>
  String(r.headers['content-encoding'] ?? '').includes('aws-chunked') ||
  String(r.headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-');

describe('Object Lock on every put (through the recording proxy)', () => {
  test('a single-request put carries mode, retain-until and a checksum header, and round-trips byte for byte', async () => {
    const s = await storage({ objectLock: { mode: 'GOVERNANCE', days: 10 } });
    const from = proxy.requests.length;
    const body = randomBytes(1000);
    await s.put('snapshots/x/jwks.json.age', Readable.from([body]));
    const puts = seen('snapshots/x/jwks.json.age', from).filter((r) => r.method === 'PUT');
    assert.equal(puts.length, 1);
    const h = puts[0]!.headers;
    assert.equal(h['x-amz-object-lock-mode'], 'GOVERNANCE');
    assert.equal(new Date(String(h['x-amz-object-lock-retain-until-date'])).getTime(), NOW.getTime() + 10 * DAY);
    assert.ok(checksumHeader(puts[0]!), `no checksum header in ${Object.keys(h).join(', ')}`);
    assert.ok(!chunked(puts[0]!), 'aws-chunked body');
    assert.equal(sha(await bytesOf(await s.get('snapshots/x/jwks.json.age'))), sha(body));
    const st = await s.head('snapshots/x/jwks.json.age');
    assert.deepEqual(st?.retention, { mode: 'GOVERNANCE', until: new Date(NOW.getTime() + 10 * DAY).toISOString() });
    await s.close();
  });

  test('a multipart put carries the retention on CreateMultipartUpload and a checksum on every part', async () => {
    const s = await storage({ objectLock: { mode: 'COMPLIANCE', days: 30 } });
    const from = proxy.requests.length;
    const body = randomBytes(11 * MiB + 17);
    await s.put('snapshots/x/barycenter.db.age', Readable.from([body.subarray(0, 4 * MiB), body.subarray(4 * MiB)]));
    const reqs = seen('snapshots/x/barycenter.db.age', from);
    const create = reqs.find((r) => r.method === 'POST' && r.query.has('uploads'));
    assert.ok(create, 'CreateMultipartUpload');
    assert.equal(create.headers['x-amz-object-lock-mode'], 'COMPLIANCE');
    assert.equal(
      new Date(String(create.headers['x-amz-object-lock-retain-until-date'])).getTime(),
      NOW.getTime() + 30 * DAY,
    );
    assert.equal(String(create.headers['x-amz-checksum-algorithm']).toUpperCase(), 'CRC32');
    const parts = reqs.filter((r) => r.method === 'PUT' && r.query.has('partNumber'));
    assert.equal(parts.length, 3);
    for (const p of parts) {
      assert.ok(checksumHeader(p), `part ${p.query.get('partNumber')} has no checksum header`);
      assert.ok(!chunked(p), 'aws-chunked part');
    }
    assert.equal(sha(await bytesOf(await s.get('snapshots/x/barycenter.db.age'))), sha(body));
    assert.equal((await s.head('snapshots/x/barycenter.db.age'))?.retention?.mode, 'COMPLIANCE');
    await s.close();
  });

  test('a transient put (the writer lock) carries no retention and can be deleted', async () => {
    const s = await storage({ objectLock: { mode: 'GOVERNANCE', days: 10 } });
    const from = proxy.requests.length;
    await s.put('locks/writer.json', Readable.from([Buffer.from('{}')]), { transient: true });
    const put = seen('locks/writer.json', from).find((r) => r.method === 'PUT')!;
    assert.equal(put.headers['x-amz-object-lock-mode'], undefined);
    await s.delete('locks/writer.json');
    assert.equal(await s.head('locks/writer.json'), null);
    await s.close();
  });

  test('deleting an object under retention fails (the store refuses), and it is still there', async () => {
    const s = await storage({ objectLock: { mode: 'GOVERNANCE', days: 1 } });
    await s.put('snapshots/y/private_key.pem.age', Readable.from([Buffer.from('ciphertext')]));
    await assert.rejects(s.delete('snapshots/y/private_key.pem.age'), (e: unknown) => {
      assert.ok(e instanceof StorageError);
      assert.match(e.message, /access denied/i);
      return true;
    });
    assert.equal((await s.head('snapshots/y/private_key.pem.age'))?.size, 10);
    await s.close();
  });

  test('protection() reports versioning and Object Lock of the bucket', async () => {
    const s = await storage();
    assert.deepEqual(await s.protection(), { versioning: 'enabled', objectLock: 'enabled', notes: [] });
    await s.close();
    const off = await startS3Proxy(s3.endpoint, {});
    try {
      const plain = new S3Storage(`s3://${await s3.createBucket()}/p`, { endpoint: off.endpoint, region: s3.region });
      assert.deepEqual(await plain.protection(), { versioning: 'disabled', objectLock: 'disabled', notes: [] });
      await plain.close();
    } finally {
      await off.stop();
    }
  });
});

describe('checksum headers for custom endpoints', () => {
  test('with an endpoint and no repository.checksum, a plain put sends no flexible checksum (WHEN_REQUIRED)', async () => {
    const s = await storage();
    const from = proxy.requests.length;
    const body = randomBytes(3000);
    await s.put('cs/default', Readable.from([body]));
    const put = seen('cs/default', from).find((r) => r.method === 'PUT')!;
    assert.equal(checksumHeader(put), undefined, 'R2 and B2 reject the SDK default checksum headers');
    assert.equal(put.headers['x-amz-sdk-checksum-algorithm'], undefined);
    assert.ok(!chunked(put));
    assert.equal(sha(await bytesOf(await s.get('cs/default'))), sha(body));
    await s.close();
  });

  test('checksum = "when_supported" sends the SDK default checksum (what R2 and B2 refused)', async () => {
    const s = await storage({ checksum: 'when_supported' });
    const from = proxy.requests.length;
    await s.put('cs/supported', Readable.from([randomBytes(3000)]));
    const put = seen('cs/supported', from).find((r) => r.method === 'PUT')!;
    const any =
      checksumHeader(put) ??
      put.headers['x-amz-sdk-checksum-algorithm'] ??
      put.headers['x-amz-trailer'] ??
      (chunked(put) ? 'aws-chunked' : undefined);
    assert.ok(any, `expected a flexible checksum, got headers ${Object.keys(put.headers).join(', ')}`);
    await s.close();
  });
});
