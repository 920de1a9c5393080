import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { hash } from '@node-rs/argon2';
import { buildById } from './builds.js';
import { newJwkPair } from '../crypto/keygen.js';

/**
 * A small SQLite deployment laid out as Barycenter lays out its own: config.toml,
 * data/private_key.pem as a JSON JWK, data/jwks.json, barycenter.db with the core tables and
 * seaql_migrations. Used by `barysafe demo` so a new user can see a backup without an IdP.
 */
const DDL = `
CREATE TABLE clients (client_id TEXT PRIMARY KEY, client_secret TEXT NOT NULL, client_name TEXT, redirect_uris TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE properties (owner TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (owner, key));
CREATE TABLE users (subject TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, email TEXT, email_verified BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, enabled BIGINT NOT NULL DEFAULT 1, requires_2fa BIGINT NOT NULL DEFAULT 0, passkey_enrolled_at BIGINT);
CREATE TABLE sessions (session_id TEXT PRIMARY KEY, subject TEXT NOT NULL, auth_time BIGINT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, user_agent TEXT, ip_address TEXT, amr TEXT, acr TEXT, mfa_verified BIGINT NOT NULL DEFAULT 0);
CREATE TABLE access_tokens (token TEXT PRIMARY KEY, client_id TEXT NOT NULL, subject TEXT NOT NULL, scope TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, revoked BIGINT NOT NULL DEFAULT 0);
CREATE TABLE refresh_tokens (token TEXT PRIMARY KEY, client_id TEXT NOT NULL, subject TEXT NOT NULL, scope TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, revoked BIGINT NOT NULL DEFAULT 0, parent_token TEXT);
CREATE TABLE auth_codes (code TEXT PRIMARY KEY, client_id TEXT NOT NULL, redirect_uri TEXT NOT NULL, scope TEXT NOT NULL, subject TEXT NOT NULL, nonce TEXT, code_challenge TEXT NOT NULL, code_challenge_method TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, consumed BIGINT NOT NULL DEFAULT 0, auth_time BIGINT);
CREATE TABLE job_executions (id INTEGER PRIMARY KEY AUTOINCREMENT, job_name TEXT NOT NULL, started_at BIGINT NOT NULL, completed_at BIGINT, success BIGINT, error_message TEXT, records_processed BIGINT);
CREATE TABLE consent (id INTEGER PRIMARY KEY AUTOINCREMENT, client_id TEXT NOT NULL, subject TEXT NOT NULL, scope TEXT NOT NULL, granted_at BIGINT NOT NULL, expires_at BIGINT, revoked BIGINT NOT NULL DEFAULT 0);
CREATE TABLE device_codes (device_code TEXT PRIMARY KEY, user_code TEXT NOT NULL, client_id TEXT NOT NULL, client_name TEXT, scope TEXT NOT NULL, device_info TEXT, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, last_poll_at BIGINT, interval BIGINT NOT NULL DEFAULT 5, status TEXT NOT NULL, subject TEXT, auth_time BIGINT, amr TEXT, acr TEXT);
CREATE TABLE seaql_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL);
`;

const id = () => randomBytes(24).toString('base64url');

/**
 * Barycenter's on-disk layout around a database: config.toml (relative key paths, as shipped),
 * data/private_key.pem as a JSON JWK with a random 22-character kid, and the matching jwks.json.
 */
export async function writeBarycenterLayout(
  workdir: string,
  opts: { port?: number; databaseUrl: string },
): Promise<{ configPath: string }> {
  const port = opts.port ?? 8080;
  await mkdir(path.join(workdir, 'data'), { recursive: true, mode: 0o750 });
  const configPath = path.join(workdir, 'config.toml');
  await writeFile(
    configPath,
    `[server]\nhost = "127.0.0.1"\nport = ${port}\npublic_base_url = "http://localhost:${port}"\n\n[database]\nurl = ${JSON.stringify(opts.databaseUrl)}\n\n[keys]\njwks_path = "data/jwks.json"\nprivate_key_path = "data/private_key.pem"\nalg = "RS256"\n`,
    { mode: 0o640 },
  );
  const { privateJwk } = newJwkPair({ type: 'rsa', modulusLength: 2048 });
  const kid = randomBytes(16).toString('base64url');
  const jwk = { ...privateJwk, kid, alg: 'RS256', use: 'sig' } as Record<string, unknown>;
  await writeFile(path.join(workdir, 'data/private_key.pem'), JSON.stringify(jwk, null, 2), { mode: 0o600 });
  const pub = { kty: jwk.kty, use: 'sig', kid, alg: 'RS256', n: jwk.n, e: jwk.e };
  await writeFile(path.join(workdir, 'data/jwks.json'), JSON.stringify({ keys: [pub] }, null, 2), { mode: 0o644 });
  return { configPath };
}

export async function createSampleDeployment(
  dir: string,
  opts: { port?: number } = {},
): Promise<{ configPath: string; workdir: string; dbPath: string }> {
  const workdir = path.resolve(dir);
  const { configPath } = await writeBarycenterLayout(workdir, {
    port: opts.port,
    databaseUrl: 'sqlite://barycenter.db?mode=rwc',
  });

  const dbPath = path.join(workdir, 'barycenter.db');
  const db = new Database(dbPath);
  try {
    db.exec(DDL);
    const now = Math.floor(Date.now() / 1000);
    const insMig = db.prepare('INSERT INTO seaql_migrations (version, applied_at) VALUES (?, ?)');
    for (const v of buildById('8218d6f').migrations) insMig.run(v, now);
    const pw = await hash(randomBytes(18).toString('base64url'));
    const insUser = db.prepare(
      'INSERT INTO users (subject, username, password_hash, email, created_at) VALUES (?, ?, ?, ?, ?)',
    );
    insUser.run(id(), 'admin', pw, 'admin@example.com', now);
    insUser.run(id(), 'alice.demo', await hash(randomBytes(18).toString('base64url')), 'alice@example.org', now);
    db.prepare(
      'INSERT INTO clients (client_id, client_secret, client_name, redirect_uris, created_at) VALUES (?, ?, ?, ?, ?)',
    ).run(id(), id(), 'Demo web app', JSON.stringify(['https://app.example.org/callback']), now);
    const insJob = db.prepare(
      'INSERT INTO job_executions (job_name, started_at, completed_at, success, records_processed) VALUES (?, ?, ?, 1, 0)',
    );
    insJob.run('cleanup_expired_sessions', now - 3600, now - 3599);
    insJob.run('cleanup_expired_refresh_tokens', now - 1800, now - 1799);
  } finally {
    db.close();
  }
  return { configPath, workdir, dbPath };
}
