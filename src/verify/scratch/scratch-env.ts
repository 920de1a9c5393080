import path from 'node:path';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
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

/** The setting a BARYCENTER__SECTION__KEY variable names, as Barycenter reads it: prefix in any case, lower-cased. */
export function settingOf(name: string): string | undefined {
  const m = /^barycenter__([a-z0-9_]+?)__([a-z0-9_]+)$/i.exec(name);
  return m ? `${m[1]!.toLowerCase()}.${m[2]!.toLowerCase()}` : undefined;
}

/** Restored settings the scratch instance never gets: production secrets it has no use for (webfinger is off). */
const NEVER_RESTORED = new Set(['webfinger.service_token', 'webfinger.service_token_file']);

/**
 * Which restored variables reach the scratch instance. Only BARYCENTER__SECTION__KEY settings
 * are allowed, normalised the way Barycenter reads them (matched case-insensitively, keys
 * lower-cased) and re-spelled in upper case, so two spellings of one setting become one variable
 * (the later in the file wins) and environment order can never decide. Every variable that names
 * a setting the drill overrides is dropped, whatever its case: `BARYCENTER__Database__URL` must
 * not compete with the scratch database.
 */
export function restoredEnvFor(
  restoredServiceEnv: Record<string, string>,
  overrides: Record<string, string>,
): { kept: Record<string, string>; dropped: string[] } {
  const controlled = new Set(
    Object.keys(overrides)
      .map(settingOf)
      .filter((x): x is string => !!x),
  );
  const kept: Record<string, string> = {};
  const dropped: string[] = [];
  for (const [k, v] of Object.entries(restoredServiceEnv)) {
    const setting = settingOf(k);
    if (!setting || controlled.has(setting) || NEVER_RESTORED.has(setting)) {
      dropped.push(k);
      continue;
    }
    const [section, key] = setting.split('.') as [string, string];
    kept[`BARYCENTER__${section.toUpperCase()}__${key.toUpperCase()}`] = v;
  }
  return { kept, dropped };
}

/**
 * The environment a scratch process gets, from an allow-list: a few neutral variables of ours, the
 * service's own settings from the snapshot's env file (see restoredEnvFor), then the overrides.
 * Nothing else of barysafe's environment (cloud credentials, a developer's BARYCENTER__ exports)
 * leaks in.
 */
export function scratchProcessEnv(
  restoredServiceEnv: Record<string, string>,
  overrides: Record<string, string>,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'])
    if (process.env[k] !== undefined) env[k] = process.env[k];
  return { ...env, ...restoredEnvFor(restoredServiceEnv, overrides).kept, ...overrides };
}

/**
 * The scratch copy of the restored config with the overrides written into it as well: a config
 * that names production's database or key keeps nothing of that, whatever the case of its
 * sections and keys (Barycenter lower-cases them), even if the environment did not reach the
 * instance (a wrapper that resets it). Settings the overrides control are removed from every
 * spelling of their section and set in the lower-case one. `restored` is the TOML text, or
 * undefined when the snapshot has no config.
 */
export function scratchConfigText(restored: string | undefined, overrides: Record<string, string>): string {
  const doc = (restored === undefined ? {} : parseToml(restored)) as Record<string, unknown>;
  const table = (section: string): Record<string, unknown> => {
    const t = doc[section];
    if (t && typeof t === 'object' && !Array.isArray(t)) return t as Record<string, unknown>;
    return (doc[section] = {});
  };
  const remove = (setting: string) => {
    const [section, key] = setting.split('.') as [string, string];
    for (const [sname, body] of Object.entries(doc)) {
      if (sname.toLowerCase() !== section || !body || typeof body !== 'object' || Array.isArray(body)) continue;
      for (const k of Object.keys(body)) if (k.toLowerCase() === key) delete (body as Record<string, unknown>)[k];
    }
  };
  for (const setting of NEVER_RESTORED) remove(setting);
  for (const [name, value] of Object.entries(overrides)) {
    const setting = settingOf(name);
    if (!setting) continue;
    remove(setting);
    const [section, key] = setting.split('.') as [string, string];
    table(section)[key] = typedValue(key, value);
  }
  // Builds whose [federation] has no serde default refuse a table without trust_anchors.
  const federation = doc.federation as Record<string, unknown> | undefined;
  if (federation && !Object.keys(federation).some((k) => k.toLowerCase() === 'trust_anchors'))
    federation.trust_anchors = [];
  return stringifyToml(doc) + '\n';
}

function typedValue(key: string, value: string): unknown {
  if (/port$/.test(key) && /^\d+$/.test(value)) return Number(value);
  if (value === 'true' || value === 'false') return value === 'true';
  return value;
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
