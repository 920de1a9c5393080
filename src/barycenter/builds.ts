/**
 * The Barycenter builds barysafe knows, as data. Operators run more than one: the published image
 * `0.2.0-beta.5` (6 migrations), upstream `8218d6f` (8), and newer upstream `0.2.0-beta.14` (10, no
 * default admin, onboarding). Every build reports Cargo version `0.2.0-beta.1` (`barycenter -V`),
 * so a build is identified by what it does — its migration list, its binary's SHA-256 or its
 * image digest — never by its version string.
 *
 * Read from Barycenter's source at each build (migration/src/lib.rs, src/settings.rs, src/main.rs,
 * src/web.rs, src/onboarding.rs). Where a later build's source could be read only in part, the
 * entry says so in `notes`.
 */

export type BuildId = 'beta.5' | '8218d6f' | 'beta.14';

export type SettingType = 'string' | 'u16' | 'bool' | 'list' | 'path';

export interface SettingSpec {
  type: SettingType;
  /** The value when the key is absent (serde default or config-rs set_default). */
  default?: string | number | boolean | string[];
  /** `Option<…>`: absent means None. */
  optional?: boolean;
  /**
   * No serde default on the field although the section has one: the key must be present whenever
   * the section exists at all (a file section, or a BARYCENTER__SECTION__* variable creating it).
   */
  requiredInSection?: boolean;
}

export interface BarycenterBuild {
  id: BuildId;
  label: string;
  /** The upstream commit. */
  commit: string;
  /** The published image, when one exists for this build (images exist only per v* tag; there is no `latest`). */
  image?: string;
  /** `seaql_migrations` rows this build writes, in order. A database holding any other row makes it refuse to start. */
  migrations: readonly string[];
  /** Creates admin/password123 at every start when no user named admin exists. */
  defaultAdmin: boolean;
  /** Settings sections and keys this build deserialises; any other key is ignored silently. */
  settings: Readonly<Record<string, Readonly<Record<string, SettingSpec>>>>;
  /** Plain (not BARYCENTER__) environment variables this build reads with std::env::var. */
  env: Readonly<Record<string, string>>;
  /** HTTP status of the redirect after a failed password login, and of OAuth error redirects from /authorize. */
  redirects: { loginFailure: 303 | 307; authorizeError: 303 | 307 };
  /** Whether its migrations run on PostgreSQL (8218d6f's federation migrations are SQLite-only SQL). */
  postgres: 'works' | 'fails-at-m20260407_000001' | 'probably-works';
  /** Whether the startup "Loaded configuration" line prints the whole settings struct (database URL and password included). */
  logsWholeSettings: boolean;
  notes: readonly string[];
}

const MIGRATIONS_BETA5 = [
  'm20250101_000001_initial_schema',
  'm20250107_000001_add_passkeys',
  'm20250107_000002_extend_sessions_users',
  'm20250108_000001_add_consent_table',
  'm20250109_000001_add_device_codes',
  'm20250222_000001_rename_device_code_table',
] as const;
const MIGRATIONS_8218D6F = [
  ...MIGRATIONS_BETA5,
  'm20260407_000001_create_federation_tables',
  'm20260407_000002_create_peer_requests',
] as const;
const MIGRATIONS_BETA14 = [
  ...MIGRATIONS_8218D6F,
  'm20261003_000001_onboarding_invitations',
  'm20261003_000002_password_resets',
] as const;

const SERVER = {
  host: { type: 'string', default: '0.0.0.0' },
  port: { type: 'u16', default: 8080 },
  public_base_url: { type: 'string', optional: true },
  allow_public_registration: { type: 'bool', default: false },
  admin_port: { type: 'u16', optional: true },
} as const satisfies Record<string, SettingSpec>;
const DATABASE = { url: { type: 'string', default: 'sqlite://barycenter.db?mode=rwc' } } as const;
const KEYS = {
  jwks_path: { type: 'path', default: 'data/jwks.json' },
  key_id: { type: 'string', optional: true },
  alg: { type: 'string', default: 'RS256' },
  private_key_path: { type: 'path', default: 'data/private_key.pem' },
} as const satisfies Record<string, SettingSpec>;
const AUTHZ = {
  enabled: { type: 'bool', default: false },
  port: { type: 'u16', optional: true },
  policies_dir: { type: 'path', default: 'policies' },
} as const satisfies Record<string, SettingSpec>;
const WEBFINGER = {
  enabled: { type: 'bool', default: false },
  base_url: { type: 'string', default: '' },
  service_token: { type: 'string', default: '' },
  service_token_file: { type: 'path', optional: true },
  resource_domain: { type: 'string', default: '' },
} as const satisfies Record<string, SettingSpec>;
const FEDERATION = {
  enabled: { type: 'bool', default: false },
  min_verification_level: { type: 'string', default: 'discovery_only' },
  trust_anchors: { type: 'list', default: [] },
} as const satisfies Record<string, SettingSpec>;

const SKIP_CONSENT = 'skips OAuth consent when set to any value, including "false" or ""';

export const BUILDS: readonly BarycenterBuild[] = [
  {
    id: 'beta.5',
    label: '0.2.0-beta.5 (tag v0.2.0-beta.5, 9aa018f; the published image)',
    commit: '9aa018fc93570302b2c9829014f67226cfcc36a4',
    image: 'ghcr.io/cloudnebulaproject/barycenter:0.2.0-beta.5',
    migrations: MIGRATIONS_BETA5,
    defaultAdmin: true,
    settings: {
      server: SERVER,
      database: DATABASE,
      keys: KEYS,
      // Only `trust_anchors`, without a serde default: a federation table without it fails with
      // "missing field `trust_anchors`". No [webfinger] section exists yet (ignored).
      federation: { trust_anchors: { type: 'list', requiredInSection: true } },
      authz: AUTHZ,
    },
    env: { BARYCENTER_SKIP_CONSENT: SKIP_CONSENT },
    redirects: { loginFailure: 307, authorizeError: 307 },
    postgres: 'works',
    logsWholeSettings: true,
    notes: ['no webfinger and no federation beyond trust_anchors; 4 background jobs'],
  },
  {
    id: '8218d6f',
    label: '8218d6f (upstream, 2026-04-11; no published image)',
    commit: '8218d6f9cba01f956c4a803912a7ee4b3b3dec40',
    migrations: MIGRATIONS_8218D6F,
    defaultAdmin: true,
    settings: {
      server: SERVER,
      database: DATABASE,
      keys: KEYS,
      webfinger: WEBFINGER,
      federation: FEDERATION,
      authz: AUTHZ,
    },
    env: { BARYCENTER_SKIP_CONSENT: SKIP_CONSENT },
    redirects: { loginFailure: 307, authorizeError: 307 },
    postgres: 'fails-at-m20260407_000001',
    logsWholeSettings: true,
    notes: [
      'on PostgreSQL all pending migrations run in one transaction and roll back together at m20260407_000001',
      'webfinger registration failures at startup are logged, not fatal',
    ],
  },
  {
    id: 'beta.14',
    label: '0.2.0-beta.14 (b047181 and later upstream)',
    commit: 'b047181',
    image: 'ghcr.io/cloudnebulaproject/barycenter:0.2.0-beta.14',
    migrations: MIGRATIONS_BETA14,
    defaultAdmin: false,
    settings: {
      server: { ...SERVER, onboarding_app_url: { type: 'string', optional: true } },
      database: DATABASE,
      keys: KEYS,
      webfinger: WEBFINGER,
      federation: FEDERATION,
      authz: AUTHZ,
    },
    env: {
      BARYCENTER_SKIP_CONSENT: SKIP_CONSENT,
      BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE:
        'enables the onboarding/password-reset admin API: the file must be readable and hold at least 32 characters, and public_base_url must be https (or http on localhost/127.0.0.1), else startup fails',
    },
    redirects: { loginFailure: 303, authorizeError: 303 },
    postgres: 'probably-works',
    logsWholeSettings: false,
    notes: [
      'server.onboarding_app_url must be https (http only for localhost, 127.0.0.1, [::1]) without credentials or fragment, else startup fails',
      'only parts of this build could be read; its image tag is inferred from the version',
    ],
  },
];

export function buildById(id: BuildId): BarycenterBuild {
  return BUILDS.find((b) => b.id === id)!;
}

/** Every migration any known build writes, oldest first. */
export const KNOWN_MIGRATIONS: readonly string[] = [...new Set(BUILDS.flatMap((b) => b.migrations))];

// A type, not an interface: it is stored in manifests, whose schema types carry an index signature.
export type SchemaBuild = {
  /** The known build whose migration list the database holds exactly, or null. */
  build: BuildId | null;
  /** Known builds that can open this database (they know every row; pending ones they apply). */
  openable_by: BuildId[];
  /** Rows no known build writes, in the database's order. */
  unknown_migrations: string[];
};

/**
 * Which known build produced a database, from its `seaql_migrations` rows: the build whose list
 * they equal. Every build migrates an older database forward at start, so rows equal to a build's
 * list mean that build (or a later unknown one that added no migration) last started on it.
 */
export function schemaBuild(migrations: readonly string[]): SchemaBuild {
  const rows = new Set(migrations);
  const exact = BUILDS.find((b) => b.migrations.length === rows.size && b.migrations.every((m) => rows.has(m)));
  return {
    build: exact?.id ?? null,
    openable_by: BUILDS.filter((b) => migrations.every((m) => b.migrations.includes(m))).map((b) => b.id),
    unknown_migrations: migrations.filter((m) => !KNOWN_MIGRATIONS.includes(m)),
  };
}

/** Migrations a build does not know in a database (those make it refuse to start: "applied but its file is missing"). */
export function migrationsUnknownTo(build: BarycenterBuild, migrations: readonly string[]): string[] {
  return migrations.filter((m) => !build.migrations.includes(m));
}

/**
 * The build whose start-up rules apply to a database: the one that wrote it; for rows no known
 * build writes, the newest known build (a newer build keeps its predecessors' rules as far as
 * barysafe knows); for rows that match no build exactly, the oldest build that can open them.
 */
export function buildForRules(schema: SchemaBuild): { build: BarycenterBuild; why: string } {
  if (schema.build) return { build: buildById(schema.build), why: `the database was written by ${schema.build}` };
  const newest = BUILDS[BUILDS.length - 1]!;
  if (schema.unknown_migrations.length || !schema.openable_by.length)
    return {
      build: newest,
      why: `the database holds migrations no known build writes; checked with the rules of the newest known build, ${newest.id}`,
    };
  const oldest = buildById(schema.openable_by[0]!);
  return {
    build: oldest,
    why: `the database matches no build exactly; checked with the rules of the oldest build that opens it, ${oldest.id}`,
  };
}
