// Server mode, in main.rs order: migrations -> default admin (up to 8218d6f) -> keys -> WebAuthn
// check -> listen address -> onboarding token (beta.14) -> listeners (admin, then authz, then
// public). Each earlier step has already touched DB and key files when a later one fails.
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { isIP, isIPv4, isIPv6 } from 'node:net';
import type { AppState } from './app-state.js';
import { createAdminServer } from './admin-graphql.js';
import { createAuthzServer, loadPolicies } from './authz.js';
import type { Db } from './db.js';
import { FatalError, crab } from './errors.js';
import { loadOrGenerateKeys } from './keys.js';
import { info, warn } from './log.js';
import { createPublicServer } from './public-server.js';
import { profile } from './profile.js';
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

/**
 * `format!("{host}:{port}").parse::<SocketAddr>()`: an IPv4 literal, or an IPv6 literal in
 * brackets. `::1` (unbracketed) and host names such as `localhost` fail with "bad listen addr".
 * Returns the address to bind, without brackets.
 */
export function parseListenHost(host: string): string {
  const v6 = /^\[([^\]]+)\]$/.exec(host);
  if (v6 && isIPv6(v6[1]!)) return v6[1]!;
  // Rust's Ipv4Addr parser takes exactly four decimal octets without leading zeros.
  if (isIPv4(host) && host.split('.').every((o) => o === '0' || !o.startsWith('0'))) return host;
  throw new FatalError('bad listen addr: invalid socket address syntax');
}

const fmtAddr = (host: string, port: number) => (isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`);

/**
 * beta.14's onboarding admin API (onboarding.rs admin_router): off unless
 * BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE is set; then the file must be readable and hold at least 32
 * characters after trimming, and public_base_url must be https or http on a loopback host name.
 */
function checkOnboardingToken(settings: Settings): void {
  const file = process.env.BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE;
  if (!profile().onboardingTokenFile || file === undefined) return;
  const bad = (m: string) => new FatalError(`Onboarding configuration: ${m}`);
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch {
    throw bad('cannot read token file');
  }
  if (token.length < 32) throw bad('admin token must have at least 32 characters');
  const base = settings.server.public_base_url;
  if (base === null) throw bad('public_base_url must be configured');
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    throw bad('invalid public_base_url');
  }
  // url's host_str() of an IPv6 host keeps its brackets, so "::1" never matches upstream either.
  const loopback = ['localhost', '127.0.0.1', '::1'].includes(u.hostname);
  if (!(u.protocol === 'https:' || (u.protocol === 'http:' && loopback)))
    throw bad('public_base_url requires HTTPS except loopback');
}

export async function runServer(settings: Settings, db: Db): Promise<Server[]> {
  if (profile().defaultAdmin) await ensureDefaultAdmin(db);
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
  const host = parseListenHost(settings.server.host);
  checkOnboardingToken(settings);

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
