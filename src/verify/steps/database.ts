import { createReadStream } from 'node:fs';
import pg from 'pg';
import { errorText, isBarysafeError } from '../../errors.js';
import { redactText, redactUrl } from '../../redact.js';
import { pgReader } from '../../barycenter/database.js';
import { inspectSqlite, type SqliteFacts } from '../../barycenter/sqlite-inspect.js';
import { schemaBuild } from '../../barycenter/builds.js';
import { CORE_TABLES, schemaProblem } from '../../barycenter/schema.js';
import type { DatabaseRecord } from '../../repository/manifest.js';
import { restorePgDump } from '../../restore/pg-restore.js';
import { openScratchPostgres } from '../scratch/scratch-postgres.js';

import type { DrillContext, RestoredInput } from '../context.js';
import { fail, pass, type StepOutcome } from '../step-runner.js';
import { findPgServerBinDir } from '../../platform/pg-tools.js';

interface DbFacts {
  integrity: string;
  migrations: string[];
  rowCounts: Record<string, number>;
  tables: string[];
}

/**
 * Step 3. The restored database is sound and is the one the manifest describes: SQLite
 * `integrity_check` (or a successful `pg_restore` into the scratch database), the migration rows
 * and row counts the manifest recorded. Whether the drill's Barycenter can open it is for boot to
 * prove (sync-users runs the same migrations); migrations no build barysafe knows are a warning
 * that names them. Runs before sync-users and boot, which add rows.
 */
export async function databaseStep(input: RestoredInput, ctx: DrillContext): Promise<StepOutcome> {
  const restored = input.restored.database;
  const expected = input.entry.manifest.database;
  let facts: DbFacts;
  if (restored.engine === 'sqlite') {
    facts = await readSqlite(restored.path, expected);
    ctx.databaseUrl = `sqlite://${restored.path}?mode=rw`; // rw, not rwc: a missing file must not become a fresh DB
  } else {
    const scratchDb = await openScratchPostgres(ctx.config.drill);
    ctx.scratchDb = scratchDb;
    try {
      const binDir = ctx.config.drill.pg_bin_dir ?? ctx.config.backup.pg_bin_dir ?? (await findPgServerBinDir());
      await restorePgDump(createReadStream(restored.dumpPath), scratchDb.url, { binDir });
    } catch (e) {
      if (isBarysafeError(e) && e.kind === 'pg_restore' && /failed/.test(e.message))
        return fail(`the dump does not restore: ${e.message}`, { scratch_database: scratchDb.display });
      throw e;
    }
    facts = await readPostgres(scratchDb.url, expected);
    ctx.databaseUrl = scratchDb.url;
    return judge(facts, expected, `pg_restore into ${scratchDb.display} succeeded`);
  }
  return judge(facts, expected, `integrity_check: ${facts.integrity}`);
}

function judge(facts: DbFacts, expected: DatabaseRecord, first: string): StepOutcome {
  const problems: string[] = [];
  const warnings: string[] = [];
  // A damaged file is the finding: its migrations and counts were not read, and comparing them
  // would only add misleading differences.
  if (facts.integrity !== 'ok')
    return fail(`integrity_check: ${facts.integrity.slice(0, 300)}`, { engine: expected.engine });
  // A snapshot of an empty or foreign database would boot as a fresh IdP and prove nothing.
  const noSchema = schemaProblem(facts.migrations, facts.tables);
  if (noSchema) problems.push(`the restored database holds no Barycenter schema: ${noSchema}`);
  const restoredSet = new Set(facts.migrations);
  const recordedSet = new Set(expected.migrations);
  const missing = expected.migrations.filter((m) => !restoredSet.has(m));
  const extra = facts.migrations.filter((m) => !recordedSet.has(m));
  if (missing.length || extra.length)
    problems.push(
      `the restored seaql_migrations rows differ from the manifest's${missing.length ? `: missing ${missing.join(', ')}` : ''}${extra.length ? `${missing.length ? ';' : ':'} not recorded ${extra.join(', ')}` : ''}`,
    );
  const schema = schemaBuild(facts.migrations);
  if (schema.unknown_migrations.length)
    warnings.push(
      `migrations no Barycenter build known to barysafe writes: ${schema.unknown_migrations.join(', ')} (a build that lacks them refuses to start; boot shows whether the drill's build has them)`,
    );
  const counts = Object.entries(expected.row_counts)
    .filter(([t, n]) => facts.rowCounts[t] !== n)
    .map(([t, n]) => `${t} ${facts.rowCounts[t] ?? 'missing'} ≠ ${n}`);
  if (counts.length) problems.push(`row counts differ from the manifest: ${counts.join(', ')}`);
  const evidence = {
    engine: expected.engine,
    migrations: facts.migrations.length,
    latest_migration: facts.migrations.at(-1) ?? null,
    schema_build: schema.build,
    openable_by: schema.openable_by,
    unknown_migrations: schema.unknown_migrations,
    row_counts: facts.rowCounts,
  };
  if (problems.length) return { ...fail(problems.join('; '), evidence), ...(warnings.length ? { warnings } : {}) };
  const rows = Object.values(facts.rowCounts).reduce((a, b) => a + b, 0);
  const written = schema.build ? ` (as written by Barycenter ${schema.build})` : '';
  return {
    ...pass(
      `${first}; the ${facts.migrations.length} migrations the manifest recorded${written}; row counts of ${Object.keys(expected.row_counts).length} tables (${rows} rows) equal the manifest's`,
      evidence,
    ),
    ...(warnings.length ? { warnings } : {}),
  };
}

/**
 * integrity_check in the inspection's workers (split as in a backup, so ~the largest table's time
 * instead of the sum), then the migrations and row counts they read.
 */
async function readSqlite(file: string, expected: DatabaseRecord): Promise<DbFacts> {
  const wanted = [...new Set([...CORE_TABLES, ...Object.keys(expected.row_counts)])];
  let facts: SqliteFacts;
  try {
    facts = await inspectSqlite(file, wanted).facts;
  } catch (e) {
    // SQLITE_CORRUPT or NOTADB: a finding about the snapshot, not a drill error.
    if (/malformed|not a database|corrupt/i.test(errorText(e)))
      return { integrity: errorText(e), migrations: [], rowCounts: {}, tables: [] };
    throw e;
  }
  // A damaged file is reported as such: its tables may not even be readable.
  if (facts.integrity !== 'ok') return { integrity: facts.integrity, migrations: [], rowCounts: {}, tables: [] };
  const rowCounts = Object.fromEntries(
    Object.keys(expected.row_counts)
      .filter((t) => Object.hasOwn(facts.rowCounts, t))
      .map((t) => [t, facts.rowCounts[t]!]),
  );
  return { integrity: 'ok', migrations: facts.migrations, rowCounts, tables: Object.keys(facts.rowCounts) };
}

async function readPostgres(url: string, expected: DatabaseRecord): Promise<DbFacts> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  c.on('error', () => undefined); // a dropped connection fails the query that needs it
  try {
    await c.connect();
    const reader = pgReader(c, redactUrl(url));
    return {
      integrity: 'ok',
      migrations: await reader.migrations(),
      rowCounts: await reader.rowCounts(Object.keys(expected.row_counts)),
      tables: [...(await reader.tables())],
    };
  } catch (e) {
    throw new Error(`cannot read the restored PostgreSQL database: ${redactText(errorText(e))}`);
  } finally {
    await c.end().catch(() => undefined);
  }
}
