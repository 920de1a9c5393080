import { readFileSync, statSync } from 'node:fs';
import { errorText } from '../../errors.js';
import { redactUrl } from '../../redact.js';
import type { CheckContext, CheckDefinition, Evidence } from '../types.js';
import { settingSource } from '../evidence/settings.js';

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

export const checks: CheckDefinition[] = [secretsInConfig];
