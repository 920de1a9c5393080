import { errorText } from '../../errors.js';
import { redactUrl } from '../../redact.js';
import type { CheckContext, CheckDefinition, Evidence } from '../types.js';
import { readableBeyondService } from '../evidence/filesystem.js';
import { settingSource } from '../evidence/settings.js';
import { environmentFileOf, loadUnit, unitEnvironment } from '../evidence/systemd.js';

/** security.secrets-in-config: secrets written inline where more than the service can read them. */

interface InlineSecret {
  setting: string;
  where: string;
  /** The file it is written in, when one is known. */
  file?: string;
}

/** The Barycenter variables that carry a secret, and whether a value holds one. */
const SECRET_VARS: Array<{ name: string; setting: string; holdsSecret: (v: string) => boolean }> = [
  { name: 'BARYCENTER__DATABASE__URL', setting: 'BARYCENTER__DATABASE__URL (password)', holdsSecret: hasPassword },
  {
    name: 'BARYCENTER__WEBFINGER__SERVICE_TOKEN',
    setting: 'BARYCENTER__WEBFINGER__SERVICE_TOKEN',
    holdsSecret: Boolean,
  },
];

function hasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return false; // an unparsable URL is the database check's business
  }
}

/**
 * Secrets the unit gives the service: Environment= in the unit or any drop-in (readable by every
 * user: unit files are 0644, and `systemctl show` prints them), and EnvironmentFile= files.
 */
async function unitSecrets(ctx: CheckContext): Promise<InlineSecret[]> {
  const u = await loadUnit(ctx);
  if (!u.ok) return []; // the unit is the process checks' evidence; unreadable here means nothing to scan
  const env = await unitEnvironment(u.value);
  const found: InlineSecret[] = [];
  for (const v of SECRET_VARS) {
    const value = env.vars[v.name];
    if (value === undefined || !v.holdsSecret(value)) continue;
    const origin = env.origin[v.name] ?? '';
    const envFile = /^EnvironmentFile=(.*)$/.exec(origin)?.[1];
    const file = envFile ?? (await environmentFileOf(u.value, v.name, value));
    const where = envFile
      ? `EnvironmentFile=${envFile} of ${u.source}`
      : `systemd unit ${file ?? u.source} Environment=`;
    found.push({ setting: v.setting, where, file });
  }
  return found;
}

async function inlineSecrets(ctx: CheckContext): Promise<InlineSecret[]> {
  const b = ctx.barycenter;
  const found: InlineSecret[] = [];
  const fileOf = (dotted: string) =>
    b.sources[dotted] === 'file' ? b.configPath : b.sources[dotted] === 'env_file' ? b.envFile : undefined;
  if (b.database.engine === 'postgres' && hasPassword(b.database.url))
    found.push({
      setting: 'database.url (password)',
      where: settingSource(ctx, 'database.url'),
      file: fileOf('database.url'),
    });
  if (b.settings.webfinger.service_token)
    found.push({
      setting: 'webfinger.service_token',
      where: settingSource(ctx, 'webfinger.service_token'),
      file: fileOf('webfinger.service_token'),
    });
  return [...found, ...(await unitSecrets(ctx))];
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
    const secrets = await inlineSecrets(ctx);
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
        const r = await readableBeyondService(s.file, serviceUser, serviceGroup);
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

export const checks: CheckDefinition[] = [secretsInConfig];
