// Entry point of the Barycenter stand-in (tests only). See barycenter-facts.md for the contract.
import { parseCli } from './cli.js';
import { connect, type Db } from './db.js';
import { FatalError, reportAndExit } from './errors.js';
import { info } from './log.js';
import { runMigrations } from './migrations.js';
import { runServer } from './server.js';
import { profile } from './profile.js';
import { debugString, loadSettings, summaryFields } from './settings.js';
import { syncUsersFromFile } from './sync-users.js';

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

  const db = await connect(settings.database.url);
  // No SIGTERM/SIGINT handler, as upstream (tokio's default): the process dies by the signal.
  await withDb(db, async () => {
    await runMigrations(db);
    info('barycenter', 'Database migrations applied successfully');
    if (cli.command?.name === 'sync-users') {
      // Tests only: a sync-users that never finishes (a locked database, a stuck migration), set by
      // a wrapper script since a drill passes no such variable through.
      if (process.env.STANDIN_HANG === 'sync-users') await new Promise(() => setInterval(() => {}, 60_000));
      await syncUsersFromFile(db, cli.command.file);
      info('barycenter', 'User sync completed successfully');
      await db.close();
      process.exit(0);
    }
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
