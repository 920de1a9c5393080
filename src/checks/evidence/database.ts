import pg from 'pg';
import { errorText } from '../../errors.js';
import { redactText, redactUrl } from '../../redact.js';
import type { CheckContext, Lookup } from '../types.js';
import { pgReader, sqliteReader, type DatabaseReader } from '../../barycenter/database.js';

/**
 * The deployment's database, opened once per check run (SQLite read-only; PostgreSQL through one
 * short-lived client) with the reader every feature shares.
 */
export type { ClientRow, DatabaseReader, JobRow, UserRow } from '../../barycenter/database.js';

/**
 * Opens the database once per run; a failure is remembered and reported by each check that needs
 * it. The run closes the reader when it ends.
 */
export function openDatabase(ctx: CheckContext): Promise<Lookup<DatabaseReader>> {
  return ctx.memo('database', () => connect(ctx), { close: (db) => (db.ok ? db.value.close() : undefined) });
}

/** Reads one table for a check: rows and where they came from, or why the database or the query failed. */
export async function readRows<T>(
  ctx: CheckContext,
  table: string,
  read: (db: DatabaseReader) => Promise<T[]>,
): Promise<Lookup<T[]>> {
  const db = await openDatabase(ctx);
  if (!db.ok) return { ...db, reason: `cannot read the ${table}: ${db.reason}` };
  try {
    return { ok: true, value: await read(db.value), source: db.source };
  } catch (e) {
    return { ok: false, reason: `cannot read the ${table} table: ${(e as Error).message}`, source: db.source };
  }
}

async function connect(ctx: CheckContext): Promise<Lookup<DatabaseReader>> {
  const loc = ctx.barycenter.database;
  if (loc.engine === 'sqlite') {
    if (loc.memory)
      return {
        ok: false,
        source: 'sqlite::memory:',
        reason: 'the database is in memory: nothing outside the process can read it',
      };
    const source = `sqlite:${loc.path}`;
    try {
      return { ok: true, value: sqliteReader(loc.path, source), source };
    } catch (e) {
      return { ok: false, source, reason: `cannot open ${loc.path} read-only: ${errorText(e)}` };
    }
  }
  const source = redactUrl(loc.url);
  const client = new pg.Client({ connectionString: loc.url, connectionTimeoutMillis: 10_000 });
  // A dropped connection must fail the query that needs it, not crash the run from an unhandled 'error' event.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    return { ok: false, source, reason: `cannot connect to ${source}: ${redactText(errorText(e))}` };
  }
  return { ok: true, value: pgReader(client, source), source };
}
