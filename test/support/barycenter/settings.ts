// Barycenter's Settings::load: defaults < TOML file (skipped silently if missing) < BARYCENTER__SECTION__KEY env,
// with the sections and keys of the build being played (profile.ts).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { FatalError } from './errors.js';
import { profile, type Profile } from './profile.js';

export interface Settings {
  server: {
    host: string;
    port: number;
    public_base_url: string | null;
    allow_public_registration: boolean;
    admin_port: number | null;
    /** Only at beta.14 (null elsewhere). */
    onboarding_app_url: string | null;
  };
  database: { url: string };
  keys: { jwks_path: string; key_id: string | null; alg: string; private_key_path: string };
  webfinger: {
    enabled: boolean;
    base_url: string;
    service_token: string;
    service_token_file: string | null;
    resource_domain: string;
  };
  federation: { enabled: boolean; min_verification_level: string; trust_anchors: string[] };
  authz: { enabled: boolean; port: number | null; policies_dir: string };
}

type Kind = 'str' | 'u16' | 'bool' | 'list';
interface Field {
  kind: Kind;
  optional?: boolean;
  def?: unknown;
  /** No serde default: missing whenever the section exists is an error. */
  required?: boolean;
}

// Field types drive string coercion of env values (config-rs hands them over as strings).
const FULL_SCHEMA: Record<string, Record<string, Field>> = {
  server: {
    host: { kind: 'str', def: '0.0.0.0' },
    port: { kind: 'u16', def: 8080 },
    public_base_url: { kind: 'str', optional: true },
    allow_public_registration: { kind: 'bool', def: false },
    admin_port: { kind: 'u16', optional: true },
  },
  database: { url: { kind: 'str', def: 'sqlite://barycenter.db?mode=rwc' } },
  keys: {
    jwks_path: { kind: 'str', def: 'data/jwks.json' },
    key_id: { kind: 'str', optional: true },
    alg: { kind: 'str', def: 'RS256' },
    private_key_path: { kind: 'str', def: 'data/private_key.pem' },
  },
  webfinger: {
    enabled: { kind: 'bool', def: false },
    base_url: { kind: 'str', def: '' },
    service_token: { kind: 'str', def: '' },
    service_token_file: { kind: 'str', optional: true },
    resource_domain: { kind: 'str', def: '' },
  },
  federation: {
    enabled: { kind: 'bool', def: false },
    min_verification_level: { kind: 'str', def: 'discovery_only' },
    trust_anchors: { kind: 'list', def: [] },
  },
  authz: {
    enabled: { kind: 'bool', def: false },
    port: { kind: 'u16', optional: true },
    policies_dir: { kind: 'str', def: 'policies' },
  },
};

/** The sections and keys the played build deserialises; everything else is ignored, as by serde. */
function schemaOf(p: Profile): Record<string, Record<string, Field>> {
  const s = structuredClone(FULL_SCHEMA);
  if (p.onboardingAppUrl) s.server!.onboarding_app_url = { kind: 'str', optional: true };
  if (!p.webfinger) delete s.webfinger;
  if (p.trustAnchorsRequired) s.federation = { trust_anchors: { kind: 'list', required: true } };
  return s;
}

/** What a build without a section or key behaves as (the code path that would read it does not exist). */
const ABSENT = {
  webfinger: { enabled: false, base_url: '', service_token: '', service_token_file: null, resource_domain: '' },
  federation: { enabled: false, min_verification_level: 'discovery_only', trust_anchors: [] as string[] },
};

function configError(msg: string): FatalError {
  return new FatalError(msg);
}

function coerce(section: string, key: string, f: Field, v: unknown): unknown {
  const where = `${section}.${key}`;
  switch (f.kind) {
    case 'str':
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      throw configError(`invalid type: expected a string for key \`${where}\``);
    case 'u16': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
      if (!Number.isInteger(n))
        throw configError(`invalid type: string ${JSON.stringify(v)}, expected an integer for key \`${where}\``);
      if (n < 0 || n > 65535) throw configError(`invalid value: integer \`${n}\`, expected u16 for key \`${where}\``);
      return n;
    }
    case 'bool': {
      if (typeof v === 'boolean') return v;
      const s = String(v).toLowerCase();
      if (['true', 'on', 'yes', '1'].includes(s)) return true;
      if (['false', 'off', 'no', '0'].includes(s)) return false;
      throw configError(`invalid type: string ${JSON.stringify(v)}, expected a boolean for key \`${where}\``);
    }
    case 'list':
      // No list separator is configured upstream, so an env string cannot become a list.
      if (Array.isArray(v)) return v.map(String);
      throw configError(`invalid type: string ${JSON.stringify(v)}, expected a sequence for key \`${where}\``);
  }
}

export function loadSettings(configPath: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Settings {
  const p = profile();
  const SCHEMA = schemaOf(p);
  const merged: Record<string, Record<string, unknown>> = {};
  // Sections that exist in the merged config (from the file or an env variable), before defaults.
  const present = new Set<string>();
  for (const [sec, fields] of Object.entries(SCHEMA)) {
    merged[sec] = {};
    for (const [k, f] of Object.entries(fields)) if (f.def !== undefined) merged[sec]![k] = f.def;
  }
  if (existsSync(configPath)) {
    let doc: Record<string, unknown>;
    try {
      doc = parseToml(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw configError(`TOML parse error in ${configPath}: ${(e as Error).message}`);
    }
    for (const [sec, val] of Object.entries(doc)) {
      const s = sec.toLowerCase();
      if (!SCHEMA[s] || typeof val !== 'object' || val === null || Array.isArray(val)) continue;
      present.add(s);
      for (const [k, v] of Object.entries(val)) merged[s]![k.toLowerCase()] = v;
    }
  }
  for (const [name, value] of Object.entries(env)) {
    // config-rs matches the prefix case-insensitively and lower-cases the keys.
    if (value === undefined || !/^BARYCENTER__/i.test(name)) continue;
    const parts = name.slice('BARYCENTER__'.length).toLowerCase().split('__');
    if (parts.length !== 2 || !SCHEMA[parts[0]!]) continue;
    present.add(parts[0]!);
    merged[parts[0]!]![parts[1]!] = value;
  }
  const out: Record<string, Record<string, unknown>> = {};
  for (const [sec, fields] of Object.entries(SCHEMA)) {
    out[sec] = {};
    for (const [k, f] of Object.entries(fields)) {
      const v = merged[sec]![k];
      if (v === undefined) {
        if (f.required && present.has(sec)) throw configError(`missing field \`${k}\``);
        if (f.required) out[sec]![k] = [];
        else if (!f.optional) throw configError(`missing field \`${k}\``);
        else out[sec]![k] = null;
      } else out[sec]![k] = coerce(sec, k, f, v);
    }
  }
  if (!p.onboardingAppUrl) out.server!.onboarding_app_url = null;
  if (!SCHEMA.webfinger) out.webfinger = { ...ABSENT.webfinger };
  out.federation = { ...ABSENT.federation, ...out.federation };
  const s = out as unknown as Settings;
  if (s.server.onboarding_app_url !== null) checkOnboardingAppUrl(s.server.onboarding_app_url);
  // Only the key paths are made absolute (against the working directory, not the config file).
  s.keys.jwks_path = path.resolve(cwd, s.keys.jwks_path);
  s.keys.private_key_path = path.resolve(cwd, s.keys.private_key_path);
  return s;
}

/** beta.14 validates server.onboarding_app_url in Settings::load: https (http only on loopback), no credentials, no fragment. */
function checkOnboardingAppUrl(value: string): void {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw configError(`invalid server.onboarding_app_url: not a URL`);
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
  if (!(u.protocol === 'https:' || (u.protocol === 'http:' && loopback)))
    throw configError('invalid server.onboarding_app_url: must use https (http only for localhost)');
  if (u.username || u.password) throw configError('invalid server.onboarding_app_url: must not contain credentials');
  if (u.hash) throw configError('invalid server.onboarding_app_url: must not contain a fragment');
}

export function issuer(s: Settings): string {
  return s.server.public_base_url !== null
    ? s.server.public_base_url.replace(/\/+$/, '')
    : `http://${s.server.host}:${s.server.port}`;
}

// Rust Debug rendering, so the startup log line matches (including the unredacted database URL).
const dq = (v: string) => JSON.stringify(v);
const opt = (v: string | number | null, q = true) =>
  v === null ? 'None' : `Some(${q && typeof v === 'string' ? dq(v) : v})`;

export function debugString(s: Settings): string {
  const w = s.webfinger;
  const beta5 = !profile().webfinger;
  const webfinger = beta5
    ? ''
    : `webfinger: WebFinger { enabled: ${w.enabled}, base_url: ${dq(w.base_url)}, service_token: ${dq(w.service_token ? '<redacted>' : '<empty>')}, ` +
      `service_token_file: ${opt(w.service_token_file)}, resource_domain: ${dq(w.resource_domain)} }, `;
  const anchors = `trust_anchors: [${s.federation.trust_anchors.map(dq).join(', ')}]`;
  const federation = beta5
    ? `federation: Federation { ${anchors} }, `
    : `federation: Federation { enabled: ${s.federation.enabled}, min_verification_level: ${dq(s.federation.min_verification_level)}, ${anchors} }, `;
  return (
    `Settings { server: Server { host: ${dq(s.server.host)}, port: ${s.server.port}, public_base_url: ${opt(s.server.public_base_url)}, ` +
    `allow_public_registration: ${s.server.allow_public_registration}, admin_port: ${opt(s.server.admin_port)} }, ` +
    `database: Database { url: ${dq(s.database.url)} }, ` +
    `keys: Keys { jwks_path: ${dq(s.keys.jwks_path)}, key_id: ${opt(s.keys.key_id)}, alg: ${dq(s.keys.alg)}, private_key_path: ${dq(s.keys.private_key_path)} }, ` +
    webfinger +
    federation +
    `authz: AuthzSettings { enabled: ${s.authz.enabled}, port: ${opt(s.authz.port)}, policies_dir: ${dq(s.authz.policies_dir)} } }`
  );
}

/** beta.14's "Loaded configuration" fields: no database URL, no password. */
export function summaryFields(s: Settings): Record<string, string> {
  const scheme = s.database.url.split(':')[0];
  return {
    server_host: s.server.host,
    server_port: String(s.server.port),
    public_base_url: opt(s.server.public_base_url),
    database_backend:
      scheme === 'postgres' || scheme === 'postgresql' ? 'postgresql' : scheme === 'sqlite' ? 'sqlite' : 'unknown',
    signing_algorithm: s.keys.alg,
  };
}
