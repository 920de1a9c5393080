// One small async interface over SQLite (better-sqlite3) and PostgreSQL (pg), chosen by URL scheme
// like sea-orm's Database::connect. SQL is written with `?` placeholders and portable syntax.
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { crab } from './errors.js';

export type Row = Record<string, unknown>;
export type Param = string | number | null;

export interface Db {
  readonly backend: 'sqlite' | 'postgres';
  all(sql: string, params?: Param[]): Promise<Row[]>;
  get(sql: string, params?: Param[]): Promise<Row | undefined>;
  run(sql: string, params?: Param[]): Promise<{ changes: number }>;
  /** Runs fn atomically; statements inside must go through the Db handed to fn. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** sqlx-style SQLite URL: sqlite://rel.db?mode=rwc, sqlite:///abs.db, sqlite::memory:. */
export function parseSqliteUrl(url: string, cwd: string): { file: string; mode: string | null } {
  let rest = url.replace(/^sqlite:/i, '');
  if (rest.startsWith('//')) rest = rest.slice(2);
  const q = rest.indexOf('?');
  const params = new URLSearchParams(q >= 0 ? rest.slice(q + 1) : '');
  const p = decodeURIComponent(q >= 0 ? rest.slice(0, q) : rest);
  if (p === ':memory:' || p === '') return { file: ':memory:', mode: 'memory' };
  return { file: path.resolve(cwd, p), mode: params.get('mode') };
}

class SqliteDb implements Db {
  readonly backend = 'sqlite' as const;
  constructor(private readonly db: Database.Database) {}
  async all(sql: string, params: Param[] = []) {
    return this.db.prepare(sql).all(...params) as Row[];
  }
  async get(sql: string, params: Param[] = []) {
    return this.db.prepare(sql).get(...params) as Row | undefined;
  }
  async run(sql: string, params: Param[] = []) {
    const st = this.db.prepare(sql);
    if (!st.reader) return { changes: st.run(...params).changes };
    st.all(...params);
    return { changes: 0 };
  }
  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    // better-sqlite3 is synchronous, so nothing interleaves between BEGIN and COMMIT except our awaits
    // on already-resolved promises.
    this.db.exec('BEGIN');
    try {
      const r = await fn(this);
      this.db.exec('COMMIT');
      return r;
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
  }
  async close() {
    this.db.close();
  }
}

const toPg = (sql: string) => {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
};

// pg returns BIGINT as string; Barycenter's columns are epoch seconds and 0/1 flags, safe as numbers.
pg.types.setTypeParser(20, (v) => Number(v));

class PgDb implements Db {
  readonly backend = 'postgres' as const;
  constructor(
    private readonly q: pg.Pool | pg.PoolClient,
    private readonly pool: pg.Pool,
  ) {}
  async all(sql: string, params: Param[] = []) {
    return (await this.q.query(toPg(sql), params)).rows as Row[];
  }
  async get(sql: string, params: Param[] = []) {
    return (await this.all(sql, params))[0];
  }
  async run(sql: string, params: Param[] = []) {
    return { changes: (await this.q.query(toPg(sql), params)).rowCount ?? 0 };
  }
  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const r = await fn(new PgDb(client, this.pool));
      await client.query('COMMIT');
      return r;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }
  async close() {
    await this.pool.end();
  }
}

export async function connect(url: string, cwd = process.cwd()): Promise<Db> {
  if (/^sqlite:/i.test(url)) {
    const { file, mode } = parseSqliteUrl(url, cwd);
    try {
      const db = new Database(file, {
        readonly: mode === 'ro',
        fileMustExist: file !== ':memory:' && mode !== 'rwc' && mode !== 'memory',
      });
      // sqlx's SQLite defaults; the journal mode is left alone (rollback journal).
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      return new SqliteDb(db);
    } catch (e) {
      throw crab.db(
        `Connection Error: error returned from database: (code: 14) unable to open database file (${(e as Error).message})`,
      );
    }
  }
  if (/^postgres(ql)?:/i.test(url)) {
    const pool = new pg.Pool({ connectionString: url, max: 5 });
    pool.on('error', () => undefined); // idle-client errors must not crash the process
    try {
      const c = await pool.connect();
      c.release();
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw crab.db(`Connection Error: ${(e as Error).message}`);
    }
    return new PgDb(pool, pool);
  }
  // sea-orm compiled with sqlite + postgres only.
  throw crab.db(`Connection Error: The connection string '${url}' has no supporting driver.`);
}
