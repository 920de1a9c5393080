// The pg_dump stream of a backup: a dump pg_restore reads, and no pg_dump left running when the
// backup stops reading it (a failed upload) or never starts to.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { dumpPostgres } from '../src/backup/sources/postgres.js';
import { getPostgres, makeTempDir, type TestPostgres } from './support/services.js';

let pgService: TestPostgres;
let dbUrl: string;

before(async () => {
  pgService = await getPostgres();
  dbUrl = await pgService.createDatabase();
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  // ~8 MB of incompressible rows: far more than a pipe holds, so pg_dump blocks until it is read.
  await c.query(
    'CREATE TABLE bulk AS SELECT g AS id, md5(random()::text) || md5(random()::text) AS v FROM generate_series(1, 120000) g',
  );
  await c.end();
});
after(async () => {
  await pgService?.stop();
});

const opts = () => ({ ...(pgService.binDir ? { binDir: pgService.binDir } : {}) });

/** The pg_dump processes of barysafe connected to the test database, once those exiting are gone. */
async function pgDumpsConnected(): Promise<number> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    for (let i = 0; ; i++) {
      const r = await c.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'barysafe-pg_dump' AND datname = current_database()",
      );
      const n = (r.rows[0] as { n: number }).n;
      if (n === 0 || i >= 100) return n;
      await new Promise((res) => setTimeout(res, 50));
    }
  } finally {
    await c.end();
  }
}

test('the streamed dump is one pg_restore reads', async () => {
  const dir = await makeTempDir('barysafe-pgdump-');
  const dump = await dumpPostgres(dbUrl, opts());
  try {
    const pieces: Buffer[] = [];
    for await (const c of dump.stream) pieces.push(Buffer.from(c));
    const file = path.join(dir.path, 'dump');
    await writeFile(file, Buffer.concat(pieces));
    const pgRestore = path.join(pgService.binDir, 'pg_restore');
    const { stdout } = await promisify(execFile)(pgService.binDir ? pgRestore : 'pg_restore', ['--list', file]);
    assert.match(stdout, /TABLE DATA public bulk/);
  } finally {
    await dump.close();
    await dir.cleanup();
  }
});

test('a backup that stops reading the dump stops pg_dump', async () => {
  const dump = await dumpPostgres(dbUrl, opts());
  for await (const c of dump.stream) {
    assert.ok(c.length > 0);
    break; // as a failed upload does: the stream is abandoned after its first piece
  }
  assert.equal(await pgDumpsConnected(), 0, 'pg_dump is still connected');
  await dump.close();
});

test('a backup that never reads the dump (it failed before) leaves no pg_dump blocked on the pipe', async () => {
  const dump = await dumpPostgres(dbUrl, opts());
  await new Promise((res) => setTimeout(res, 300)); // pg_dump starts and fills the pipe
  await dump.close();
  assert.equal(await pgDumpsConnected(), 0, 'pg_dump is still connected');
});
