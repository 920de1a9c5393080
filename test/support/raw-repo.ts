// Raw access to a repository's objects, past barysafe: what an attacker, a bit flip or an operator
// with the storage console can do. Tests use it to damage repositories and to compare bytes.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import type { TestS3 } from './services.js';

export type BackendKind = 'file' | 's3';

export interface RawRepo {
  kind: BackendKind;
  /** repository.url */
  url: string;
  /** Lines for the [repository] section after url (s3: endpoint, region…). */
  extra: string;
  /** Env the CLI needs to reach it (AWS credentials). */
  env: Record<string, string>;
  read(key: string): Promise<Buffer>;
  write(key: string, bytes: Buffer): Promise<void>;
  remove(key: string): Promise<void>;
  /** Every key, sorted (the file backend's temp dir excluded). */
  keys(): Promise<string[]>;
  /** key → bytes for every object: to prove that something changed no byte. */
  snapshotBytes(): Promise<Map<string, Buffer>>;
}

/** A fresh, empty repository of `kind`: a directory under `dir`, or a prefix in a new bucket. */
export async function rawRepo(kind: BackendKind, dir: string, s3?: TestS3, endpoint?: string): Promise<RawRepo> {
  if (kind === 'file') {
    const root = path.join(dir, 'repository');
    const walk = async (rel: string): Promise<string[]> => {
      const out: string[] = [];
      const entries = await readdir(path.join(root, rel), { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const k = rel ? `${rel}/${e.name}` : e.name;
        if (!rel && e.name === '.barysafe-tmp') continue;
        if (e.isDirectory()) out.push(...(await walk(k)));
        else out.push(k);
      }
      return out;
    };
    const self: RawRepo = {
      kind,
      url: `file://${root}`,
      extra: '',
      env: {},
      read: (k) => readFile(path.join(root, k)),
      write: async (k, b) => {
        await mkdir(path.dirname(path.join(root, k)), { recursive: true });
        await writeFile(path.join(root, k), b);
      },
      remove: (k) => rm(path.join(root, k), { force: true }),
      keys: async () => (await walk('')).sort(),
      snapshotBytes: async () => {
        const m = new Map<string, Buffer>();
        for (const k of await self.keys()) m.set(k, await self.read(k));
        return m;
      },
    };
    return self;
  }
  if (!s3) throw new Error('rawRepo s3 needs the test S3 service');
  const bucket = await s3.createBucket();
  const prefix = 'barysafe/';
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  const self: RawRepo = {
    kind,
    url: `s3://${bucket}/barysafe`,
    extra: `endpoint = "${endpoint ?? s3.endpoint}"\nregion = "${s3.region}"\nforce_path_style = true`,
    env: s3.env,
    read: async (k) =>
      Buffer.from(
        await (
          await client.send(new GetObjectCommand({ Bucket: bucket, Key: prefix + k }))
        ).Body!.transformToByteArray(),
      ),
    write: async (k, b) => void (await client.send(new PutObjectCommand({ Bucket: bucket, Key: prefix + k, Body: b }))),
    remove: async (k) => void (await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: prefix + k }))),
    keys: async () => {
      const out: string[] = [];
      for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix }))
        for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key.slice(prefix.length));
      return out.sort();
    },
    snapshotBytes: async () => {
      const m = new Map<string, Buffer>();
      for (const k of await self.keys()) m.set(k, await self.read(k));
      return m;
    },
  };
  return self;
}
