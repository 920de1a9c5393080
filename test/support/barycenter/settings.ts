// Barycenter's Settings::load: defaults < TOML file (skipped silently if missing) < BARYCENTER__SECTION__KEY env.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { FatalError } from './errors.js';

export interface Settings {
  server: {
    host: string;
    port: number;
    public_base_url: string | null;
    allow_public_registration: boolean;
    admin_port: number | null;
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
}

// Field types drive string coercion of env values (config-rs hands them over as strings).
const SCHEMA: Record<string, Record<string, Field>> = {
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
  const merged: Record<string, Record<string, unknown>> = {};
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
      for (const [k, v] of Object.entries(val)) merged[s]![k.toLowerCase()] = v;
    }
  }
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !/^BARYCENTER__/i.test(name)) continue;
    const parts = name.slice('BARYCENTER__'.length).toLowerCase().split('__');
    if (parts.length !== 2 || !SCHEMA[parts[0]!]) continue;
    merged[parts[0]!]![parts[1]!] = value;
  }
  const out: Record<string, Record<string, unknown>> = {};
  for (const [sec, fields] of Object.entries(SCHEMA)) {
    out[sec] = {};
    for (const [k, f] of Object.entries(fields)) {
      const v = merged[sec]![k];
      if (v === undefined) {
        if (!f.optional) throw configError(`missing field \`${k}\``);
        out[sec]![k] = null;
      } else out[sec]![k] = coerce(sec, k, f, v);
    }
  }
  const s = out as unknown as Settings;
  // Only the key paths are made absolute (against the working directory, not the config file).
  s.keys.jwks_path = path.resolve(cwd, s.keys.jwks_path);
  s.keys.private_key_path = path.resolve(cwd, s.keys.private_key_path);
  return s;
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
  return (
    `Settings { server: Server { host: ${dq(s.server.host)}, port: ${s.server.port}, public_base_url: ${opt(s.server.public_base_url)}, ` +
    `allow_public_registration: ${s.server.allow_public_registration}, admin_port: ${opt(s.server.admin_port)} }, ` +
    `database: Database { url: ${dq(s.database.url)} }, ` +
    `keys: Keys { jwks_path: ${dq(s.keys.jwks_path)}, key_id: ${opt(s.keys.key_id)}, alg: ${dq(s.keys.alg)}, private_key_path: ${dq(s.keys.private_key_path)} }, ` +
    `webfinger: WebFinger { enabled: ${w.enabled}, base_url: ${dq(w.base_url)}, service_token: ${dq(w.service_token ? '<redacted>' : '<empty>')}, ` +
    `service_token_file: ${opt(w.service_token_file)}, resource_domain: ${dq(w.resource_domain)} }, ` +
    `federation: Federation { enabled: ${s.federation.enabled}, min_verification_level: ${dq(s.federation.min_verification_level)}, ` +
    `trust_anchors: [${s.federation.trust_anchors.map(dq).join(', ')}] }, ` +
    `authz: AuthzSettings { enabled: ${s.authz.enabled}, port: ${opt(s.authz.port)}, policies_dir: ${dq(s.authz.policies_dir)} } }`
  );
}
