// Entry point of the Barycenter stand-in (tests only). See barycenter-facts.md for the contract.
// The database drivers, the servers and zod load only when a run needs them: the real binary answers
// `--version` and `--help` in a few milliseconds, and a drill's launcher preflight runs `--version`.
// Loading them first made that preflight cost the stand-in's whole start-up (0.3-0.5 s), which the
// bench then counted as barysafe's own drill time.
import { parseCli } from './cli.js';
import type { Db } from './db.js';
import { FatalError, reportAndExit } from './errors.js';
import { info } from './log.js';
import { runMigrations } from './migrations.js';
import { profile } from './profile.js';
import { debugString, loadSettings, summaryFields } from './settings.js';

async function main(): Promise<void> {
  const parsed = parseCli(process.argv.slice(2));
  if (parsed.kind === 'exit') {
    if (parsed.stdout) process.stdout.write(parsed.stdout);
    if (parsed.stderr) process.stderr.write(parsed.stderr);
    process.exit(parsed.code);
  }
  const { cli } = parsed;
  const settings = loadSettings(cli.config);
  // Faithful leak up to 8218d6f: the whole Settings Debug, database URL (and its password) included.
  if (profile().logsWholeSettings) info('barycenter', 'Loaded configuration', { settings: debugString(settings) });
  else info('barycenter', 'Loaded configuration', summaryFields(settings));

  const { connect } = await import('./db.js');
  const db = await connect(settings.database.url);
  // No SIGTERM/SIGINT handler, as upstream (tokio's default): the process dies by the signal.
  await withDb(db, async () => {
    await runMigrations(db);
    info('barycenter', 'Database migrations applied successfully');
    if (cli.command?.name === 'sync-users') {
      // Tests only: a sync-users that never finishes (a locked database, a stuck migration), set by
      // a wrapper script since a drill passes no such variable through.
      if (process.env.STANDIN_HANG === 'sync-users') await new Promise(() => setInterval(() => {}, 60_000));
      const { syncUsersFromFile } = await import('./sync-users.js');
      await syncUsersFromFile(db, cli.command.file);
      info('barycenter', 'User sync completed successfully');
      await db.close();
      process.exit(0);
    }
    const { runServer } = await import('./server.js');
    await runServer(settings, db);
  });
}

/** Closes the DB before a fatal error is reported, so SQLite files are released cleanly. */
async function withDb(db: Db, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    await db.close().catch(() => undefined);
    throw e;
  }
}

main().catch((e: unknown) =>
  reportAndExit(e instanceof FatalError ? e : new FatalError(e instanceof Error ? e.message : String(e))),
);
