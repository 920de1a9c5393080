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

/** Tables every Barycenter database has from its first migration on. */
const REQUIRED_TABLES = ['users', 'clients'] as const;

/**
 * Why a database is not Barycenter's (undefined when it is): one no Barycenter migration ever ran
 * on (a fresh, empty or foreign database — backing it up would prove nothing and restore nothing),
 * or one whose migrations are recorded but whose core tables are gone. `tables` are the names
 * present (at least those of CORE_TABLES).
 */
export function schemaProblem(migrations: readonly string[], tables: Iterable<string>): string | undefined {
  if (migrations.length === 0) return 'it records no Barycenter migration (no seaql_migrations rows)';
  const present = new Set(tables);
  const missing = REQUIRED_TABLES.filter((t) => !present.has(t));
  if (missing.length) return `it lacks Barycenter's tables (${missing.join(', ')})`;
  return undefined;
}

/** The hint for a database that is not Barycenter's. */
export const SCHEMA_HINT =
  "point database.url in Barycenter's config (or BARYCENTER__DATABASE__URL in its env file) at the database Barycenter runs on; a database Barycenter never started on holds nothing to restore";
