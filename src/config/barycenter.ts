import { existsSync, readFileSync } from 'node:fs';
import { tomlErrorText } from './toml-error.js';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { parse as parseToml } from 'smol-toml';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import type { BarysafeConfig } from './schema.js';
import { loadServiceDefinition, serviceMismatches, type ServiceDefinition } from './service.js';

/**
 * Barycenter's *effective* settings, resolved the way Barycenter resolves them: defaults < config
 * file < BARYCENTER__SECTION__KEY (from the deployment's own environment — unit Environment= and
 * EnvironmentFile=, container Config.Env, Kubernetes env — then env_file, then barysafe's own
 * environment), the prefix matched case-insensitively as config-rs does. Relative key and SQLite
 * paths resolve against the service's working directory. Nothing here guesses a path.
 */
export interface BarycenterSettings {
  server: {
    host: string;
    port: number;
    public_base_url?: string;
    allow_public_registration: boolean;
    admin_port?: number;
    /** Newer builds only (older ones ignore the key). */
    onboarding_app_url?: string;
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

/** `service`: the deployment's own environment (see sourceDetail); `unknown`: set there from a value the definition does not hold. */
export type SettingSource = 'default' | 'file' | 'service' | 'unknown' | 'env_file' | 'env';

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
  /** Where exactly, for every key that is not a default: the file, "Environment= in <unit>", "… Config.Env", … */
  sourceDetail: Record<string, string>;
  /**
   * Keys the deployment sets from a value its definition does not hold (a Kubernetes valueFrom),
   * with why; their value here is what the lower layers give and may not be what the service runs with.
   */
  unknown: Record<string, string>;
  /** The merged environment the service runs with (its own definition, env_file, then BARYCENTER* and RUST_LOG of our own env). */
  serviceEnv: Record<string, string>;
  /** The deployment's own definition, when barysafe.toml names one. */
  service?: ServiceDefinition;
  /** Where that definition disagrees with barycenter.config / barycenter.workdir. */
  serviceMismatches: string[];
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
  service?: ServiceDefinition,
): EffectiveBarycenter {
  const settings = structuredClone(DEFAULTS) as BarycenterSettings;
  const sources: Record<string, SettingSource> = {};
  const sourceDetail: Record<string, string> = {};
  const unknown: Record<string, string> = {};
  const set = (section: string, key: string, value: unknown, source: SettingSource, detail: string) => {
    const dotted = `${section}.${key}`;
    const sec = (settings as unknown as Record<string, Record<string, unknown>>)[section];
    if (!sec) return; // config-rs ignores unknown sections and keys
    sec[key] = coerce(dotted, value, detail);
    sources[dotted] = source;
    sourceDetail[dotted] = detail;
    delete unknown[dotted];
  };
  const settingOf = (name: string): [string, string] | undefined => {
    const m = ENV_SETTING.exec(name);
    return m ? [m[1]!.toLowerCase(), m[2]!.toLowerCase()] : undefined;
  };

  const configExists = existsSync(cfg.config);
  if (configExists) {
    let doc: Record<string, unknown>;
    try {
      doc = parseToml(readFileSync(cfg.config, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new BarysafeError('config', `Barycenter config ${cfg.config} is not valid TOML at ${tomlErrorText(e)}`, {
        exitCode: ExitCode.SOURCE,
      });
    }
    for (const [section, body] of Object.entries(doc)) {
      if (body && typeof body === 'object' && !Array.isArray(body)) {
        for (const [k, v] of Object.entries(body)) set(section.toLowerCase(), k.toLowerCase(), v, 'file', cfg.config);
      }
    }
  }

  const serviceVars: Record<string, string> = {};
  for (const layer of service?.env ?? []) {
    for (const [k, v] of Object.entries(layer.vars)) {
      serviceVars[k] = v;
      const s = settingOf(k);
      if (s) set(s[0], s[1], v, 'service', layer.source);
    }
    for (const [k, why] of Object.entries(layer.unknown)) {
      const s = settingOf(k);
      if (!s || !(s[0] in settings)) continue;
      const dotted = `${s[0]}.${s[1]}`;
      sources[dotted] = 'unknown';
      sourceDetail[dotted] = `${layer.source} (${why})`;
      unknown[dotted] = `${k} comes from ${why} in ${layer.source}`;
    }
  }
  const envFileVars = cfg.env_file && existsSync(cfg.env_file) ? readEnvFile(cfg.env_file) : {};
  const ownVars: Record<string, string> = {};
  for (const [k, v] of Object.entries(ownEnv))
    if (v !== undefined && (/^BARYCENTER/i.test(k) || k === 'RUST_LOG')) ownVars[k] = v;
  for (const [vars, source, detail] of [
    [envFileVars, 'env_file', `env_file ${cfg.env_file}`],
    [ownVars, 'env', "barysafe's environment"],
  ] as const) {
    for (const [k, v] of Object.entries(vars)) {
      const s = settingOf(k);
      if (s) set(s[0], s[1], v, source, detail);
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
    sourceDetail,
    unknown,
    serviceEnv: { ...serviceVars, ...envFileVars, ...ownVars },
    ...(service ? { service } : {}),
    serviceMismatches: service ? serviceMismatches(service, cfg) : [],
    issuer,
    adminPort: s.admin_port ?? s.port + 1,
    authzPort: settings.authz.port ?? s.port + 2,
    privateKeyPath: path.resolve(workdir, settings.keys.private_key_path),
    jwksPath: path.resolve(workdir, settings.keys.jwks_path),
    database: locateDatabase(settings.database.url, workdir),
  };
}

/** BARYCENTER__SECTION__KEY in any case (config-rs matches the prefix case-insensitively and lower-cases keys). */
const ENV_SETTING = /^BARYCENTER__([A-Za-z0-9_]+?)__([A-Za-z0-9_]+)$/i;

/**
 * resolveBarycenter with the deployment's own definition read first (the unit, container or pod
 * barysafe.toml names). A definition that cannot be read is not fatal: its reason is returned and
 * the settings are resolved without it.
 */
export async function resolveDeployment(
  config: BarysafeConfig,
  ownEnv: NodeJS.ProcessEnv = process.env,
): Promise<{ bc: EffectiveBarycenter; serviceError?: string }> {
  const lookup = await loadServiceDefinition(config);
  const service = lookup?.ok ? lookup.service : undefined;
  return {
    bc: resolveBarycenter(config.barycenter, ownEnv, service),
    ...(lookup && !lookup.ok ? { serviceError: lookup.reason } : {}),
  };
}

function coerce(dotted: string, value: unknown, from: string): unknown {
  if (typeof value !== 'string') return value;
  if (NUMERIC.has(dotted)) {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      throw new BarysafeError('config', `Barycenter setting ${dotted} (from ${from}) is not a port number`, {
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
