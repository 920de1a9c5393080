import type { MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { errorText } from '../errors.js';
import { sqliteReader } from './database.js';
import { integritySql, splitIntegrityCheck, type IntegrityJob } from './integrity-plan.js';

// The worker half of inspectSqlite(): everything here blocks, which is why it is not the main
// thread. A worker serves one file, answering one request at a time (InspectRequest) on its own
// connection to it: an inspection worker from its start (sqlite-inspect-worker.ts), the SQLite
// copy's worker once its copy is made (no second thread to boot for the backup's check).
export type InspectRequest =
  { op: 'plan'; split: boolean } | { op: 'check'; job: IntegrityJob } | { op: 'facts'; tables: string[] };
export type InspectReply = { answer: unknown } | { error: string };

export function serveInspection(port: MessagePort, file: string, cacheKiB: number): void {
  const answer = inspectionOf(file, cacheKiB);
  port.on('message', (req: InspectRequest) => {
    answer(req).then(
      (a) => port.postMessage({ answer: a } satisfies InspectReply),
      (e: unknown) => port.postMessage({ error: errorText(e) } satisfies InspectReply),
    );
  });
}

function inspectionOf(file: string, cacheKiB: number): (req: InspectRequest) => Promise<unknown> {
  let opened: Database.Database | undefined;

  /** Opened on the first request, so that a file SQLite cannot open fails that request with SQLite's words. */
  function database(): Database.Database {
    if (!opened) {
      opened = new Database(file, { readonly: true, fileMustExist: true });
      opened.pragma(`cache_size = -${cacheKiB}`);
    }
    return opened;
  }
  /** Every table's rows, when the plan counted them (the facts then need not count again). */
  let counted: Record<string, number> | undefined;

  const reader = () => sqliteReader(database(), `sqlite:${file}`);

  /** The pieces of the integrity check (one when not split, or when the tables cannot be read). */
  async function plan(split: boolean): Promise<{ jobs: IntegrityJob[]; version: string }> {
    const db = database();
    const version = db.prepare('SELECT sqlite_version()').pluck().get() as string;
    const whole: IntegrityJob[] = [{ pragma: 'integrity_check' }];
    if (!split) return { jobs: whole, version };
    try {
      const indexes = new Map(
        (
          db
            .prepare("SELECT tbl_name AS t, count(*) AS n FROM sqlite_schema WHERE type = 'index' GROUP BY tbl_name")
            .all() as Array<{ t: string; n: number }>
        ).map((r) => [r.t, r.n]),
      );
      const schema = db.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'table'").all() as Array<{
        name: string;
        sql: string | null;
      }>;
      const withoutRowid = new Set(
        db.prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND wr = 1").pluck().all() as string[],
      );
      counted = await reader().rowCounts(schema.map((t) => t.name));
      const tables = schema.map((t) => ({
        name: t.name,
        virtual: /^\s*create\s+virtual\b/i.test(t.sql ?? ''),
        withoutRowid: withoutRowid.has(t.name),
        indexes: indexes.get(t.name) ?? 0,
        rows: counted![t.name] ?? 0,
      }));
      return { jobs: splitIntegrityCheck(tables) ?? whole, version };
    } catch {
      return { jobs: whole, version }; // a damaged schema or table: the whole check says what is wrong
    }
  }

  async function answer(req: InspectRequest): Promise<unknown> {
    switch (req.op) {
      case 'plan':
        return plan(req.split);
      case 'check':
        return { rows: database().prepare(integritySql(req.job)).pluck().all() as string[] };
      case 'facts': {
        const r = reader();
        const rowCounts = counted
          ? Object.fromEntries(req.tables.filter((t) => Object.hasOwn(counted!, t)).map((t) => [t, counted![t]!]))
          : await r.rowCounts(req.tables);
        return { migrations: await r.migrations(), rowCounts };
      }
    }
  }

  return answer;
}
