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
