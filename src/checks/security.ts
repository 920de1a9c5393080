import { readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { verify as argon2Verify } from '@node-rs/argon2';
import { matchKeyToJwks, parseJwks, parsePrivateJwk, type JwksFacts, type KeyFacts } from '../barycenter/jwk.js';
import { errorText } from '../errors.js';
import { redactUrl } from '../redact.js';
import type { CheckContext, CheckDefinition, CheckOutcome, Evidence } from './types.js';
import { settingSource } from './config.js';
import { readRows } from './evidence/database.js';
import { servedJwks } from './evidence/http.js';

/** Argon2 verification of a stored PHC hash; a hash that is not PHC simply does not match. */
async function hashMatches(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2Verify(hash, password);
  } catch {
    return false;
  }
}

const defaultAdminPassword: CheckDefinition = {
  id: 'security.default-admin-password',
  section: 'security',
  title: 'admin / password123 does not log in',
  rationale:
    'Barycenter creates admin/password123 at every start when no user named admin exists (not only on an empty table) and logs it at info; sync-users never changes an existing password.',
  severity: 'critical',
  remediation: {
    default:
      'Give admin a strong password (a users.json sync does not change existing passwords: update users.password_hash with an Argon2id PHC hash) or set enabled = 0. Do not delete the row: it comes back with password123 at the next start.',
  },
  async run(ctx) {
    const r = await readRows(ctx, 'users', (db) => db.users());
    if ('status' in r) return r;
    const admin = r.rows.find((u) => u.username === 'admin');
    const evidence: Evidence[] = [
      {
        source: `${r.source} users WHERE username = 'admin' (argon2 verify of the stored hash)`,
        expected: 'password123 does not verify',
      },
    ];
    if (!admin) {
      evidence[0]!.observed = 'no admin row';
      return {
        status: 'fail',
        summary: 'there is no admin user: Barycenter will create admin/password123 at its next start',
        evidence,
      };
    }
    const weak = await hashMatches(admin.password_hash, 'password123');
    evidence[0]!.observed = { password123_verifies: weak, enabled: admin.enabled };
    if (weak && admin.enabled)
      return { status: 'fail', summary: 'admin logs in with the default password password123', evidence };
    if (weak)
      return {
        status: 'warn',
        summary: 'admin is disabled but still has the default password password123: enabling it re-opens the account',
        evidence,
      };
    return {
      status: 'pass',
      summary: `admin's stored hash does not verify against password123${admin.enabled ? '' : ' (and admin is disabled)'}`,
      evidence,
    };
  },
};

/** Example credentials Barycenter ships (users.json.example; Helm examples/user-sync-secret.yaml). */
export const DEMO_CREDENTIALS: Array<{ username: string; password: string; origin: string }> = [
  { username: 'admin', password: 'change-me-in-production', origin: 'users.json.example' },
  { username: 'alice', password: 'alice-secure-password', origin: 'users.json.example, Helm example secret' },
  { username: 'bob', password: 'bob-secure-password', origin: 'users.json.example' },
  { username: 'charlie', password: 'charlie-secure-password', origin: 'users.json.example' },
  { username: 'admin', password: 'CHANGE-ME-IN-PRODUCTION', origin: 'Helm example secret' },
  { username: 'service-account', password: 'service-account-password', origin: 'Helm example secret' },
];

const demoUsers: CheckDefinition = {
  id: 'security.demo-users',
  section: 'security',
  title: 'No user from the shipped examples keeps its example password',
  rationale:
    'users.json.example and the Helm example secret ship users with published passwords; copying an example file into production creates accounts anyone can log into.',
  severity: 'critical',
  remediation: {
    default:
      'Change the passwords of the listed users (sync-users does not update passwords: write a new Argon2id hash) or disable/delete them, then remove the example users from users.json.',
    kubernetes:
      'Remove the example users from the userSync secret, then change or disable them in the database (the init container never re-passwords existing users).',
  },
  async run(ctx) {
    const r = await readRows(ctx, 'users', (db) => db.users());
    if ('status' in r) return r;
    const hits: Array<{ username: string; enabled: boolean; example_from: string }> = [];
    const tried: string[] = [];
    for (const cred of DEMO_CREDENTIALS) {
      const user = r.rows.find((u) => u.username === cred.username);
      if (!user) continue;
      tried.push(`${cred.username} (${cred.origin})`);
      if (await hashMatches(user.password_hash, cred.password))
        hits.push({ username: user.username, enabled: user.enabled, example_from: cred.origin });
    }
    const evidence: Evidence[] = [
      {
        source: `${r.source} users (argon2 verify against the example passwords)`,
        observed: { example_usernames_present: tried, example_password_matches: hits },
        expected: 'no match',
      },
    ];
    const live = hits.filter((h) => h.enabled);
    if (live.length)
      return {
        status: 'fail',
        summary: `${live.map((h) => h.username).join(', ')} log(s) in with the example password from ${live[0]!.example_from}`,
        evidence,
      };
    if (hits.length)
      return {
        status: 'warn',
        summary: `disabled user(s) ${hits.map((h) => h.username).join(', ')} keep their example password`,
        evidence,
      };
    return {
      status: 'pass',
      summary: tried.length
        ? `example usernames exist (${tried.length}) but none keeps its example password`
        : 'no user from the shipped examples exists',
      evidence,
    };
  },
};

async function readKeyFiles(ctx: CheckContext): Promise<{ key: KeyFacts; jwks: JwksFacts } | CheckOutcome> {
  const b = ctx.barycenter;
  try {
    const key = (await parsePrivateJwk(await readFile(b.privateKeyPath, 'utf8'), b.privateKeyPath)).facts;
    const jwks = await parseJwks(await readFile(b.jwksPath, 'utf8'), b.jwksPath);
    return { key, jwks };
  } catch (e) {
    return {
      status: 'error',
      summary: errorText(e),
      evidence: [{ source: `file:${b.privateKeyPath}` }, { source: `file:${b.jwksPath}` }],
    };
  }
}

const jwksMatchesKey: CheckDefinition = {
  id: 'security.jwks-matches-key',
  section: 'security',
  title: 'jwks.json publishes exactly the public part of the private key',
  rationale:
    'jwks.json is written once and served verbatim; Barycenter never checks it against the key. A restored or regenerated key with a stale jwks.json makes every token fail verification ("unknown kid" or a bad signature).',
  severity: 'critical',
  remediation: {
    default:
      'Restore private_key.pem and jwks.json together from the same snapshot, or delete jwks.json so Barycenter regenerates it from the key at the next start, then restart.',
  },
  async run(ctx) {
    const files = await readKeyFiles(ctx);
    if ('status' in files) return files;
    const { key, jwks } = files;
    const match = matchKeyToJwks(key, jwks);
    const evidence: Evidence[] = [
      {
        source: `file:${ctx.barycenter.privateKeyPath} (public part)`,
        observed: { kid: key.kid, thumbprint: key.thumbprint },
      },
      {
        source: `file:${ctx.barycenter.jwksPath}`,
        observed: jwks.keys.map((k) => ({ kid: k.kid, thumbprint: k.thumbprint })),
        expected: [{ kid: key.kid, thumbprint: key.thumbprint }],
      },
    ];
    const served = await servedJwks(ctx);
    let servedProblem: string | null = null;
    if (served && !served.error && served.status === 200) {
      try {
        const s = await parseJwks(JSON.stringify(served.json), served.url);
        const tps = s.keys.map((k) => k.thumbprint);
        evidence.push({
          source: `GET ${served.url}`,
          observed: s.keys.map((k) => ({ kid: k.kid, thumbprint: k.thumbprint })),
        });
        if (!tps.includes(key.thumbprint))
          servedProblem =
            'the JWKS served at the public URL does not contain the signing key (stale process or another instance behind the proxy)';
      } catch (e) {
        servedProblem = `the served JWKS is not a JWK Set: ${errorText(e)}`;
      }
    } else if (served) {
      evidence.push({
        source: `GET ${served.url}`,
        observed: served.error ?? `HTTP ${served.status}`,
        note: 'served JWKS not compared',
      });
    }
    const problems = [...match.problems, ...(servedProblem ? [servedProblem] : [])];
    if (problems.length)
      return {
        status: 'fail',
        summary: problems[0]!,
        evidence: [...evidence, { source: 'comparison', observed: problems }],
      };
    return {
      status: 'pass',
      summary: `jwks.json publishes exactly the signing key (kid ${key.kid}, thumbprint ${key.thumbprint})`,
      evidence,
    };
  },
};

const keyStrength: CheckDefinition = {
  id: 'security.key-strength',
  section: 'security',
  title: 'The signing key is RSA of at least 2048 bits; the served JWKS carries no private members',
  rationale:
    'RS256 with less than 2048 bits is below current guidance (NIST SP 800-57); a JWKS carrying d, p, q… publishes the private key to the world.',
  severity: 'critical',
  remediation: {
    default:
      'Replace jwks.json with the public part only (delete it and restart to regenerate it) and, if private members were ever served, rotate the key: every relying party must re-fetch the JWKS.',
  },
  async run(ctx) {
    const files = await readKeyFiles(ctx);
    if ('status' in files) return files;
    const { key, jwks } = files;
    const problems: string[] = [];
    const unknowns: string[] = [];
    const evidence: Evidence[] = [
      {
        source: `file:${ctx.barycenter.privateKeyPath}`,
        observed: { kty: key.kty, modulus_bits: key.modulusBits, alg: key.alg },
        expected: { kty: 'RSA', modulus_bits: '>= 2048' },
      },
    ];
    if (key.kty !== 'RSA' || (key.modulusBits ?? 0) < 2048)
      problems.push(`the signing key is ${key.kty} ${key.modulusBits ?? '?'} bits`);
    const filePrivate = jwks.keys.flatMap((k) => k.privateMembers);
    evidence.push({
      source: `file:${ctx.barycenter.jwksPath}`,
      observed: { private_members: filePrivate },
      expected: { private_members: [] },
    });
    if (filePrivate.length) problems.push(`jwks.json holds private members (${[...new Set(filePrivate)].join(', ')})`);
    const served = await servedJwks(ctx);
    if (!served) unknowns.push('no public URL is known, so the served JWKS could not be fetched');
    else if (served.error || served.status !== 200)
      unknowns.push(`the served JWKS could not be fetched (${served.error ?? `HTTP ${served.status}`})`);
    else {
      try {
        const s = await parseJwks(JSON.stringify(served.json), served.url);
        const leaked = s.keys.flatMap((k) => k.privateMembers);
        const weak = s.keys.filter((k) => k.kty === 'RSA' && (k.modulusBits ?? 0) < 2048);
        evidence.push({
          source: `GET ${served.url}`,
          observed: {
            keys: s.keys.map((k) => ({ kid: k.kid, kty: k.kty, modulus_bits: k.modulusBits })),
            private_members: leaked,
          },
          expected: { private_members: [] },
        });
        if (leaked.length)
          problems.push(`the served JWKS publishes private members (${[...new Set(leaked)].join(', ')})`);
        if (weak.length)
          problems.push(`the served JWKS publishes RSA keys under 2048 bits (${weak.map((k) => k.kid).join(', ')})`);
      } catch (e) {
        unknowns.push(`the served JWKS is not a JWK Set: ${errorText(e)}`);
      }
    }
    if (problems.length) return { status: 'fail', summary: problems.join('; '), evidence };
    if (unknowns.length)
      return {
        status: 'error',
        summary: `the key file is RSA ${key.modulusBits} bits, but ${unknowns.join('; ')}`,
        evidence,
      };
    return {
      status: 'pass',
      summary: `RSA ${key.modulusBits} bits; neither jwks.json nor the served JWKS carries private members`,
      evidence,
    };
  },
};

// --- security.secrets-in-config -------------------------------------------------------------

function idNames(file: string): Map<number, string> {
  const m = new Map<number, string>();
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id !== undefined && /^\d+$/.test(id)) m.set(Number(id), name);
    }
  } catch {
    /* no such database: numeric ids are shown instead */
  }
  return m;
}

/** Who besides the service can read a file: world, a foreign group, or a foreign owner. */
export function readableBeyondService(
  file: string,
  serviceUser: string,
  serviceGroup: string,
): { beyond: string[]; mode: string; owner: string; group: string } {
  const st = statSync(file);
  const owner = idNames('/etc/passwd').get(st.uid) ?? String(st.uid);
  const group = idNames('/etc/group').get(st.gid) ?? String(st.gid);
  const beyond: string[] = [];
  if (st.mode & 0o004) beyond.push('every local user (world-readable)');
  if (st.mode & 0o040 && group !== serviceGroup && group !== 'root' && st.gid !== 0) beyond.push(`group ${group}`);
  if (st.mode & 0o400 && owner !== serviceUser && st.uid !== 0) beyond.push(`owner ${owner}`);
  return { beyond, mode: (st.mode & 0o777).toString(8).padStart(4, '0'), owner, group };
}

interface InlineSecret {
  setting: string;
  where: string;
  /** The file it is written in, when one is known. */
  file?: string;
}

function inlineSecrets(ctx: CheckContext): InlineSecret[] {
  const b = ctx.barycenter;
  const found: InlineSecret[] = [];
  const fileOf = (dotted: string) =>
    b.sources[dotted] === 'file' ? b.configPath : b.sources[dotted] === 'env_file' ? b.envFile : undefined;
  if (b.database.engine === 'postgres') {
    try {
      if (new URL(b.database.url).password)
        found.push({
          setting: 'database.url (password)',
          where: settingSource(ctx, 'database.url'),
          file: fileOf('database.url'),
        });
    } catch {
      /* an unparsable URL is the database check's business */
    }
  }
  if (b.settings.webfinger.service_token)
    found.push({
      setting: 'webfinger.service_token',
      where: settingSource(ctx, 'webfinger.service_token'),
      file: fileOf('webfinger.service_token'),
    });
  // A systemd Environment= line is readable by every user (unit files are 0644, `systemctl show`).
  const unit = ctx.config.checks.systemd_unit;
  if (unit) {
    try {
      for (const line of readFileSync(unit, 'utf8').split('\n')) {
        if (!/^\s*Environment\s*=/.test(line)) continue;
        if (/BARYCENTER__DATABASE__URL=\S*:\/\/[^\s:@/]*:[^\s@]+@/.test(line))
          found.push({
            setting: 'BARYCENTER__DATABASE__URL (password)',
            where: `systemd unit ${unit} Environment=`,
            file: unit,
          });
        if (/BARYCENTER__WEBFINGER__SERVICE_TOKEN=\S/.test(line))
          found.push({
            setting: 'BARYCENTER__WEBFINGER__SERVICE_TOKEN',
            where: `systemd unit ${unit} Environment=`,
            file: unit,
          });
      }
    } catch {
      /* the unit is the process checks' evidence; unreadable here means nothing to scan */
    }
  }
  return found;
}

const secretsInConfig: CheckDefinition = {
  id: 'security.secrets-in-config',
  section: 'security',
  title: 'No DB password or webfinger token inline in a config readable beyond the service',
  rationale:
    'The PostgreSQL password and the webfinger bearer token give access beyond the IdP; in a world- or group-readable config, env file or unit file every local user holds them.',
  severity: 'high',
  remediation: {
    default:
      'Move the secret out of the file: webfinger.service_token_file for the token; for the DB password a root-owned 0600 env file or a PGPASSFILE; otherwise chmod 640 root:<service group>.',
    systemd:
      'Move secrets from Environment= to EnvironmentFile=/etc/barycenter/secrets.env (root:root 0600) or LoadCredential=, and use webfinger.service_token_file.',
    kubernetes:
      'Take the DB URL and webfinger token from a Secret (env valueFrom.secretKeyRef / a mounted secret file) instead of the ConfigMap or plain env values.',
    docker:
      'Pass the secrets with Docker secrets or an env file readable only by root, not inline in the compose file or config.toml.',
  },
  async run(ctx) {
    const secrets = inlineSecrets(ctx);
    const serviceUser = ctx.config.barycenter.service_user ?? 'barycenter';
    const serviceGroup = ctx.config.barycenter.service_group ?? serviceUser;
    if (secrets.length === 0) {
      return {
        status: 'pass',
        summary: 'no inline DB password or webfinger token in the effective config',
        evidence: [
          { source: settingSource(ctx, 'database.url'), observed: redactUrl(ctx.barycenter.settings.database.url) },
          {
            source: settingSource(ctx, 'webfinger.service_token'),
            observed: ctx.barycenter.settings.webfinger.service_token ? 'set' : 'empty',
          },
        ],
      };
    }
    const evidence: Evidence[] = [];
    const exposed: string[] = [];
    const unknown: string[] = [];
    for (const s of secrets) {
      if (!s.file) {
        unknown.push(s.setting);
        evidence.push({
          source: s.where,
          observed: 'inline secret (value not shown)',
          note: 'set in the environment barysafe runs with; its file could not be located',
        });
        continue;
      }
      try {
        const r = readableBeyondService(s.file, serviceUser, serviceGroup);
        evidence.push({
          source: `file:${s.file} (${s.setting}; value not shown)`,
          observed: { mode: r.mode, owner: r.owner, group: r.group, readable_by: r.beyond },
          expected: `readable only by root and ${serviceUser}/${serviceGroup}`,
        });
        if (r.beyond.length) exposed.push(`${s.setting} in ${s.file} is readable by ${r.beyond.join(', ')}`);
      } catch (e) {
        unknown.push(s.setting);
        evidence.push({ source: `file:${s.file}`, note: `cannot stat: ${errorText(e)}` });
      }
    }
    if (exposed.length) return { status: 'fail', summary: exposed.join('; '), evidence };
    if (unknown.length)
      return {
        status: 'warn',
        summary: `inline secret(s) ${unknown.join(', ')} whose file could not be checked`,
        evidence,
      };
    return {
      status: 'pass',
      summary: `inline secret(s) present (${secrets.map((s) => s.setting).join(', ')}) but only root and the service can read them; prefer a secret file`,
      evidence,
    };
  },
};

export const checks: CheckDefinition[] = [
  defaultAdminPassword,
  jwksMatchesKey,
  keyStrength,
  demoUsers,
  secretsInConfig,
];
