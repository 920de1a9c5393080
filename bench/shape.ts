/**
 * What a generated Barycenter database looks like (facts §3.2): the real migrations' schema with
 * all eight `seaql_migrations` rows, realistic small tables (users with argon2id-shaped hashes,
 * clients, sessions, consents, auth/device codes, job runs) and the tables that grow on a busy
 * IdP — access_tokens, refresh_tokens and properties — filled with base64url values derived
 * from SHA-256 / random bytes, so neither pg_dump's zlib nor anything else can squeeze them much.
 * The big tables are filled in rounds until the on-disk size reaches the target.
 */
export const SMALL = {
  users: 20_000,
  clients: 60,
  sessions: 30_000,
  auth_codes: 2_000,
  consent: 15_000,
  device_codes: 200,
  job_executions: 2_000,
} as const;

/** Rows per round, relative to access_tokens. */
export const ROUND_MIX = { access_tokens: 1, refresh_tokens: 0.6, properties: 0.25 } as const;

export const SCOPES = [
  'openid profile email',
  'openid profile email offline_access',
  'openid email',
  'openid',
] as const;

export const ARGON2_PREFIX = '$argon2id$v=19$m=19456,t=2,p=1$';

export const MiB = 1024 * 1024;

/** BENCH_SCALE shrinks every target size (and the small tables) for a quick smoke run. */
export function benchScale(): number {
  const raw = process.env.BENCH_SCALE;
  if (raw === undefined || raw === '') return 1;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0 || s > 100) throw new Error(`BENCH_SCALE must be a positive number (got ${raw})`);
  return s;
}

export function scaledSmall(scale: number): Record<keyof typeof SMALL, number> {
  const out = {} as Record<keyof typeof SMALL, number>;
  for (const [k, v] of Object.entries(SMALL))
    out[k as keyof typeof SMALL] = Math.max(10, Math.round(v * Math.min(1, scale)));
  return out;
}

export interface GeneratedDb {
  engine: 'postgres' | 'sqlite';
  /** On-disk size: pg_database_size, or the SQLite file's size. */
  sizeBytes: number;
  rows: Record<string, number>;
  generateMs: number;
  reused: boolean;
}
