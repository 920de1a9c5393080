import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { errorText } from '../errors.js';
import { sqliteReader } from './database.js';
import type { SqliteFacts } from './sqlite-inspect.js';

// The worker half of inspectSqlite(): everything here blocks, which is why it is not the main thread.
const { file, tables } = workerData as { file: string; tables: string[] };

async function inspect(): Promise<SqliteFacts> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const integrity = (db.pragma('integrity_check') as Array<{ integrity_check: string }>)
      .map((r) => r.integrity_check)
      .join('; ');
    const version = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
    // A damaged file is reported as such: its tables may not even be readable.
    if (integrity !== 'ok') return { integrity, migrations: [], rowCounts: {}, version };
    const reader = sqliteReader(db, `sqlite:${file}`);
    return { integrity, migrations: await reader.migrations(), rowCounts: await reader.rowCounts(tables), version };
  } finally {
    db.close();
  }
}

inspect().then(
  (facts) => parentPort!.postMessage({ facts }),
  (e: unknown) => parentPort!.postMessage({ error: errorText(e) }),
);
