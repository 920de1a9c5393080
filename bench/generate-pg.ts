import pg from 'pg';
import { buildMigrations } from '../test/support/barycenter/migrations.js';
import { ARGON2_PREFIX, ROUND_MIX, SCOPES, scaledSmall, type GeneratedDb } from './shape.js';

/** The URL of another database on the same server. */
export function databaseUrl(serverUrl: string, db: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${db}`;
  return u.toString();
}

const MARKER = (targetBytes: number) => `barysafe-bench v1 target=${targetBytes}`;

/**
 * Creates database `name` on the server and fills it server-side (INSERT … SELECT …
 * generate_series) until pg_database_size reaches targetBytes. With `keep`, an existing database
 * carrying this generator's marker for the same target is reused instead.
 */
export async function generatePostgres(
  serverUrl: string,
  name: string,
  targetBytes: number,
  opts: { scale: number; keep: boolean; log: (s: string) => void },
): Promise<GeneratedDb & { url: string }> {
  const t0 = Date.now();
  const url = databaseUrl(serverUrl, name);
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    if (opts.keep) {
      const r = await admin.query<{ c: string | null }>(
        "SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = $1",
        [name],
      );
      if (r.rows[0]?.c === MARKER(targetBytes)) {
        const rows = await countRows(url);
        const size = await dbSize(url);
        opts.log(`  reusing ${name} (${(size / 2 ** 20).toFixed(0)} MiB) from BENCH_KEEP`);
        return { engine: 'postgres', url, sizeBytes: size, rows, generateMs: Date.now() - t0, reused: true };
      }
    }
    await admin.query(`DROP DATABASE IF EXISTS "${name}"`);
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8'`);
  } finally {
    await admin.end();
  }

  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    // Barycenter's own schema: the eight migrations, in order, with sea-orm's bookkeeping.
    await c.query(
      'CREATE TABLE IF NOT EXISTS "seaql_migrations" ( "version" varchar NOT NULL PRIMARY KEY, "applied_at" bigint NOT NULL )',
    );
    const applied = Math.floor(Date.now() / 1000) - 86400 * 200;
    for (const [i, m] of buildMigrations().entries()) {
      for (const sql of m.up('postgres')) await c.query(sql);
      await c.query('INSERT INTO seaql_migrations (version, applied_at) VALUES ($1, $2)', [
        m.version,
        applied + i * 86400,
      ]);
    }
    // Session-local helpers (pg_temp): nothing of them lands in the database or its dump.
    // tok(): 43 random-looking base64url chars, like a 32-byte token; dtok(x): the same, but a
    // deterministic function of x, so token rows can reference users/clients without a join.
    await c.query(`CREATE FUNCTION pg_temp.b64u(b bytea) RETURNS text LANGUAGE sql IMMUTABLE AS
      $$ SELECT translate(rtrim(encode(b, 'base64'), '='), '+/', '-_') $$`);
    await c.query(`CREATE FUNCTION pg_temp.tok(salt bigint) RETURNS text LANGUAGE sql VOLATILE AS
      $$ SELECT pg_temp.b64u(sha256(convert_to(salt::text || ':' || random()::text || clock_timestamp()::text, 'UTF8'))) $$`);
    await c.query(`CREATE FUNCTION pg_temp.dtok(x text) RETURNS text LANGUAGE sql IMMUTABLE AS
      $$ SELECT pg_temp.b64u(sha256(convert_to(x, 'UTF8'))) $$`);

    const n = scaledSmall(opts.scale);
    const now = Math.floor(Date.now() / 1000);
    const scopes = `(ARRAY[${SCOPES.map((s) => `'${s}'`).join(',')}])`;
    const user = (expr: string) => `pg_temp.dtok('user:' || (1 + (${expr}) % ${n.users}))`;
    const client = (expr: string) => `pg_temp.dtok('client:' || (1 + (${expr}) % ${n.clients}))`;

    await c.query(`INSERT INTO users (subject, username, password_hash, email, email_verified, created_at, enabled, requires_2fa, passkey_enrolled_at)
      SELECT pg_temp.dtok('user:' || i), 'user' || i || '.' || substr(pg_temp.tok(i), 1, 5),
             '${ARGON2_PREFIX}' || substr(pg_temp.tok(i), 1, 22) || '$' || pg_temp.tok(i),
             'user' || i || '@example.org', (i % 3 <> 0)::int, ${now} - i * 97, (i % 200 <> 0)::int, (i % 10 = 0)::int,
             CASE WHEN i % 10 = 0 THEN ${now} - i * 31 END
      FROM generate_series(1, ${n.users}) i`);
    await c.query(`INSERT INTO clients (client_id, client_secret, client_name, redirect_uris, created_at)
      SELECT pg_temp.dtok('client:' || i), pg_temp.tok(i), 'Application ' || i,
             '["https://app' || i || '.example.org/callback","https://app' || i || '.example.org/silent-renew"]', ${now} - i * 86400
      FROM generate_series(1, ${n.clients}) i`);
    await c.query(`INSERT INTO sessions (session_id, subject, auth_time, created_at, expires_at, user_agent, ip_address, amr, acr, mfa_verified)
      SELECT pg_temp.tok(i), ${user('i * 7')}, ${now} - i, ${now} - i, ${now} - i + 86400,
             'Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/' || (100 + i % 30) || '.0',
             '10.' || (i % 250) || '.' || (i % 199) || '.' || (i % 97), '["pwd"]', 'urn:barycenter:acr:pwd', (i % 10 = 0)::int
      FROM generate_series(1, ${n.sessions}) i`);
    await c.query(`INSERT INTO auth_codes (code, client_id, redirect_uri, scope, subject, nonce, code_challenge, code_challenge_method, created_at, expires_at, consumed, auth_time)
      SELECT pg_temp.tok(i), ${client('i')}, 'https://app1.example.org/callback', ${scopes}[1 + i % ${SCOPES.length}], ${user('i * 13')},
             pg_temp.tok(-i), pg_temp.tok(i + 1), 'S256', ${now} - i, ${now} - i + 300, (i % 2)::int, ${now} - i
      FROM generate_series(1, ${n.auth_codes}) i`);
    await c.query(`INSERT INTO consent (client_id, subject, scope, granted_at, expires_at, revoked)
      SELECT ${client('i')}, ${user('i * 3')}, ${scopes}[1 + i % ${SCOPES.length}], ${now} - i * 11, NULL, (i % 40 = 0)::int
      FROM generate_series(1, ${n.consent}) i`);
    await c.query(`INSERT INTO device_codes (device_code, user_code, client_id, client_name, scope, device_info, created_at, expires_at, last_poll_at, interval, status, subject, auth_time, amr, acr)
      SELECT pg_temp.tok(i), upper(substr(pg_temp.tok(-i), 1, 8)), ${client('i')}, 'TV app', 'openid profile', '{"ua":"smart-tv"}',
             ${now} - i, ${now} - i + 600, ${now} - i + 5, 5, CASE WHEN i % 3 = 0 THEN 'approved' ELSE 'pending' END,
             CASE WHEN i % 3 = 0 THEN ${user('i')} END, NULL, NULL, NULL
      FROM generate_series(1, ${n.device_codes}) i`);
    await c.query(`INSERT INTO job_executions (job_name, started_at, completed_at, success, error_message, records_processed)
      SELECT (ARRAY['cleanup_expired_sessions','cleanup_expired_refresh_tokens','cleanup_expired_challenges','cleanup_expired_device_codes'])[1 + i % 4],
             ${now} - i * 3600, ${now} - i * 3600 + 2, 1, NULL, i % 500
      FROM generate_series(1, ${n.job_executions}) i`);

    // The big tables, in rounds, until the database is as big as asked.
    let next = 1;
    const round = async (rows: number) => {
      const a = [next, next + rows - 1];
      const r = [next, next + Math.round(rows * ROUND_MIX.refresh_tokens) - 1];
      const p = [next, next + Math.round(rows * ROUND_MIX.properties) - 1];
      next += rows;
      await c.query(`INSERT INTO access_tokens (token, client_id, subject, scope, created_at, expires_at, revoked)
        SELECT pg_temp.tok(i), ${client('i')}, ${user('i * 7919')}, ${scopes}[1 + i % ${SCOPES.length}], ${now} - i % 2592000, ${now} - i % 2592000 + 3600, (i % 50 = 0)::int
        FROM generate_series(${a[0]}::bigint, ${a[1]}::bigint) i`);
      await c.query(`INSERT INTO refresh_tokens (token, client_id, subject, scope, created_at, expires_at, revoked, parent_token)
        SELECT pg_temp.tok(i), ${client('i')}, ${user('i * 104729')}, ${scopes}[1 + i % ${SCOPES.length}], ${now} - i % 2592000, ${now} - i % 2592000 + 2592000,
               (i % 20 = 0)::int, CASE WHEN i % 4 = 0 THEN pg_temp.tok(-i) END
        FROM generate_series(${r[0]}::bigint, ${r[1]}::bigint) i`);
      await c.query(`INSERT INTO properties (owner, key, value, updated_at)
        SELECT ${user('i')}, 'webauthn.state.' || i,
               json_build_object('device', pg_temp.tok(i), 'fingerprint', pg_temp.tok(-i) || pg_temp.tok(i + 1),
                                 'ua', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_' || (i % 7) || ') AppleWebKit/605.1.15',
                                 'challenge', pg_temp.tok(i + 2) || pg_temp.tok(i + 3) || pg_temp.tok(i + 4) || pg_temp.tok(i + 5))::text,
               ${now} - i % 864000
        FROM generate_series(${p[0]}::bigint, ${p[1]}::bigint) i`);
    };
    let size = await dbSize(url, c);
    const base = size;
    const first = Math.max(5_000, Math.round(200_000 * Math.min(1, opts.scale)));
    await round(first);
    size = await dbSize(url, c);
    const perRow = Math.max(1, (size - base) / first);
    while (size < targetBytes) {
      // Aim a little past the target; check again (index and page fill vary a little).
      const want = Math.ceil(((targetBytes - size) / perRow) * 1.02) + 1000;
      await round(Math.min(want, 2_000_000));
      size = await dbSize(url, c);
      opts.log(`  ${name}: ${(size / 2 ** 20).toFixed(0)} / ${(targetBytes / 2 ** 20).toFixed(0)} MiB`);
    }
    // Settle hint bits and the visibility map now, so neither backup under test pays for them.
    await c.query('VACUUM (FREEZE, ANALYZE)');
    await c.query('CHECKPOINT');
    size = await dbSize(url, c);
    const rows = await countRows(url, c);
    const admin2 = new pg.Client({ connectionString: serverUrl });
    await admin2.connect();
    await admin2.query(`COMMENT ON DATABASE "${name}" IS '${MARKER(targetBytes)}'`);
    await admin2.end();
    return { engine: 'postgres', url, sizeBytes: size, rows, generateMs: Date.now() - t0, reused: false };
  } finally {
    await c.end();
  }
}

async function withClient<T>(url: string, c: pg.Client | undefined, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  if (c) return fn(c);
  const own = new pg.Client({ connectionString: url });
  await own.connect();
  try {
    return await fn(own);
  } finally {
    await own.end();
  }
}

export function dbSize(url: string, c?: pg.Client): Promise<number> {
  return withClient(url, c, async (cl) =>
    Number((await cl.query<{ s: string }>('SELECT pg_database_size(current_database()) AS s')).rows[0]!.s),
  );
}

const COUNTED = ['users', 'clients', 'sessions', 'access_tokens', 'refresh_tokens', 'properties', 'seaql_migrations'];

export function countRows(url: string, c?: pg.Client): Promise<Record<string, number>> {
  return withClient(url, c, async (cl) => {
    const out: Record<string, number> = {};
    for (const t of COUNTED)
      out[t] = Number((await cl.query<{ n: string }>(`SELECT count(*) AS n FROM "${t}"`)).rows[0]!.n);
    return out;
  });
}
