// Server mode, in main.rs order: migrations -> default admin -> keys -> WebAuthn check -> listeners
// (admin, then authz, then public). Each earlier step has already touched DB and key files when a
// later one fails.
import type { Server } from 'node:http';
import { isIP } from 'node:net';
import type { AppState } from './app-state.js';
import { createAdminServer } from './admin-graphql.js';
import { createAuthzServer, loadPolicies } from './authz.js';
import type { Db } from './db.js';
import { FatalError, crab } from './errors.js';
import { loadOrGenerateKeys } from './keys.js';
import { info, warn } from './log.js';
import { createPublicServer } from './public-server.js';
import { issuer as issuerOf, type Settings } from './settings.js';
import { createUser, getUserByUsername } from './users.js';

export async function ensureDefaultAdmin(db: Db): Promise<void> {
  // Rule is "no user named admin", not "no users at all".
  if (await getUserByUsername(db, 'admin')) return;
  await createUser(db, 'admin', 'password123', 'admin@example.com');
  info('barycenter', 'Created default admin user (username: admin, password: password123)');
}

/**
 * webauthn-rs WebauthnBuilder::new(rp_id = issuer host, origin = issuer) needs origin.domain() to
 * end with rp_id; IP-literal hosts have no domain, so the fallback issuer http://<ip>:<port> fails.
 */
export function checkWebauthn(issuer: string): void {
  let u: URL;
  try {
    u = new URL(issuer);
  } catch {
    throw new FatalError('relative URL without a base');
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw new FatalError('Invalid issuer URL: missing host');
  if (isIP(host) !== 0) throw crab.configuration('Failed to create WebAuthn builder: The configuration was invalid');
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) =>
      reject(new FatalError(e.code === 'EADDRINUSE' ? 'Address already in use (os error 98)' : e.message));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

const fmtAddr = (host: string, port: number) => (isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`);

export async function runServer(settings: Settings, db: Db): Promise<Server[]> {
  await ensureDefaultAdmin(db);
  const keys = await loadOrGenerateKeys(settings.keys);
  const issuer = issuerOf(settings);
  checkWebauthn(issuer);
  info('barycenter::jobs', 'Job scheduler started with 6 jobs');

  const st: AppState = { settings, issuer, db, keys };
  const publicServer = createPublicServer(st);
  info(
    'barycenter::web',
    settings.server.allow_public_registration
      ? 'Public user registration is ENABLED'
      : 'Public user registration is DISABLED - use admin API',
  );
  const host = settings.server.host;
  if (isIP(host) === 0) throw new FatalError(`bad listen addr: invalid socket address syntax`);

  const servers: Server[] = [];
  const adminPort = settings.server.admin_port ?? settings.server.port + 1;
  const admin = createAdminServer(db);
  await listen(admin, host, adminPort);
  servers.push(admin);
  info('barycenter::web', 'Admin GraphQL API listening', { admin_addr: fmtAddr(host, adminPort) });
  info('barycenter::web', `GraphQL Playground available at http://${fmtAddr(host, adminPort)}/admin/playground`);

  if (settings.authz.enabled) {
    loadPolicies(settings.authz.policies_dir);
    const authzPort = settings.authz.port ?? settings.server.port + 2;
    const authz = createAuthzServer();
    await listen(authz, host, authzPort);
    servers.push(authz);
    info('barycenter::web', 'Authorization policy API listening', { authz_addr: fmtAddr(host, authzPort) });
  }

  info('barycenter::web', 'Public API listening', { public_addr: fmtAddr(host, settings.server.port) });
  warn('barycenter::web', 'Rate limiting should be configured at the reverse proxy level for production');
  await listen(publicServer, host, settings.server.port);
  servers.push(publicServer);
  return servers;
}
