import pg from 'pg';
import { errorText } from '../../errors.js';
import { redactText, redactUrl } from '../../redact.js';
import type { CheckContext, CheckOutcome } from '../types.js';
import { pgReader, sqliteReader, type DatabaseReader } from '../../barycenter/database.js';

/**
 * The deployment's database, opened once per check run (SQLite read-only; PostgreSQL through one
 * short-lived client) with the reader every feature shares.
 */
export type { ClientRow, DatabaseReader, JobRow, UserRow } from '../../barycenter/database.js';

export type DatabaseAccess = { ok: true; db: DatabaseReader } | { ok: false; source: string; error: string };

/** Readers opened per run, so the run can close them without opening one just to close it. */
const opened = new WeakMap<CheckContext, DatabaseReader>();

/** Opens the database once per run; a failure is remembered and reported by each check that needs it. */
export function openDatabase(ctx: CheckContext): Promise<DatabaseAccess> {
  return ctx.memo('database', async () => {
    const access = await connect(ctx);
    if (access.ok) opened.set(ctx, access.db);
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
      return { ok: true, db: sqliteReader(loc.path, source) };
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
