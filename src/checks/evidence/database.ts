import Database from 'better-sqlite3';
import pg from 'pg';
import { errorText } from '../../errors.js';
import { redactText, redactUrl } from '../../redact.js';
import type { CheckContext, CheckOutcome } from '../types.js';

/**
 * Reads Barycenter's database directly (facts §5.2: the admin Seaography API cannot be relied on
 * for inventory). SQLite is opened read-only; PostgreSQL through one short-lived client. Rows hold
 * secrets (password hashes): they stay in memory and never go into evidence.
 */
export interface UserRow {
  username: string;
  /** Secret: compare only, never print. */
  password_hash: string;
  enabled: boolean;
}

export interface ClientRow {
  client_id: string;
  client_name: string | null;
  redirect_uris: string[];
  /** The raw column when it is not a JSON array of strings. */
  redirect_uris_raw?: string;
  created_at: number | null;
}

export interface JobRow {
  job_name: string;
  started_at: number;
  success: number | null;
  error_message: string | null;
}

export interface DatabaseReader {
  /** Where it was read, password removed: "sqlite:/var/lib/barycenter/barycenter.db". */
  source: string;
  users(): Promise<UserRow[]>;
  clients(): Promise<ClientRow[]>;
  failedJobsSince(epochSeconds: number): Promise<JobRow[]>;
  /** started_at of the newest job run (epoch seconds), null when job_executions is empty. */
  latestJobStart(): Promise<number | null>;
}

export type DatabaseAccess = { ok: true; db: DatabaseReader } | { ok: false; source: string; error: string };

/** Readers opened per run, so the run can close them without opening one just to close it. */
const opened = new WeakMap<CheckContext, { close(): Promise<void> }>();

/** Opens the database once per run; a failure is remembered and reported by each check that needs it. */
export function openDatabase(ctx: CheckContext): Promise<DatabaseAccess> {
  return ctx.memo('database', async () => {
    const access = await connect(ctx);
    if (access.ok) opened.set(ctx, access.db as DatabaseReader & { close(): Promise<void> });
    return access;
  });
}

/**
 * Reads one table for a check: rows and where they came from, or the check's `error` outcome when
 * the database cannot be opened or the query fails.
 */
export async function readRows<T>(
  ctx: CheckContext,
  table: string,
  read: (db: DatabaseReader) => Promise<T[]>,
): Promise<{ rows: T[]; source: string } | CheckOutcome> {
  const access = await openDatabase(ctx);
  if (!access.ok)
    return {
      status: 'error',
      summary: `cannot read the ${table}: ${access.error}`,
      evidence: [{ source: access.source }],
    };
  try {
    return { rows: await read(access.db), source: access.db.source };
  } catch (e) {
    return {
      status: 'error',
      summary: `cannot read the ${table} table: ${(e as Error).message}`,
      evidence: [{ source: access.db.source }],
    };
  }
}

async function connect(ctx: CheckContext): Promise<DatabaseAccess> {
  const loc = ctx.barycenter.database;
  if (loc.engine === 'sqlite') {
    if (loc.memory)
      return {
        ok: false,
        source: 'sqlite::memory:',
        error: 'the database is in memory: nothing outside the process can read it',
      };
    const source = `sqlite:${loc.path}`;
    try {
      return { ok: true, db: sqliteReader(new Database(loc.path, { readonly: true, fileMustExist: true }), source) };
    } catch (e) {
      return { ok: false, source, error: `cannot open ${loc.path} read-only: ${errorText(e)}` };
    }
  }
  const source = redactUrl(loc.url);
  const client = new pg.Client({ connectionString: loc.url, connectionTimeoutMillis: 10_000 });
  // A dropped connection must fail the query that needs it, not crash the run from an unhandled 'error' event.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    return { ok: false, source, error: `cannot connect to ${source}: ${redactText(errorText(e))}` };
  }
  return { ok: true, db: pgReader(client, source) };
}

/** Closes the database (if this run opened it): the SQLite handle or the PostgreSQL client. */
export async function closeDatabase(ctx: CheckContext): Promise<void> {
  const db = opened.get(ctx);
  opened.delete(ctx);
  await db?.close();
}

function sqliteReader(db: Database.Database, source: string): DatabaseReader & { close(): Promise<void> } {
  const all = <T>(sql: string, ...args: unknown[]) => Promise.resolve().then(() => db.prepare(sql).all(...args) as T[]);
  return {
    source,
    users: () => all<RawUser>('SELECT username, password_hash, enabled FROM users').then((r) => r.map(toUser)),
    clients: () =>
      all<RawClient>(
        'SELECT client_id, client_name, redirect_uris, created_at FROM clients ORDER BY created_at, client_id',
      ).then((r) => r.map(toClient)),
    failedJobsSince: (t) =>
      all<JobRow>(
        'SELECT job_name, started_at, success, error_message FROM job_executions WHERE success = 0 AND started_at >= ? ORDER BY started_at DESC',
        t,
      ),
    latestJobStart: () =>
      all<{ t: number | null }>('SELECT MAX(started_at) AS t FROM job_executions').then((r) =>
        r[0]?.t == null ? null : Number(r[0].t),
      ),
    close: async () => {
      db.close();
    },
  };
}

function pgReader(client: pg.Client, source: string): DatabaseReader & { close(): Promise<void> } {
  const all = async <T>(sql: string, args: unknown[] = []) => {
    try {
      return (await client.query(sql, args)).rows as T[];
    } catch (e) {
      throw new Error(redactText(errorText(e)));
    }
  };
  return {
    source,
    users: () => all<RawUser>('SELECT username, password_hash, enabled FROM users').then((r) => r.map(toUser)),
    clients: () =>
      all<RawClient>(
        'SELECT client_id, client_name, redirect_uris, created_at FROM clients ORDER BY created_at, client_id',
      ).then((r) => r.map(toClient)),
    failedJobsSince: (t) =>
      all<JobRow>(
        'SELECT job_name, started_at::bigint AS started_at, success, error_message FROM job_executions WHERE success = 0 AND started_at >= $1 ORDER BY started_at DESC',
        [t],
      ).then((r) => r.map((j) => ({ ...j, started_at: Number(j.started_at) }))),
    latestJobStart: () =>
      all<{ t: string | number | null }>('SELECT MAX(started_at)::bigint AS t FROM job_executions').then((r) =>
        r[0]?.t == null ? null : Number(r[0].t),
      ),
    close: () => client.end(),
  };
}

interface RawUser {
  username: string;
  password_hash: string;
  enabled: number | boolean | string;
}
interface RawClient {
  client_id: string;
  client_name: string | null;
  redirect_uris: string | null;
  created_at: number | string | null;
}

function toUser(r: RawUser): UserRow {
  return {
    username: r.username,
    password_hash: r.password_hash,
    enabled: Number(r.enabled) === 1 || r.enabled === true,
  };
}

function toClient(r: RawClient): ClientRow {
  const created = r.created_at === null ? null : Number(r.created_at);
  try {
    const uris = JSON.parse(r.redirect_uris ?? '[]') as unknown;
    if (Array.isArray(uris) && uris.every((u) => typeof u === 'string'))
      return { client_id: r.client_id, client_name: r.client_name, redirect_uris: uris, created_at: created };
  } catch {
    /* fall through: kept raw so the reviewer sees it */
  }
  return {
    client_id: r.client_id,
    client_name: r.client_name,
    redirect_uris: [],
    redirect_uris_raw: String(r.redirect_uris),
    created_at: created,
  };
}
