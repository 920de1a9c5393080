// Barycenter's sea-orm migrations (6 at beta.5, 8 at 8218d6f, 10 at beta.14), replayed as DDL for
// SQLite and PostgreSQL, with sea-orm-migration's `seaql_migrations` bookkeeping, its "file is
// missing" check and its transactions: none on SQLite, one for all pending migrations on PostgreSQL.
import type { Db } from './db.js';
import { FatalError } from './errors.js';
import { info } from './log.js';
import { profile } from './profile.js';

type Backend = Db['backend'];
interface Col {
  name: string;
  type: 'varchar' | 'bigint' | 'integer';
  nullable?: boolean;
  def?: string | number;
  pk?: boolean;
  unique?: boolean;
  autoinc?: boolean;
}

const str = (name: string, o: Partial<Col> = {}): Col => ({ name, type: 'varchar', ...o });
const strNull = (name: string): Col => str(name, { nullable: true });
const big = (name: string, o: Partial<Col> = {}): Col => ({ name, type: 'bigint', ...o });
const bigNull = (name: string): Col => big(name, { nullable: true });
const int = (name: string, o: Partial<Col> = {}): Col => ({ name, type: 'integer', ...o });

function colSql(c: Col, b: Backend): string {
  let type: string = c.type;
  if (c.autoinc && b === 'postgres') type = c.type === 'bigint' ? 'bigserial' : 'serial';
  let s = `"${c.name}" ${type} ${c.nullable ? 'NULL' : 'NOT NULL'}`;
  if (c.def !== undefined) s += ` DEFAULT ${typeof c.def === 'string' ? `'${c.def}'` : c.def}`;
  if (c.pk) s += ' PRIMARY KEY';
  if (c.autoinc && b === 'sqlite') s += ' AUTOINCREMENT';
  if (c.unique) s += ' UNIQUE';
  return s;
}

function createTable(b: Backend, table: string, cols: Col[], extra: string[] = []): string {
  return `CREATE TABLE IF NOT EXISTS "${table}" ( ${[...cols.map((c) => colSql(c, b)), ...extra].join(', ')} )`;
}
const index = (name: string, table: string, cols: string[]) =>
  `CREATE INDEX IF NOT EXISTS "${name}" ON "${table}" (${cols.map((c) => `"${c}"`).join(', ')})`;
const addColumn = (b: Backend, table: string, c: Col) => `ALTER TABLE "${table}" ADD COLUMN ${colSql(c, b)}`;

/**
 * 8218d6f's federation migrations are SQLite-only SQL (strftime defaults, integer defaults on
 * BOOLEAN): on PostgreSQL they fail, as the real build does. Later builds write a backend-specific
 * timestamp default (timestamp_default); the stand-in's translation plays that fix.
 */
function federationSql(b: Backend, sql: string): string {
  if (b === 'sqlite' || profile().postgresFederationFails) return sql;
  return sql
    .replace(
      /\(strftime\('%Y-%m-%dT%H:%M:%SZ', 'now'\)\)/g,
      `(to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))`,
    )
    .replace(/BOOLEAN NOT NULL DEFAULT 0/g, 'BOOLEAN NOT NULL DEFAULT false');
}
const NOW_TEXT = `DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))`;

interface Migration {
  version: string;
  up(b: Backend): string[];
}

export const MIGRATIONS: Migration[] = [
  {
    version: 'm20250101_000001_initial_schema',
    up: (b) => [
      createTable(b, 'clients', [
        str('client_id', { pk: true }),
        str('client_secret'),
        strNull('client_name'),
        str('redirect_uris'),
        big('created_at'),
      ]),
      createTable(
        b,
        'properties',
        [str('owner'), str('key'), str('value'), big('updated_at')],
        ['PRIMARY KEY ("owner", "key")'],
      ),
      createTable(b, 'auth_codes', [
        str('code', { pk: true }),
        str('client_id'),
        str('redirect_uri'),
        str('scope'),
        str('subject'),
        strNull('nonce'),
        str('code_challenge'),
        str('code_challenge_method'),
        big('created_at'),
        big('expires_at'),
        big('consumed', { def: 0 }),
        bigNull('auth_time'),
      ]),
      createTable(b, 'access_tokens', [
        str('token', { pk: true }),
        str('client_id'),
        str('subject'),
        str('scope'),
        big('created_at'),
        big('expires_at'),
        big('revoked', { def: 0 }),
      ]),
      createTable(b, 'users', [
        str('subject', { pk: true }),
        str('username', { unique: true }),
        str('password_hash'),
        strNull('email'),
        big('email_verified', { def: 0 }),
        big('created_at'),
        big('enabled', { def: 1 }),
      ]),
      createTable(b, 'sessions', [
        str('session_id', { pk: true }),
        str('subject'),
        big('auth_time'),
        big('created_at'),
        big('expires_at'),
        strNull('user_agent'),
        strNull('ip_address'),
      ]),
      index('idx_sessions_expires', 'sessions', ['expires_at']),
      createTable(b, 'refresh_tokens', [
        str('token', { pk: true }),
        str('client_id'),
        str('subject'),
        str('scope'),
        big('created_at'),
        big('expires_at'),
        big('revoked', { def: 0 }),
        strNull('parent_token'),
      ]),
      index('idx_refresh_tokens_expires', 'refresh_tokens', ['expires_at']),
      createTable(b, 'job_executions', [
        b === 'postgres' ? big('id', { pk: true, autoinc: true }) : int('id', { pk: true, autoinc: true }),
        str('job_name'),
        big('started_at'),
        bigNull('completed_at'),
        bigNull('success'),
        strNull('error_message'),
        bigNull('records_processed'),
      ]),
      index('idx_job_executions_started', 'job_executions', ['started_at']),
    ],
  },
  {
    version: 'm20250107_000001_add_passkeys',
    up: (b) => [
      createTable(
        b,
        'passkeys',
        [
          str('credential_id', { pk: true }),
          str('subject'),
          str('public_key_cose'),
          big('counter', { def: 0 }),
          strNull('aaguid'),
          big('backup_eligible'),
          big('backup_state'),
          strNull('transports'),
          strNull('name'),
          big('created_at'),
          bigNull('last_used_at'),
        ],
        ['CONSTRAINT "fk_passkeys_subject" FOREIGN KEY ("subject") REFERENCES "users" ("subject") ON DELETE CASCADE'],
      ),
      index('idx_passkeys_subject', 'passkeys', ['subject']),
      createTable(b, 'webauthn_challenges', [
        str('challenge', { pk: true }),
        strNull('subject'),
        strNull('session_id'),
        str('challenge_type'),
        big('created_at'),
        big('expires_at'),
        str('options_json'),
      ]),
      index('idx_webauthn_challenges_expires', 'webauthn_challenges', ['expires_at']),
    ],
  },
  {
    version: 'm20250107_000002_extend_sessions_users',
    up: (b) => [
      addColumn(b, 'sessions', strNull('amr')),
      addColumn(b, 'sessions', strNull('acr')),
      addColumn(b, 'sessions', big('mfa_verified', { def: 0 })),
      addColumn(b, 'users', big('requires_2fa', { def: 0 })),
      addColumn(b, 'users', bigNull('passkey_enrolled_at')),
    ],
  },
  {
    // The migration names the table `consent`; the entity (and so every query) says `consents`.
    version: 'm20250108_000001_add_consent_table',
    up: (b) => [
      createTable(b, 'consent', [
        int('id', { pk: true, autoinc: true }),
        str('client_id'),
        str('subject'),
        str('scope'),
        big('granted_at'),
        bigNull('expires_at'),
        int('revoked', { def: 0 }),
      ]),
      index('idx_consent_client_subject', 'consent', ['client_id', 'subject']),
      index('idx_consent_subject', 'consent', ['subject']),
    ],
  },
  {
    version: 'm20250109_000001_add_device_codes',
    up: (b) => [
      createTable(b, 'device_code', [
        str('device_code', { pk: true }),
        str('user_code'),
        str('client_id'),
        strNull('client_name'),
        str('scope'),
        strNull('device_info'),
        big('created_at'),
        big('expires_at'),
        bigNull('last_poll_at'),
        int('interval', { def: 5 }),
        str('status', { def: 'pending' }),
        strNull('subject'),
        bigNull('auth_time'),
        strNull('amr'),
        strNull('acr'),
      ]),
      index('idx_device_codes_user_code', 'device_code', ['user_code']),
      index('idx_device_codes_expires_at', 'device_code', ['expires_at']),
      index('idx_device_codes_status', 'device_code', ['status']),
    ],
  },
  {
    version: 'm20250222_000001_rename_device_code_table',
    up: () => ['ALTER TABLE "device_code" RENAME TO "device_codes"'],
  },
  {
    version: 'm20260407_000001_create_federation_tables',
    up: (b) =>
      [
        `CREATE TABLE IF NOT EXISTS trusted_peers (
                id TEXT PRIMARY KEY,
                domain TEXT NOT NULL UNIQUE,
                issuer_url TEXT NOT NULL,
                client_id TEXT NOT NULL,
                client_secret TEXT,
                token_endpoint TEXT,
                authorization_endpoint TEXT,
                userinfo_endpoint TEXT,
                jwks_uri TEXT,
                pinned_jwks TEXT,
                jwks_pin_mode TEXT NOT NULL DEFAULT 'pin_on_first_use',
                scopes TEXT NOT NULL DEFAULT 'openid email profile',
                mapping_policy TEXT NOT NULL DEFAULT 'existing_only',
                trust_peer_acr BOOLEAN NOT NULL DEFAULT 0,
                sync_profile BOOLEAN NOT NULL DEFAULT 0,
                status TEXT NOT NULL DEFAULT 'pending_verification',
                verification_level TEXT,
                verified_at TEXT,
                webfinger_issuer_match BOOLEAN,
                last_discovery_refresh TEXT,
                last_discovery_error TEXT,
                created_at TEXT NOT NULL ${NOW_TEXT},
                updated_at TEXT NOT NULL ${NOW_TEXT}
            )`,
        `CREATE TABLE IF NOT EXISTS federated_identities (
                id TEXT PRIMARY KEY,
                local_user_id TEXT NOT NULL,
                peer_id TEXT NOT NULL,
                external_subject TEXT NOT NULL,
                external_issuer TEXT NOT NULL,
                external_email TEXT,
                linked_at TEXT NOT NULL ${NOW_TEXT},
                last_login_at TEXT,
                FOREIGN KEY (peer_id) REFERENCES trusted_peers(id) ON DELETE CASCADE,
                UNIQUE(peer_id, external_subject)
            )`,
        `CREATE TABLE IF NOT EXISTS federation_auth_requests (
                id TEXT PRIMARY KEY,
                peer_id TEXT NOT NULL,
                state TEXT NOT NULL UNIQUE,
                nonce TEXT NOT NULL,
                pkce_verifier TEXT NOT NULL,
                original_authorize_params TEXT NOT NULL,
                original_session_id TEXT,
                created_at TEXT NOT NULL ${NOW_TEXT},
                expires_at TEXT NOT NULL,
                FOREIGN KEY (peer_id) REFERENCES trusted_peers(id) ON DELETE CASCADE
            )`,
      ].map((s) => federationSql(b, s)),
  },
  {
    version: 'm20260407_000002_create_peer_requests',
    up: (b) => [
      federationSql(
        b,
        `CREATE TABLE IF NOT EXISTS peer_requests (
                id TEXT PRIMARY KEY,
                requesting_issuer TEXT NOT NULL,
                requesting_domain TEXT NOT NULL,
                client_id_at_us TEXT NOT NULL,
                callback_endpoint TEXT NOT NULL,
                request_jws TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'pending_approval',
                created_at TEXT NOT NULL ${NOW_TEXT},
                expires_at TEXT NOT NULL
            )`,
      ),
    ],
  },
  {
    version: 'm20261003_000001_onboarding_invitations',
    up: (b) => [
      createTable(b, 'onboarding_invitations', [
        str('username', { pk: true }),
        str('token_hash', { unique: true }),
        str('email'),
        big('expires_at'),
        big('consumed', { def: 0 }),
      ]),
    ],
  },
  {
    version: 'm20261003_000002_password_resets',
    up: (b) => [
      createTable(b, 'password_resets', [
        str('subject', { pk: true }),
        str('token_hash', { unique: true }),
        str('email'),
        str('password_hash_at_issue'),
        big('expires_at'),
        big('consumed', { def: 0 }),
      ]),
    ],
  },
];

const TARGET = 'sea_orm_migration::migrator';

/** The migrations of the build being played, in order. */
export function buildMigrations(): Migration[] {
  const versions = profile().migrations;
  return versions.map((v) => MIGRATIONS.find((m) => m.version === v)!);
}

/**
 * Migrator::up(db, None): refuse unknown applied versions (before touching anything), then apply
 * pending ones in order. PostgreSQL: one transaction around all of them, so a failure rolls back
 * every pending migration. SQLite: no transaction; each migration's row is written after its DDL,
 * so a failing migration leaves its earlier statements behind without a row.
 */
export async function runMigrations(db: Db): Promise<void> {
  const migrations = buildMigrations();
  await db.run(
    'CREATE TABLE IF NOT EXISTS "seaql_migrations" ( "version" varchar NOT NULL PRIMARY KEY, "applied_at" bigint NOT NULL )',
  );
  const applied = new Set(
    (await db.all('SELECT "version" FROM "seaql_migrations" ORDER BY "version"')).map((r) => String(r.version)),
  );
  const known = new Set(migrations.map((m) => m.version));
  for (const v of applied) {
    if (!known.has(v)) {
      throw new FatalError(
        `Custom Error: Migration file of version '${v}' is missing, this migration has been applied but its file is missing`,
      );
    }
  }
  const pending = migrations.filter((m) => !applied.has(m.version));
  if (pending.length === 0) {
    info(TARGET, 'No pending migrations');
    return;
  }
  info(TARGET, 'Applying all pending migrations');
  const apply = async (conn: Db) => {
    for (const m of pending) {
      info(TARGET, `Applying migration '${m.version}'`);
      for (const sql of m.up(db.backend)) await conn.run(sql);
      await conn.run('INSERT INTO "seaql_migrations" ("version", "applied_at") VALUES (?, ?)', [
        m.version,
        Math.floor(Date.now() / 1000),
      ]);
      info(TARGET, `Migration '${m.version}' has been applied`);
    }
  };
  try {
    if (db.backend === 'postgres') await db.transaction(apply);
    else await apply(db);
  } catch (e) {
    if (e instanceof FatalError) throw e;
    throw new FatalError(`Execution Error: error returned from database: ${(e as Error).message}`);
  }
}
