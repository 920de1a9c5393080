// Which Barycenter build the stand-in plays. Each build is a different "binary": the launchers in
// test/support/bin (barycenter = 8218d6f, barycenter-beta.5, barycenter-beta.14) set
// STANDIN_BARYCENTER_BUILD, so the choice cannot leak in through a BARYCENTER* variable and the
// three launchers have different SHA-256s, as three real builds do. Written from
// barycenter-facts.md §11 and the upstream source at each build, independently of barysafe's own
// table of builds (src/barycenter/builds.ts), so tests compare two readings instead of one.

export type ProfileId = 'beta.5' | '8218d6f' | 'beta.14';

export interface Profile {
  id: ProfileId;
  /** Migration versions, in order (their DDL lives in migrations.ts). */
  migrations: readonly string[];
  /** ensure_test_users: admin/password123 when no user named admin exists. */
  defaultAdmin: boolean;
  /** The [webfinger] section and federation.enabled / min_verification_level exist. */
  webfinger: boolean;
  /** Federation { trust_anchors } has no serde default: a federation table without it fails. */
  trustAnchorsRequired: boolean;
  /** server.onboarding_app_url exists and is validated in Settings::load. */
  onboardingAppUrl: boolean;
  /** BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE is read at server start. */
  onboardingTokenFile: boolean;
  /** The federation migrations are written for SQLite only and fail on PostgreSQL. */
  postgresFederationFails: boolean;
  /** "Loaded configuration" prints the whole Settings Debug (database URL included). */
  logsWholeSettings: boolean;
  /** Failed-login and /authorize error redirects. */
  errorRedirect: 303 | 307;
}

const BETA5_MIGRATIONS = [
  'm20250101_000001_initial_schema',
  'm20250107_000001_add_passkeys',
  'm20250107_000002_extend_sessions_users',
  'm20250108_000001_add_consent_table',
  'm20250109_000001_add_device_codes',
  'm20250222_000001_rename_device_code_table',
];
const FEDERATION_MIGRATIONS = ['m20260407_000001_create_federation_tables', 'm20260407_000002_create_peer_requests'];
const ONBOARDING_MIGRATIONS = ['m20261003_000001_onboarding_invitations', 'm20261003_000002_password_resets'];

export const PROFILES: Record<ProfileId, Profile> = {
  'beta.5': {
    id: 'beta.5',
    migrations: BETA5_MIGRATIONS,
    defaultAdmin: true,
    webfinger: false,
    trustAnchorsRequired: true,
    onboardingAppUrl: false,
    onboardingTokenFile: false,
    postgresFederationFails: false,
    logsWholeSettings: true,
    errorRedirect: 307,
  },
  '8218d6f': {
    id: '8218d6f',
    migrations: [...BETA5_MIGRATIONS, ...FEDERATION_MIGRATIONS],
    defaultAdmin: true,
    webfinger: true,
    trustAnchorsRequired: false,
    onboardingAppUrl: false,
    onboardingTokenFile: false,
    postgresFederationFails: true,
    logsWholeSettings: true,
    errorRedirect: 307,
  },
  'beta.14': {
    id: 'beta.14',
    migrations: [...BETA5_MIGRATIONS, ...FEDERATION_MIGRATIONS, ...ONBOARDING_MIGRATIONS],
    defaultAdmin: false,
    webfinger: true,
    trustAnchorsRequired: false,
    onboardingAppUrl: true,
    onboardingTokenFile: true,
    postgresFederationFails: false,
    logsWholeSettings: false,
    errorRedirect: 303,
  },
};

let current: Profile | undefined;

export function profile(): Profile {
  if (!current) {
    const id = (process.env.STANDIN_BARYCENTER_BUILD ?? '8218d6f') as ProfileId;
    const p = PROFILES[id];
    if (!p) throw new Error(`unknown stand-in build ${id}`);
    current = p;
  }
  return current;
}
