import path from 'node:path';
import { BarysafeError, ExitCode } from '../../errors.js';

/** Where a drill's scratch instance keeps everything; all paths are inside one private directory. */
export interface ScratchLayout {
  dir: string;
  configPath: string;
  privateKeyPath: string;
  jwksPath: string;
  usersFile: string;
}

export function scratchLayout(dir: string, configName = 'config.toml'): ScratchLayout {
  return {
    dir,
    configPath: path.join(dir, configName),
    privateKeyPath: path.join(dir, 'private_key.pem'),
    jwksPath: path.join(dir, 'jwks.json'),
    usersFile: path.join(dir, 'drill-users.json'),
  };
}

export interface ScratchNetwork {
  port: number;
  adminPort: number;
}

/** The issuer the scratch instance runs under: a hostname (WebAuthn needs one), never production's. */
export function scratchIssuer(net: ScratchNetwork): string {
  return `http://localhost:${net.port}`;
}

/**
 * BARYCENTER__ overrides (env beats the config file) that keep the scratch instance off
 * everything production owns: loopback only, its own ports (admin too: a restored config may name
 * production's), its own DB and key files, and no webfinger registration (which would POST the
 * scratch issuer to the real webfingerd with the real token), no federation and no
 * authz listener. RUST_LOG=warn keeps the DB URL and the default admin password out of its log.
 */
export function scratchOverrides(
  layout: ScratchLayout,
  net: ScratchNetwork,
  databaseUrl: string,
): Record<string, string> {
  return {
    BARYCENTER__SERVER__HOST: '127.0.0.1',
    BARYCENTER__SERVER__PORT: String(net.port),
    BARYCENTER__SERVER__ADMIN_PORT: String(net.adminPort),
    BARYCENTER__SERVER__PUBLIC_BASE_URL: scratchIssuer(net),
    BARYCENTER__DATABASE__URL: databaseUrl,
    BARYCENTER__KEYS__PRIVATE_KEY_PATH: layout.privateKeyPath,
    BARYCENTER__KEYS__JWKS_PATH: layout.jwksPath,
    BARYCENTER__WEBFINGER__ENABLED: 'false',
    BARYCENTER__FEDERATION__ENABLED: 'false',
    BARYCENTER__AUTHZ__ENABLED: 'false',
    RUST_LOG: 'warn',
    NO_COLOR: '1',
  };
}

/**
 * The environment a scratch process gets: a few neutral variables of ours, the service's own
 * BARYCENTER* settings from the snapshot's env file, then the overrides. Nothing else of
 * barysafe's environment (cloud credentials, a developer's BARYCENTER__ exports) leaks in.
 */
export function scratchProcessEnv(
  restoredServiceEnv: Record<string, string>,
  overrides: Record<string, string>,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'])
    if (process.env[k] !== undefined) env[k] = process.env[k];
  for (const [k, v] of Object.entries(restoredServiceEnv)) if (k.startsWith('BARYCENTER')) env[k] = v;
  return { ...env, ...overrides };
}

/** Refuses a scratch layout or port that coincides with production's (from the manifest). */
export function assertNotProduction(
  layout: ScratchLayout,
  net: ScratchNetwork,
  production: {
    private_key_path: string;
    jwks_path: string;
    config_path: string;
    workdir: string;
    port: number;
    admin_port: number;
  },
  productionDbPath?: string,
): void {
  const clash = (what: string) => {
    throw new BarysafeError('drill', `refusing to run the drill: the scratch ${what} is production's`, {
      exitCode: ExitCode.USAGE,
    });
  };
  const prodPaths = [production.private_key_path, production.jwks_path, production.config_path, productionDbPath]
    .filter((p): p is string => !!p)
    .map((p) => path.resolve(p));
  for (const p of [layout.privateKeyPath, layout.jwksPath, layout.configPath])
    if (prodPaths.includes(path.resolve(p))) clash(`path ${p}`);
  if (path.resolve(layout.dir) === path.resolve(production.workdir)) clash(`directory ${layout.dir}`);
  for (const p of [net.port, net.adminPort])
    if (p === production.port || p === production.admin_port) clash(`port ${p}`);
}
