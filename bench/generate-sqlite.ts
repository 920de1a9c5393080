import { createHash, randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { buildMigrations } from '../test/support/barycenter/migrations.js';
import { ARGON2_PREFIX, ROUND_MIX, SCOPES, scaledSmall, type GeneratedDb } from './shape.js';

const MARKER_VERSION = 0x62737631; // "bsv1" in PRAGMA user_version: made by this generator

/**
 * Creates a SQLite database at `file` the way Barycenter's migrations lay it out and fills it
 * inside SQLite (INSERT … SELECT over a recursive CTE) until the file reaches targetBytes.
 * tok()/dtok() are registered functions (random / SHA-256-derived base64url, 43 chars).
 * With `keep`, an existing file from this generator that is already big enough is reused.
 * With `blobs`, the growing part is incompressible random 64 KiB blobs in a table of its own
 * instead of tokens: the cipher's case, where integrity_check has few pages to walk.
 */
export async function generateSqlite(
  file: string,
  targetBytes: number,
  opts: { scale: number; keep: boolean; log: (s: string) => void; blobs?: boolean },
): Promise<GeneratedDb> {
  const t0 = Date.now();
  if (opts.keep && existsSync(file)) {
    const db = new Database(file, { readonly: true });
    try {
      if (db.pragma('user_version', { simple: true }) === MARKER_VERSION && statSync(file).size >= targetBytes) {
        opts.log(`  reusing ${file} from BENCH_KEEP`);
        return {
          engine: 'sqlite',
          sizeBytes: statSync(file).size,
          rows: countRows(db),
          generateMs: Date.now() - t0,
          reused: true,
        };
      }
    } finally {
      db.close();
    }
  }
  await rm(file, { force: true });
  await rm(`${file}-journal`, { force: true });
  const db = new Database(file);
  try {
    // A bulk load: no journal while generating (the file is thrown away on failure).
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
    db.function('tok', { deterministic: false }, () => randomBytes(32).toString('base64url'));
    db.function('dtok', { deterministic: true }, (x: unknown) =>
      createHash('sha256').update(String(x)).digest('base64url'),
    );

    const finish = (): GeneratedDb => {
      db.pragma(`user_version = ${MARKER_VERSION}`);
      const rows = countRows(db);
      db.pragma('journal_mode = DELETE');
      db.close();
      return { engine: 'sqlite', sizeBytes: statSync(file).size, rows, generateMs: Date.now() - t0, reused: false };
    };
    db.exec(
      'CREATE TABLE IF NOT EXISTS "seaql_migrations" ( "version" varchar NOT NULL PRIMARY KEY, "applied_at" bigint NOT NULL )',
    );
    const applied = Math.floor(Date.now() / 1000) - 86400 * 200;
    const insMig = db.prepare('INSERT INTO seaql_migrations (version, applied_at) VALUES (?, ?)');
    for (const [i, m] of buildMigrations().entries()) {
      for (const sql of m.up('sqlite')) db.exec(sql);
      insMig.run(m.version, applied + i * 86400);
    }

    const n = scaledSmall(opts.scale);
    const now = Math.floor(Date.now() / 1000);
    const series = (from: number, to: number) =>
      `WITH RECURSIVE s(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM s WHERE i < ${to})`;
    const scope = (expr: string) =>
      `(CASE (${expr}) % ${SCOPES.length} ${SCOPES.map((s, k) => `WHEN ${k} THEN '${s}'`).join(' ')} END)`;
    const user = (expr: string) => `dtok('user:' || (1 + (${expr}) % ${n.users}))`;
    const client = (expr: string) => `dtok('client:' || (1 + (${expr}) % ${n.clients}))`;

    db.exec(`${series(1, n.users)}
      INSERT INTO users (subject, username, password_hash, email, email_verified, created_at, enabled, requires_2fa, passkey_enrolled_at)
      SELECT dtok('user:' || i), 'user' || i || '.' || substr(tok(), 1, 5), '${ARGON2_PREFIX}' || substr(tok(), 1, 22) || '$' || tok(),
             'user' || i || '@example.org', i % 3 <> 0, ${now} - i * 97, i % 200 <> 0, i % 10 = 0, CASE WHEN i % 10 = 0 THEN ${now} - i * 31 END
      FROM s`);
    db.exec(`${series(1, n.clients)}
      INSERT INTO clients (client_id, client_secret, client_name, redirect_uris, created_at)
      SELECT dtok('client:' || i), tok(), 'Application ' || i,
             '["https://app' || i || '.example.org/callback","https://app' || i || '.example.org/silent-renew"]', ${now} - i * 86400
      FROM s`);
    db.exec(`${series(1, n.sessions)}
      INSERT INTO sessions (session_id, subject, auth_time, created_at, expires_at, user_agent, ip_address, amr, acr, mfa_verified)
      SELECT tok(), ${user('i * 7')}, ${now} - i, ${now} - i, ${now} - i + 86400,
             'Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/' || (100 + i % 30) || '.0',
             '10.' || (i % 250) || '.' || (i % 199) || '.' || (i % 97), '["pwd"]', 'urn:barycenter:acr:pwd', i % 10 = 0
      FROM s`);
    db.exec(`${series(1, n.auth_codes)}
      INSERT INTO auth_codes (code, client_id, redirect_uri, scope, subject, nonce, code_challenge, code_challenge_method, created_at, expires_at, consumed, auth_time)
      SELECT tok(), ${client('i')}, 'https://app1.example.org/callback', ${scope('i')}, ${user('i * 13')}, tok(), tok(), 'S256',
             ${now} - i, ${now} - i + 300, i % 2, ${now} - i
      FROM s`);
    db.exec(`${series(1, n.consent)}
      INSERT INTO consent (client_id, subject, scope, granted_at, expires_at, revoked)
      SELECT ${client('i')}, ${user('i * 3')}, ${scope('i')}, ${now} - i * 11, NULL, i % 40 = 0
      FROM s`);
    db.exec(`${series(1, n.device_codes)}
      INSERT INTO device_codes (device_code, user_code, client_id, client_name, scope, device_info, created_at, expires_at, last_poll_at, interval, status, subject, auth_time, amr, acr)
      SELECT tok(), upper(substr(tok(), 1, 8)), ${client('i')}, 'TV app', 'openid profile', '{"ua":"smart-tv"}', ${now} - i, ${now} - i + 600, ${now} - i + 5, 5,
             CASE WHEN i % 3 = 0 THEN 'approved' ELSE 'pending' END, CASE WHEN i % 3 = 0 THEN ${user('i')} END, NULL, NULL, NULL
      FROM s`);
    db.exec(`${series(1, n.job_executions)}
      INSERT INTO job_executions (job_name, started_at, completed_at, success, error_message, records_processed)
      SELECT CASE i % 4 WHEN 0 THEN 'cleanup_expired_sessions' WHEN 1 THEN 'cleanup_expired_refresh_tokens' WHEN 2 THEN 'cleanup_expired_challenges' ELSE 'cleanup_expired_device_codes' END,
             ${now} - i * 3600, ${now} - i * 3600 + 2, 1, NULL, i % 500
      FROM s`);

    let next = 1;
    const round = db.transaction((rows: number) => {
      const a = [next, next + rows - 1];
      const r = [next, next + Math.round(rows * ROUND_MIX.refresh_tokens) - 1];
      const p = [next, next + Math.round(rows * ROUND_MIX.properties) - 1];
      next += rows;
      db.exec(`${series(a[0]!, a[1]!)}
        INSERT INTO access_tokens (token, client_id, subject, scope, created_at, expires_at, revoked)
        SELECT tok(), ${client('i')}, ${user('i * 7919')}, ${scope('i')}, ${now} - i % 2592000, ${now} - i % 2592000 + 3600, i % 50 = 0
        FROM s`);
      db.exec(`${series(r[0]!, r[1]!)}
        INSERT INTO refresh_tokens (token, client_id, subject, scope, created_at, expires_at, revoked, parent_token)
        SELECT tok(), ${client('i')}, ${user('i * 104729')}, ${scope('i')}, ${now} - i % 2592000, ${now} - i % 2592000 + 2592000, i % 20 = 0,
               CASE WHEN i % 4 = 0 THEN tok() END
        FROM s`);
      db.exec(`${series(p[0]!, p[1]!)}
        INSERT INTO properties (owner, key, value, updated_at)
        SELECT ${user('i')}, 'webauthn.state.' || i,
               json_object('device', tok(), 'fingerprint', tok() || tok(),
                           'ua', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_' || (i % 7) || ') AppleWebKit/605.1.15',
                           'challenge', tok() || tok() || tok() || tok()),
               ${now} - i % 864000
        FROM s`);
    });
    const size = () =>
      (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
    if (opts.blobs) {
      db.exec('CREATE TABLE bench_blobs (id INTEGER PRIMARY KEY, b BLOB NOT NULL)');
      const blobs = db.transaction((rows: number) =>
        db.exec(`${series(1, rows)} INSERT INTO bench_blobs (b) SELECT randomblob(65536) FROM s`),
      );
      while (size() < targetBytes) blobs(Math.max(1, Math.min(1024, Math.ceil((targetBytes - size()) / 65536))));
      return finish();
    }
    const base = size();
    const first = Math.max(5_000, Math.round(100_000 * Math.min(1, opts.scale)));
    round(first);
    let now2 = size();
    const perRow = Math.max(1, (now2 - base) / first);
    while (now2 < targetBytes) {
      const want = Math.ceil(((targetBytes - now2) / perRow) * 1.02) + 1000;
      round(Math.min(want, 1_000_000));
      now2 = size();
      opts.log(`  ${file}: ${(now2 / 2 ** 20).toFixed(0)} / ${(targetBytes / 2 ** 20).toFixed(0)} MiB`);
    }
    return finish();
  } catch (e) {
    if (db.open) db.close();
    await rm(file, { force: true });
    throw e;
  }
}

function countRows(db: Database.Database): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of [
    'users',
    'clients',
    'sessions',
    'access_tokens',
    'refresh_tokens',
    'properties',
    'seaql_migrations',
  ]) {
    out[t] = (db.prepare(`SELECT count(*) AS n FROM "${t}"`).get() as { n: number }).n;
  }
  return out;
}
