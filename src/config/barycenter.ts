import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { parse as parseToml } from 'smol-toml';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import type { BarysafeConfig } from './schema.js';

/**
 * Barycenter's *effective* settings, resolved the way Barycenter resolves them:
 * defaults < config file < BARYCENTER__SECTION__KEY (from env_file, then barysafe's own
 * environment). Relative key and SQLite paths resolve against the service's working directory.
 * Nothing here guesses a path.
 */
export interface BarycenterSettings {
  server: {
    host: string;
    port: number;
    public_base_url?: string;
    allow_public_registration: boolean;
    admin_port?: number;
  };
  database: { url: string };
  keys: { jwks_path: string; private_key_path: string; key_id?: string; alg: string };
  webfinger: {
    enabled: boolean;
    base_url: string;
    service_token: string;
    service_token_file?: string;
    resource_domain: string;
  };
  federation: { enabled: boolean; min_verification_level: string; trust_anchors: string[] };
  authz: { enabled: boolean; port?: number; policies_dir: string };
}

export type SettingSource = 'default' | 'file' | 'env_file' | 'env';

export type DatabaseLocation =
  | { engine: 'sqlite'; path: string; memory: false; createIfMissing: boolean }
  | { engine: 'sqlite'; path: null; memory: true; createIfMissing: boolean }
  | { engine: 'postgres'; url: string };

export interface EffectiveBarycenter {
  configPath: string;
  configExists: boolean;
  workdir: string;
  envFile?: string;
  settings: BarycenterSettings;
  /** Where each dotted key's value came from (evidence for checks). */
  sources: Record<string, SettingSource>;
  /** The merged environment the service runs with (env_file, then BARYCENTER* and RUST_LOG of our own env). */
  serviceEnv: Record<string, string>;
  issuer: string;
  adminPort: number;
  authzPort: number;
  privateKeyPath: string;
  jwksPath: string;
  database: DatabaseLocation;
}

export const DEFAULTS: BarycenterSettings = {
  server: { host: '0.0.0.0', port: 8080, allow_public_registration: false },
  database: { url: 'sqlite://barycenter.db?mode=rwc' },
  keys: { jwks_path: 'data/jwks.json', private_key_path: 'data/private_key.pem', alg: 'RS256' },
  webfinger: { enabled: false, base_url: '', service_token: '', resource_domain: '' },
  federation: { enabled: false, min_verification_level: 'discovery_only', trust_anchors: [] },
  authz: { enabled: false, policies_dir: 'policies' },
};

const NUMERIC = new Set(['server.port', 'server.admin_port', 'authz.port']);
const BOOLEAN = new Set([
  'server.allow_public_registration',
  'webfinger.enabled',
  'federation.enabled',
  'authz.enabled',
]);

export function readEnvFile(file: string): Record<string, string> {
  try {
    return parseDotenv(readFileSync(file));
  } catch (e) {
    throw new BarysafeError('config', `cannot read Barycenter env file ${file}: ${errorText(e)}`, {
      exitCode: ExitCode.SOURCE,
      hint: 'fix barycenter.env_file in barysafe.toml or remove it',
    });
  }
}

export function resolveBarycenter(
  cfg: BarysafeConfig['barycenter'],
  ownEnv: NodeJS.ProcessEnv = process.env,
): EffectiveBarycenter {
  const settings = structuredClone(DEFAULTS) as BarycenterSettings;
  const sources: Record<string, SettingSource> = {};
  const set = (section: string, key: string, value: unknown, source: SettingSource) => {
    const dotted = `${section}.${key}`;
    const sec = (settings as unknown as Record<string, Record<string, unknown>>)[section];
    if (!sec) return; // config-rs ignores unknown sections and keys
    sec[key] = coerce(dotted, value);
    sources[dotted] = source;
  };

  const configExists = existsSync(cfg.config);
  if (configExists) {
    let doc: Record<string, unknown>;
    try {
      doc = parseToml(readFileSync(cfg.config, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new BarysafeError(
        'config',
        `Barycenter config ${cfg.config} is not valid TOML: ${errorText(e).split('\n')[0]}`,
        {
          exitCode: ExitCode.SOURCE,
        },
      );
    }
    for (const [section, body] of Object.entries(doc)) {
      if (body && typeof body === 'object' && !Array.isArray(body)) {
        for (const [k, v] of Object.entries(body)) set(section.toLowerCase(), k.toLowerCase(), v, 'file');
      }
    }
  }

  const envFileVars = cfg.env_file && existsSync(cfg.env_file) ? readEnvFile(cfg.env_file) : {};
  const ownVars: Record<string, string> = {};
  for (const [k, v] of Object.entries(ownEnv))
    if (v !== undefined && (/^BARYCENTER/i.test(k) || k === 'RUST_LOG')) ownVars[k] = v;
  for (const [vars, source] of [
    [envFileVars, 'env_file'],
    [ownVars, 'env'],
  ] as const) {
    for (const [k, v] of Object.entries(vars)) {
      // config-rs matches the prefix case-insensitively and lower-cases the keys.
      const m = /^BARYCENTER__([A-Za-z0-9_]+?)__([A-Za-z0-9_]+)$/i.exec(k);
      if (m) set(m[1]!.toLowerCase(), m[2]!.toLowerCase(), v, source);
    }
  }

  const workdir = cfg.workdir;
  const s = settings.server;
  const issuer = s.public_base_url !== undefined ? s.public_base_url.replace(/\/+$/, '') : `http://${s.host}:${s.port}`;
  return {
    configPath: cfg.config,
    configExists,
    workdir,
    envFile: cfg.env_file,
    settings,
    sources,
    serviceEnv: { ...envFileVars, ...ownVars },
    issuer,
    adminPort: s.admin_port ?? s.port + 1,
    authzPort: settings.authz.port ?? s.port + 2,
    privateKeyPath: path.resolve(workdir, settings.keys.private_key_path),
    jwksPath: path.resolve(workdir, settings.keys.jwks_path),
    database: locateDatabase(settings.database.url, workdir),
  };
}

function coerce(dotted: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (NUMERIC.has(dotted)) {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      throw new BarysafeError('config', `Barycenter setting ${dotted} is not a port number`, {
        exitCode: ExitCode.SOURCE,
      });
    return n;
  }
  if (BOOLEAN.has(dotted)) return /^(true|1|yes|on)$/i.test(value);
  return value;
}

/** sqlx URL forms: sqlite://rel, sqlite:///abs, sqlite::memory:, postgres(ql)://. */
export function locateDatabase(url: string, workdir: string): DatabaseLocation {
  if (/^postgres(ql)?:\/\//i.test(url)) return { engine: 'postgres', url };
  const m = /^sqlite:(\/\/)?([^?]*)(\?(.*))?$/i.exec(url);
  if (!m) {
    throw new BarysafeError(
      'config',
      `unsupported Barycenter database URL scheme (only sqlite:// and postgres:// exist in Barycenter)`,
      {
        exitCode: ExitCode.SOURCE,
      },
    );
  }
  const mode = new URLSearchParams(m[4] ?? '').get('mode');
  const createIfMissing = mode === 'rwc';
  const p = m[2] ?? '';
  if (p === ':memory:' || p === '' || p.startsWith(':memory:'))
    return { engine: 'sqlite', path: null, memory: true, createIfMissing };
  return { engine: 'sqlite', path: path.resolve(workdir, decodeURIComponent(p)), memory: false, createIfMissing };
}
