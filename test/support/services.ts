/**
 * The test-services harness (docs: /work/shared/DESIGN.md "Test services"). Each service comes from,
 * in order: an env var (set by scripts/run-tests.mjs, CI or a developer), a testcontainer when a
 * Docker engine answers, or a local fallback process (a throwaway PostgreSQL cluster, s3rver).
 * stop() only stops what this call started.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { findPgBinDir, startLocalCluster } from './pg-cluster.js';
import { startS3rver } from './s3-server.js';

export interface TestPostgres {
  /** Superuser URL to a maintenance database (contains the password: never print it unredacted). */
  url: string;
  /** Creates an empty database and returns its URL (same credentials). */
  createDatabase(name?: string): Promise<string>;
  dropDatabase(name: string): Promise<void>;
  /** Directory of pg_dump/pg_restore matching (or newer than) the server; '' means PATH. */
  binDir: string;
  /** Where it came from: 'env' | 'container' | 'local'. */
  source: string;
  stop(): Promise<void>;
}

export interface TestS3 {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The AWS_* variables that make the standard credential chain find these credentials. */
  env: Record<string, string>;
  createBucket(name?: string): Promise<string>;
  source: string;
  stop(): Promise<void>;
}

const log = (msg: string) => {
  if (process.env.BARYSAFE_TEST_VERBOSE) process.stderr.write(`[services] ${msg}\n`);
};

let dockerAnswer: Promise<boolean> | undefined;
/** Whether a container runtime answers; without Docker this rejects in a few ms, which we catch. */
export function dockerAvailable(): Promise<boolean> {
  if (process.env.TEST_NO_DOCKER) return Promise.resolve(false);
  dockerAnswer ??= (async () => {
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      await getContainerRuntimeClient();
      return true;
    } catch {
      return false;
    }
  })();
  return dockerAnswer;
}

// ---------------------------------------------------------------- PostgreSQL

export async function getPostgres(): Promise<TestPostgres> {
  const t0 = Date.now();
  if (process.env.TEST_PG_URL) {
    return pgHandle(process.env.TEST_PG_URL, await findPgBinDir(), 'env', async () => {});
  }
  if (await dockerAvailable()) {
    const { GenericContainer, Wait } = await import('testcontainers');
    const password = randomBytes(16).toString('hex');
    const c = await new GenericContainer('postgres:15')
      .withEnvironment({ POSTGRES_USER: 'barysafe_test', POSTGRES_PASSWORD: password, POSTGRES_DB: 'postgres' })
      .withExposedPorts(5432)
      // The entrypoint starts a temporary server first: ready means the second announcement.
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start();
    const url = `postgres://barysafe_test:${password}@${c.getHost()}:${c.getMappedPort(5432)}/postgres`;
    log(`postgres container in ${Date.now() - t0} ms`);
    return pgHandle(url, await findPgBinDir(), 'container', async () => void (await c.stop()));
  }
  const cluster = await startLocalCluster();
  log(`local postgres cluster (${cluster.binDir}) in ${Date.now() - t0} ms`);
  return pgHandle(cluster.url, cluster.binDir, 'local', cluster.stop);
}

function pgHandle(url: string, binDir: string, source: string, stop: () => Promise<void>): TestPostgres {
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end().catch(() => {});
    }
  };
  return {
    url,
    binDir,
    source,
    stop,
    async createDatabase(name = `t_${randomBytes(6).toString('hex')}`) {
      checkIdent(name);
      await admin((c) => c.query(`CREATE DATABASE "${name}"`));
      const u = new URL(url);
      u.pathname = `/${name}`;
      return u.toString();
    },
    async dropDatabase(name) {
      checkIdent(name);
      await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

function checkIdent(name: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`invalid database name for tests: ${name}`);
}

// ---------------------------------------------------------------- S3

export async function getS3(): Promise<TestS3> {
  const t0 = Date.now();
  const region = process.env.TEST_S3_REGION ?? 'us-east-1';
  if (process.env.TEST_S3_ENDPOINT) {
    return s3Handle(
      process.env.TEST_S3_ENDPOINT,
      region,
      process.env.TEST_S3_ACCESS_KEY ?? 'S3RVER',
      process.env.TEST_S3_SECRET_KEY ?? 'S3RVER',
      'env',
      async () => {},
    );
  }
  if (await dockerAvailable()) {
    const { GenericContainer, Wait } = await import('testcontainers');
    const user = 'barysafe-test';
    const secret = randomBytes(16).toString('hex');
    const c = await new GenericContainer('minio/minio:latest')
      .withCommand(['server', '/data'])
      .withEnvironment({ MINIO_ROOT_USER: user, MINIO_ROOT_PASSWORD: secret })
      .withExposedPorts(9000)
      .withWaitStrategy(Wait.forHttp('/minio/health/live', 9000))
      .start();
    log(`minio container in ${Date.now() - t0} ms`);
    return s3Handle(
      `http://${c.getHost()}:${c.getMappedPort(9000)}`,
      region,
      user,
      secret,
      'container',
      async () => void (await c.stop()),
    );
  }
  const s = await startS3rver();
  log(`s3rver in ${Date.now() - t0} ms`);
  return s3Handle(s.endpoint, region, s.accessKeyId, s.secretAccessKey, 'local', s.stop);
}

function s3Handle(
  endpoint: string,
  region: string,
  accessKeyId: string,
  secretAccessKey: string,
  source: string,
  stop: () => Promise<void>,
): TestS3 {
  return {
    endpoint,
    region,
    accessKeyId,
    secretAccessKey,
    source,
    stop,
    env: {
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_REGION: region,
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    async createBucket(name = `t-${randomBytes(6).toString('hex')}`) {
      const client = new S3Client({
        endpoint,
        region,
        forcePathStyle: true,
        credentials: { accessKeyId, secretAccessKey },
      });
      try {
        await client.send(new CreateBucketCommand({ Bucket: name }));
      } catch (e) {
        const n = (e as Error).name;
        if (n !== 'BucketAlreadyOwnedByYou' && n !== 'BucketAlreadyExists') throw e;
      } finally {
        client.destroy();
      }
      return name;
    },
  };
}

/** Puts the S3 credentials where the standard AWS chain (and so S3Storage) finds them. */
export function useS3Credentials(s3: TestS3): void {
  Object.assign(process.env, s3.env);
}

// ---------------------------------------------------------------- temp dirs

export interface TempDir {
  path: string;
  cleanup(): Promise<void>;
}

/** A fresh 0700 directory under the OS temp dir; cleanup() removes it and everything in it. */
export async function makeTempDir(prefix = 'barysafe-test-'): Promise<TempDir> {
  const p = await mkdtemp(path.join(tmpdir(), prefix));
  return { path: p, cleanup: () => rm(p, { recursive: true, force: true }) };
}
