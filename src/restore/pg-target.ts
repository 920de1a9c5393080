import { lookup } from 'node:dns/promises';
import os from 'node:os';
import { BarysafeError, ExitCode } from '../errors.js';
import type { EffectiveBarycenter } from '../config/barycenter.js';
import { redactUrl } from '../redact.js';
import { addressScope } from '../platform/net.js';

/** Where a PostgreSQL URL points: the server (as a set of addresses), its port and the database. */
interface PgEndpoint {
  hosts: Set<string>;
  port: string;
  database: string;
}

const LOCAL = 'local';

async function endpointOf(url: string): Promise<PgEndpoint | undefined> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const q = u.searchParams;
  const host = (q.get('host') ?? decodeURIComponent(u.hostname)).replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const user =
    q.get('user') ?? (u.username ? decodeURIComponent(u.username) : (process.env.PGUSER ?? os.userInfo().username));
  const database = q.get('dbname') ?? (decodeURIComponent(u.pathname.replace(/^\//, '')) || user);
  const port = q.get('port') ?? (u.port || '5432');
  const hosts = new Set<string>();
  // A Unix socket, an empty host, loopback or an address of this machine: the local server.
  const own = new Set(
    Object.values(os.networkInterfaces())
      .flat()
      .map((i) => i?.address),
  );
  const classify = (a: string) => (addressScope(a) === 'loopback' || own.has(a) ? LOCAL : a);
  if (!host || host.startsWith('/') || host === 'localhost') hosts.add(LOCAL);
  else {
    try {
      for (const a of await lookup(host, { all: true })) hosts.add(classify(a.address));
    } catch {
      hosts.add(host);
    }
  }
  return { hosts, port, database };
}

/**
 * Refuses `--pg-url` when it names the database production's Barycenter uses (same server —
 * compared by address, so `localhost`, `127.0.0.1` and the host's own name agree — same port,
 * same database): pg_restore --clean would overwrite the live data under the running service.
 */
export async function refuseProductionDatabase(target: string, bc: EffectiveBarycenter): Promise<void> {
  if (bc.database.engine !== 'postgres') return;
  const [a, b] = await Promise.all([endpointOf(target), endpointOf(bc.database.url)]);
  const same =
    a && b ? a.port === b.port && a.database === b.database && [...a.hosts].some((h) => b.hosts.has(h)) : false;
  if (!same) return;
  throw new BarysafeError(
    'restore',
    `refusing to restore into ${redactUrl(target)}: it is the database production's Barycenter uses (database.url of ${bc.configPath})`,
    {
      exitCode: ExitCode.USAGE,
      hint: 'restore into a new, empty database (createdb), check it, then point database.url at it while Barycenter is stopped',
    },
  );
}
