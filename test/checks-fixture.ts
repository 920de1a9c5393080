// A temporary Barycenter deployment for the check tests: real files, a real SQLite database, a
// real TLS server on loopback and a real file:// repository with signed manifests.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { newJwkPair } from '../src/crypto/keygen.js';
import { mkdtempSync, mkdirSync, writeFileSync, chmodSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { hash } from '@node-rs/argon2';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { generateSigningKey, keyIdOf, type Signer } from '../src/crypto/signing.js';
import { signDocument, serialize } from '../src/repository/signed-document.js';
import { FileStorage } from '../src/repository/file-storage.js';
import { loadConfig } from '../src/config/load.js';
import { resolveBarycenter } from '../src/config/barycenter.js';
import { createContext } from '../src/checks/engine.js';
import type { CheckContext, DeploymentType } from '../src/checks/types.js';
import type { ArtifactKind, Manifest } from '../src/repository/manifest.js';
import { KNOWN_MIGRATIONS } from '../src/barycenter/builds.js';
import type { DrillRecord } from '../src/repository/drill-record.js';

export function tempDir(prefix = 'barysafe-check-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function rsaJwk(bits = 2048, kid = randomBytes(16).toString('base64url')): JWK {
  const { privateJwk } = newJwkPair({ type: 'rsa', modulusLength: bits });
  return { ...(privateJwk as JWK), kid, alg: 'RS256', use: 'sig' };
}

export function publicJwk(jwk: JWK): JWK {
  return { kty: jwk.kty, n: jwk.n, e: jwk.e, kid: jwk.kid, alg: jwk.alg, use: jwk.use };
}

/** Writes private_key.pem (JSON JWK) and jwks.json the way Barycenter does. */
export function writeKeys(dataDir: string, key: JWK, published: JWK[] = [publicJwk(key)]): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(path.join(dataDir, 'private_key.pem'), JSON.stringify(key, null, 2), { mode: 0o600 });
  writeFileSync(path.join(dataDir, 'jwks.json'), JSON.stringify({ keys: published }, null, 2));
}

/** The tables the checks read, with Barycenter's column names and types (facts §3.2). */
export function createDatabase(file: string): Database.Database {
  const db = new Database(file);
  db.exec(`
    CREATE TABLE users (subject varchar NOT NULL PRIMARY KEY, username varchar NOT NULL UNIQUE, password_hash varchar NOT NULL, email varchar NULL,
      email_verified integer NOT NULL DEFAULT 0, created_at bigint NOT NULL, enabled integer NOT NULL DEFAULT 1, requires_2fa integer NOT NULL DEFAULT 0, passkey_enrolled_at bigint NULL);
    CREATE TABLE clients (client_id varchar NOT NULL PRIMARY KEY, client_secret varchar NOT NULL, client_name varchar NULL, redirect_uris varchar NOT NULL, created_at bigint NOT NULL);
    CREATE TABLE job_executions (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, job_name varchar NOT NULL, started_at bigint NOT NULL, completed_at bigint NULL,
      success integer NULL, error_message varchar NULL, records_processed bigint NULL);
  `);
  return db;
}

export async function addUser(
  db: Database.Database,
  username: string,
  password: string,
  enabled = true,
): Promise<void> {
  db.prepare('INSERT INTO users (subject, username, password_hash, created_at, enabled) VALUES (?, ?, ?, ?, ?)').run(
    randomBytes(24).toString('base64url'),
    username,
    await hash(password),
    Math.floor(Date.now() / 1000),
    enabled ? 1 : 0,
  );
}

export function addClient(db: Database.Database, name: string, uris: string[]): void {
  db.prepare(
    'INSERT INTO clients (client_id, client_secret, client_name, redirect_uris, created_at) VALUES (?, ?, ?, ?, ?)',
  ).run(
    randomBytes(24).toString('base64url'),
    'secret-' + randomBytes(8).toString('hex'),
    name,
    JSON.stringify(uris),
    Math.floor(Date.now() / 1000),
  );
}

/** A self-signed certificate for localhost from the openssl CLI, valid for `days`. */
export function certificate(dir: string, days: number): { cert: string; key: string; certFile: string } {
  const certFile = path.join(dir, `cert-${days}.pem`);
  const keyFile = path.join(dir, `key-${days}.pem`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      String(days),
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile };
}

export interface TlsIdp {
  url: string;
  close(): Promise<void>;
}

/** A real HTTPS server on loopback serving discovery and the JWKS (the public face of Barycenter). */
export async function startTlsIdp(opts: {
  cert: string;
  key: string;
  issuer?: (url: string) => string;
  jwks: () => unknown;
  discoveryStatus?: number;
}): Promise<TlsIdp> {
  const server = https.createServer({ cert: opts.cert, key: opts.key }, (req, res) => {
    const url = `https://localhost:${(server.address() as { port: number }).port}`;
    const send = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') {
      if (opts.discoveryStatus) return void res.writeHead(opts.discoveryStatus).end('unavailable');
      const iss = opts.issuer ? opts.issuer(url) : url;
      return send({
        issuer: iss,
        jwks_uri: `${url}/.well-known/jwks.json`,
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (req.url === '/.well-known/jwks.json') return send(opts.jwks());
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `https://localhost:${(server.address() as { port: number }).port}`;
  return { url, close: () => new Promise((r) => server.close(() => r())) };
}

export interface Deployment {
  dir: string;
  dataDir: string;
  configToml: string;
  barysafeToml: string;
  dbFile: string;
  repoDir: string;
  signer: Signer;
  key: JWK;
}

/** Barycenter's config.toml and barysafe.toml for a deployment in `dir`. */
export function writeConfigs(
  dir: string,
  o: {
    publicBaseUrl?: string;
    adminPort?: number;
    databaseUrl?: string;
    extraToml?: string;
    checksToml?: string;
    barysafeExtra?: string;
  },
): { configToml: string; barysafeToml: string } {
  const configToml = path.join(dir, 'config.toml');
  const lines = ['[server]', 'host = "127.0.0.1"', 'port = 18080'];
  if (o.publicBaseUrl) lines.push(`public_base_url = "${o.publicBaseUrl}"`);
  if (o.adminPort) lines.push(`admin_port = ${o.adminPort}`);
  lines.push('', '[database]', `url = "${o.databaseUrl ?? `sqlite://${path.join(dir, 'barycenter.db')}?mode=rwc`}"`);
  lines.push(
    '',
    '[keys]',
    `private_key_path = "${path.join(dir, 'data/private_key.pem')}"`,
    `jwks_path = "${path.join(dir, 'data/jwks.json')}"`,
  );
  if (o.extraToml) lines.push('', o.extraToml);
  writeFileSync(configToml, lines.join('\n') + '\n', { mode: 0o640 });
  const barysafeToml = path.join(dir, 'barysafe.toml');
  writeFileSync(
    barysafeToml,
    [
      '[barycenter]',
      `config = "${configToml}"`,
      `workdir = "${dir}"`,
      `service_user = "${process.env.USER ?? 'root'}"`,
      o.barysafeExtra ?? '',
      '',
      '[repository]',
      `url = "file://${path.join(dir, 'repo')}"`,
      '',
      '[encryption]',
      'recipients = ["age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq"]',
      `signing_key_file = "${path.join(dir, 'signing.pem')}"`,
      '',
      '[checks]',
      'deployment = "plain"',
      o.checksToml ?? '',
    ].join('\n') + '\n',
  );
  return { configToml, barysafeToml };
}

export async function makeDeployment(o: Parameters<typeof writeConfigs>[1] & { key?: JWK } = {}): Promise<Deployment> {
  const dir = tempDir();
  const dataDir = path.join(dir, 'data');
  const key = o.key ?? rsaJwk();
  writeKeys(dataDir, key);
  chmodSync(dataDir, 0o750);
  const { configToml, barysafeToml } = writeConfigs(dir, o);
  const dbFile = path.join(dir, 'barycenter.db');
  createDatabase(dbFile).close();
  const { privatePem } = generateSigningKey();
  writeFileSync(path.join(dir, 'signing.pem'), privatePem, { mode: 0o600 });
  const privateKey = createPrivateKey(privatePem);
  const publicKey = createPublicKey(privateKey);
  const signer: Signer = { privateKey, publicKey, keyId: keyIdOf(publicKey) };
  const repoDir = path.join(dir, 'repo');
  mkdirSync(repoDir);
  return { dir, dataDir, configToml, barysafeToml, dbFile, repoDir, signer, key };
}

export function snapshotId(at: Date): string {
  return (
    at
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z') +
    '-' +
    randomBytes(3).toString('hex')
  );
}

/** Stores a signed manifest (artifacts of the given kinds) created at `at`. */
export async function putSnapshot(
  d: Deployment,
  at: Date,
  kinds: string[],
  opts: { signer?: Signer; thumbprint?: string } = {},
): Promise<string> {
  const id = snapshotId(at);
  const thumbprint =
    opts.thumbprint ?? (await calculateJwkThumbprint({ kty: 'RSA', n: d.key.n!, e: d.key.e! }, 'sha256'));
  // Typed: a fixture that drifts from the stored format no longer compiles (and would not parse).
  const manifest: Manifest = {
    format: 'barysafe.snapshot/v1',
    id,
    created_at: at.toISOString(),
    started_at: at.toISOString(),
    host: 'test',
    tool: { name: 'barysafe', version: '0.0.0' },
    previous: null,
    recipients: [],
    barycenter: {
      config_path: path.join(d.dir, 'config.toml'),
      config_present: true,
      workdir: d.dir,
      issuer: 'http://localhost:18080',
      port: 18080,
      admin_port: 18081,
      private_key_path: path.join(d.dir, 'data/private_key.pem'),
      jwks_path: path.join(d.dir, 'data/jwks.json'),
    },
    // What a backup of a real Barycenter database records: its migrations and core tables.
    database: {
      engine: 'sqlite',
      source: d.dbFile,
      migrations: [...KNOWN_MIGRATIONS],
      row_counts: { users: 1, clients: 1 },
    },
    key: {
      kid: d.key.kid ?? null,
      kty: 'RSA',
      alg: 'RS256',
      thumbprint,
      modulus_bits: 2048,
      jwks: { kids: [], thumbprints: [], publishes_key_exactly: true, problems: [] },
    },
    artifacts: kinds.map((k) => ({
      name: k,
      kind: k as ArtifactKind,
      object: `snapshots/${id}/${k}.age`,
      source: k,
      size: 1,
      sha256: '0'.repeat(64),
      plaintext_size: 1,
    })),
    warnings: [],
  };
  const bytes = serialize(signDocument(manifest, opts.signer ?? d.signer));
  await new FileStorage(`file://${d.repoDir}`).put(`snapshots/${id}/manifest.json`, Readable.from([bytes]), {
    contentLength: bytes.length,
  });
  return id;
}

export async function putDrill(
  d: Deployment,
  finishedAt: Date,
  verdict: 'pass' | 'fail',
  opts: { signer?: Signer } = {},
): Promise<void> {
  const id = snapshotId(finishedAt);
  const record: DrillRecord = {
    format: 'barysafe.drill/v1',
    id,
    snapshot_id: id,
    snapshot_sha256: null,
    started_at: new Date(finishedAt.getTime() - 60_000).toISOString(),
    finished_at: finishedAt.toISOString(),
    verdict,
    steps: [],
    rto_ms: 42_000,
    rpo_ms: 3_600_000,
    host: 'test',
    tool: { name: 'barysafe', version: '0.0.0' },
  };
  const bytes = serialize(signDocument(record, opts.signer ?? d.signer));
  await new FileStorage(`file://${d.repoDir}`).put(`drills/${id}.json`, Readable.from([bytes]), {
    contentLength: bytes.length,
  });
}

export async function contextFor(
  barysafeToml: string,
  deployment: DeploymentType = 'plain',
  now = new Date(),
): Promise<CheckContext> {
  const loaded = await loadConfig(barysafeToml);
  return createContext({
    config: loaded.config,
    configPath: loaded.path,
    barycenter: resolveBarycenter(loaded.config.barycenter, {}),
    deployment: { type: deployment, reason: 'test' },
    now,
  });
}

export function otherSigner(): Signer {
  const { privatePem } = generateSigningKey();
  const privateKey = createPrivateKey(privatePem);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}
