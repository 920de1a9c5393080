/** What Barycenter's migrations create, for recording and checking snapshots. */
export const KNOWN_MIGRATIONS = [
  'm20250101_000001_initial_schema',
  'm20250107_000001_add_passkeys',
  'm20250107_000002_extend_sessions_users',
  'm20250108_000001_add_consent_table',
  'm20250109_000001_add_device_codes',
  'm20250222_000001_rename_device_code_table',
  'm20260407_000001_create_federation_tables',
  'm20260407_000002_create_peer_requests',
] as const;

/** Tables whose row counts a manifest records (those that exist are counted). */
export const CORE_TABLES = [
  'users',
  'clients',
  'sessions',
  'access_tokens',
  'refresh_tokens',
  'auth_codes',
  'consent',
  'device_codes',
  'passkeys',
  'properties',
  'job_executions',
  'trusted_peers',
  'federated_identities',
] as const;
