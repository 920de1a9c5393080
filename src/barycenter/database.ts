import Database from 'better-sqlite3';
import pg from 'pg';
import { errorText } from '../errors.js';
import { redactText } from '../redact.js';

/**
 * The one reader of Barycenter's database, for backup (what a snapshot holds), the drill (what a
 * restore holds) and checks (users, clients, jobs). Barycenter's admin API cannot be relied on for
 * inventory, so barysafe reads the tables. SQL is written once with `?` placeholders; the
 * PostgreSQL reader numbers them. Rows hold secrets (password hashes): they stay in memory and
 * never go into evidence.
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
  /** Base tables of the schema Barycenter uses. */
  tables(): Promise<Set<string>>;
  /** seaql_migrations versions in order; empty when the table does not exist. */
  migrations(): Promise<string[]>;
  /** Row counts of those of `tables` that exist. */
  rowCounts(tables: readonly string[]): Promise<Record<string, number>>;
  users(): Promise<UserRow[]>;
  clients(): Promise<ClientRow[]>;
  failedJobsSince(epochSeconds: number): Promise<JobRow[]>;
  /** started_at of the newest job run (epoch seconds), null when job_executions is empty. */
  latestJobStart(): Promise<number | null>;
  close(): Promise<void>;
}

type Query = <T>(sql: string, args?: unknown[]) => Promise<T[]>;

/** Reads an SQLite file (read-only unless `db` is an open handle the caller owns). */
export function sqliteReader(file: string | Database.Database, source = `sqlite:${String(file)}`): DatabaseReader {
  const db = typeof file === 'string' ? new Database(file, { readonly: true, fileMustExist: true }) : file;
  const owned = typeof file === 'string';
  const all: Query = <T>(sql: string, args: unknown[] = []) =>
    Promise.resolve().then(() => db.prepare(sql).all(...args) as T[]);
  const tables = () =>
    all<{ name: string }>("SELECT name FROM sqlite_master WHERE type='table'").then(
      (r) => new Set(r.map((x) => x.name)),
    );
  return reader(source, all, tables, async () => {
    if (owned) db.close();
  });
}

/** Reads through a connected client; queries run in whatever transaction the caller opened on it. */
export function pgReader(client: pg.Client, source: string, close = () => client.end()): DatabaseReader {
  const all: Query = async <T>(sql: string, args: unknown[] = []) => {
    let n = 0;
    try {
      return (
        await client.query(
          sql.replace(/\?/g, () => `$${++n}`),
          args,
        )
      ).rows as T[];
    } catch (e) {
      throw new Error(redactText(errorText(e)));
    }
  };
  const tables = () =>
    all<{ t: string }>(
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    ).then((r) => new Set(r.map((x) => x.t)));
  return reader(source, all, tables, close);
}

function reader(
  source: string,
  all: Query,
  tables: () => Promise<Set<string>>,
  close: () => Promise<void>,
): DatabaseReader {
  return {
    source,
    tables,
    migrations: async () =>
      (await tables()).has('seaql_migrations')
        ? (await all<{ version: string }>('SELECT version FROM seaql_migrations ORDER BY version')).map(
            (r) => r.version,
          )
        : [],
    rowCounts: async (wanted) => {
      const present = await tables();
      const out: Record<string, number> = {};
      for (const t of wanted)
        if (present.has(t))
          out[t] = Number((await all<{ n: number | string }>(`SELECT count(*) AS n FROM "${t}"`))[0]!.n);
      return out;
    },
    users: () => all<RawUser>('SELECT username, password_hash, enabled FROM users').then((r) => r.map(toUser)),
    clients: () =>
      all<RawClient>(
        'SELECT client_id, client_name, redirect_uris, created_at FROM clients ORDER BY created_at, client_id',
      ).then((r) => r.map(toClient)),
    failedJobsSince: (t) =>
      all<JobRow>(
        'SELECT job_name, started_at, success, error_message FROM job_executions WHERE success = 0 AND started_at >= ? ORDER BY started_at DESC',
        [t],
      ).then((r) => r.map((j) => ({ ...j, started_at: Number(j.started_at) }))),
    latestJobStart: () =>
      all<{ t: string | number | null }>('SELECT MAX(started_at) AS t FROM job_executions').then((r) =>
        r[0]?.t == null ? null : Number(r[0].t),
      ),
    close,
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
