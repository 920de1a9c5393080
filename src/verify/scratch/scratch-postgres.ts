import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { BarysafeError, ExitCode, errorText } from '../../errors.js';
import { redactText, redactUrl } from '../../redact.js';
import { startLocalCluster } from './local-cluster.js';
import type { ScratchDatabase } from './scratch-database.js';

export type { ScratchDatabase } from './scratch-database.js';

export async function openScratchPostgres(drill: {
  postgres_url?: string;
  pg_bin_dir?: string;
}): Promise<ScratchDatabase> {
  return drill.postgres_url ? createServerDatabase(drill.postgres_url) : startLocalCluster(drill.pg_bin_dir);
}

/** CREATE DATABASE barysafe_drill_<rand> on a server where barysafe may create and drop databases. */
export async function createServerDatabase(adminUrl: string): Promise<ScratchDatabase> {
  const name = `barysafe_drill_${randomBytes(5).toString('hex')}`;
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE "${name}"`), `create the scratch database ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  return {
    url,
    display: redactUrl(url),
    kind: 'server',
    drop: async () => {
      await withClient(
        adminUrl,
        async (c) => {
          // WITH (FORCE) (PostgreSQL 13+) ends the sessions a killed instance may have left.
          await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(async () => {
            await c.query(
              'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
              [name],
            );
            await c.query(`DROP DATABASE IF EXISTS "${name}"`);
          });
          const left = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
          if (left.rowCount) throw new Error(`database ${name} still exists after DROP`);
        },
        `drop the scratch database ${name}`,
      );
      return `database ${name} dropped`;
    },
  };
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>, what: string): Promise<T> {
  const c = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 10_000,
    application_name: 'barysafe-drill',
  });
  try {
    await c.connect();
    return await fn(c);
  } catch (e) {
    throw new BarysafeError('postgres', `cannot ${what} on ${redactUrl(url)}: ${redactText(errorText(e))}`, {
      exitCode: ExitCode.USAGE,
      hint: 'drill.postgres_url must name a server and a role allowed to CREATE DATABASE and DROP DATABASE',
    });
  } finally {
    await c.end().catch(() => undefined);
  }
}
