import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { writeFileReplacing } from '../platform/safe-fs.js';
import path from 'node:path';
import type { Command } from 'commander';
import { stringify as toToml } from 'smol-toml';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import { redactUrl } from '../redact.js';
import { newIdentity } from '../crypto/age.js';
import { generateSigningKey, keyIdOf } from '../crypto/signing.js';
import { createPublicKey } from 'node:crypto';
import { configPathFrom, SYSTEM_CONFIG } from '../config/load.js';
import { discoverHost, type Found, type Missing } from '../config/discover-host.js';
import { openStorage } from '../repository/open-storage.js';
import { canonicalRepositoryUrl } from '../config/repository-url.js';
import { action, globals, printJson } from './common.js';

export interface InitOptions {
  dir: string;
  barycenterConfig: string;
  workdir: string;
  envFile?: string;
  repository: string;
  /** drill.barycenter_bin; without it init writes the launcher choices as comments. */
  barycenterBin?: string;
  /** A binary to suggest among those choices (named by the unit, absent from this host). */
  suggestedBin?: string;
  /** checks.systemd_unit: the unit the service runs from. */
  systemdUnit?: string;
  serviceUser?: string;
  serviceGroup?: string;
  /** Comment lines for the top of barysafe.toml (what was found where). */
  notes?: string[];
  force?: boolean;
}

/** The repository URLs barysafe can open (src/repository/open-storage.ts): a usage error otherwise, before anything is written. */
export function checkRepositoryUrl(url: string): void {
  // The rules every other command applies when it opens the repository, so init writes no URL
  // that backup would then refuse (or read differently).
  try {
    openStorage({ url });
  } catch (e) {
    throw new BarysafeError('usage', errorText(e), {
      exitCode: ExitCode.USAGE,
      hint: '--repository takes file:///absolute/dir or s3://bucket/prefix',
    });
  }
}

/**
 * A commented choice: restore --verify needs one of them, and init found no binary to name (or
 * the one the unit names is not on this host: then it is the first suggestion).
 */
function drillChoices(suggested = '/usr/local/bin/barycenter'): string {
  return `
# How \`restore --verify\` starts a scratch Barycenter (docs/DRILL.md): uncomment [drill] and one of
# [drill]
# barycenter_bin = ${JSON.stringify(suggested)}                     # the binary production runs
# image = "ghcr.io/cloudnebulaproject/barycenter:0.2.0-beta.5"     # a release image, run by Docker
# command = "nix run .#barycenter --"                              # a template; Barycenter's arguments are appended
`;
}

/**
 * Writes barysafe.toml, an age identity (+ its recipient) and an Ed25519 manifest signing key,
 * all 0600. The identity is only needed to restore: move it off the backup host afterwards and
 * keep only the recipient there.
 */
export async function initConfig(
  o: InitOptions,
): Promise<{ configPath: string; recipient: string; signingKeyId: string; files: string[] }> {
  const repositoryUrl = canonicalRepositoryUrl(o.repository);
  checkRepositoryUrl(repositoryUrl);
  const dir = path.resolve(o.dir);
  const files = {
    config: path.join(dir, 'barysafe.toml'),
    identity: path.join(dir, 'identity.txt'),
    signing: path.join(dir, 'signing.pem'),
    verify: path.join(dir, 'signing.pub.pem'),
  };
  const existing = Object.values(files).filter((f) => existsSync(f));
  if (existing.length && !o.force) {
    throw new BarysafeError('init', `refusing to overwrite ${existing.join(', ')}`, {
      exitCode: ExitCode.USAGE,
      hint: 'choose another --dir, or pass --force to replace them (a replaced identity can no longer decrypt older snapshots)',
    });
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { identity, recipient } = await newIdentity();
  const signing = generateSigningKey();
  const keyId = keyIdOf(createPublicKey(signing.publicPem));
  const toml = {
    barycenter: {
      config: path.resolve(o.barycenterConfig),
      workdir: path.resolve(o.workdir),
      ...(o.envFile ? { env_file: path.resolve(o.envFile) } : {}),
      ...(o.serviceUser ? { service_user: o.serviceUser } : {}),
      ...(o.serviceGroup ? { service_group: o.serviceGroup } : {}),
    },
    repository: { url: repositoryUrl },
    encryption: {
      recipients: [recipient],
      identity_file: files.identity,
      signing_key_file: files.signing,
      verify_key: files.verify,
    },
    ...(o.barycenterBin ? { drill: { barycenter_bin: o.barycenterBin } } : {}),
    ...(o.systemdUnit ? { checks: { systemd_unit: o.systemdUnit } } : {}),
  };
  const header =
    `# barysafe configuration (written by \`barysafe init\`). Reference: docs/CONFIGURATION.md\n# Manifest signing key: ${keyId}\n` +
    (o.notes ?? []).map((n) => `# ${n}\n`).join('') +
    '\n';
  const body = header + toToml(toml) + '\n' + (o.barycenterBin ? '' : drillChoices(o.suggestedBin));
  // New files renamed over the old ones: a kept file is never written through (a symlink, another
  // owner's file) and ends up 0600 whatever mode it had.
  await writeFileReplacing(
    files.identity,
    `# created: ${new Date().toISOString()}\n# public key: ${recipient}\n${identity}\n`,
    0o600,
  );
  await writeFileReplacing(files.signing, signing.privatePem, 0o600);
  await writeFileReplacing(files.verify, signing.publicPem, 0o600);
  await writeFileReplacing(files.config, body, 0o600);
  return { configPath: files.config, recipient, signingKeyId: keyId, files: Object.values(files) };
}

interface InitFlags {
  dir?: string;
  root?: string;
  barycenterConfig?: string;
  workdir?: string;
  envFile?: string;
  repository?: string;
  barycenterBin?: string;
  force?: boolean;
}

export interface Setting extends Found {
  setting: string;
}

export interface InitPlan {
  options: InitOptions;
  settings: Setting[];
  missing: Missing[];
  notes: string[];
}

/** Flags first, then what the host says (discover-host.ts), then the defaults, each with where it came from. */
export async function planInit(flags: InitFlags): Promise<InitPlan> {
  const root = path.resolve(flags.root ?? '/');
  const at = (p: string) => (root === '/' ? p : path.join(root, p));
  const host = await discoverHost({ root });
  const flag = (name: string, value: string): Found => ({ value: path.resolve(value), source: `${name} flag` });
  const settings: Setting[] = [];
  const add = (setting: string, f: Found | undefined) => {
    if (f) settings.push({ setting, ...f });
    return f?.value;
  };
  const config = add(
    'barycenter.config',
    flags.barycenterConfig ? flag('--barycenter-config', flags.barycenterConfig) : host.config,
  )!;
  const workdir = add('barycenter.workdir', flags.workdir ? flag('--workdir', flags.workdir) : host.workdir)!;
  const envFile = add('barycenter.env_file', flags.envFile ? flag('--env-file', flags.envFile) : host.envFile);
  const serviceUser = add('barycenter.service_user', host.serviceUser);
  const serviceGroup = add('barycenter.service_group', host.serviceGroup);
  const bin = add(
    'drill.barycenter_bin',
    flags.barycenterBin ? flag('--barycenter-bin', flags.barycenterBin) : host.bin,
  );
  const unit = add('checks.systemd_unit', host.unit ? { value: host.unit, source: 'systemd unit file' } : undefined);
  const repository = flags.repository ?? `file://${at('/var/backups/barysafe')}`;
  settings.push({
    setting: 'repository.url',
    value: redactUrl(repository),
    source: flags.repository ? '--repository flag' : 'default',
  });
  // A flag given for a setting settles it: what discovery could not find there no longer matters.
  const given = new Set(
    [
      flags.barycenterConfig && 'barycenter.config',
      flags.workdir && 'barycenter.workdir',
      flags.envFile && 'barycenter.env_file',
      flags.barycenterBin && 'drill',
    ].filter(Boolean),
  );
  for (const s of settings)
    if (s.source.endsWith(' flag') && s.exists === undefined && s.setting.startsWith('barycenter.'))
      s.exists = existsSync(s.value);
  const missing = host.missing.filter((m) => !given.has(m.setting));
  // A binary the unit names but this host lacks cannot start a drill: offered, not written.
  const absentBin = !flags.barycenterBin && host.bin?.exists === false ? host.bin.value : undefined;
  if (absentBin)
    missing.push({
      setting: 'drill',
      reason: `${absentBin} (${host.bin!.source}) does not exist: set one of drill.barycenter_bin, drill.image or drill.command for restore --verify (offered commented out)`,
    });
  const notes = [...host.notes];
  if (root !== '/')
    notes.push(
      `the paths are written under ${root}; the unit names them as that host sees them, so backup and check report that they differ`,
    );
  for (const s of settings)
    if (s.source.endsWith(' flag') && s.exists === false)
      missing.push({ setting: s.setting, reason: `${s.value} (${s.source}) does not exist` });
  const comments = settings.map((s) => `${s.setting}: ${s.source}${s.exists === false ? ' (not present)' : ''}`);
  return {
    options: {
      dir: flags.dir ?? at(path.dirname(SYSTEM_CONFIG)),
      barycenterConfig: config,
      workdir,
      ...(envFile ? { envFile } : {}),
      repository,
      ...(bin && !absentBin ? { barycenterBin: bin } : {}),
      ...(absentBin ? { suggestedBin: absentBin } : {}),
      ...(unit ? { systemdUnit: unit } : {}),
      ...(serviceUser ? { serviceUser } : {}),
      ...(serviceGroup ? { serviceGroup } : {}),
      notes: comments,
      ...(flags.force ? { force: true } : {}),
    },
    settings,
    missing,
    notes,
  };
}

const shellWord = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The command that uses this config: without --config when barysafe's own search finds it. */
export function nextCommand(configPath: string, env: NodeJS.ProcessEnv = process.env): string {
  return configPathFrom(undefined, env) === configPath
    ? 'barysafe backup'
    : `barysafe --config ${shellWord(configPath)} backup`;
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description(
      'find Barycenter on this host (systemd unit, running process) and write barysafe.toml, an age identity and recipient, and an Ed25519 manifest signing key (all 0600)',
    )
    .option('--dir <dir>', 'directory for barysafe.toml and the keys', '/etc/barysafe')
    .option(
      '--barycenter-config <file>',
      "Barycenter's config file (default: found on the host, else /etc/barycenter/config.toml)",
    )
    .option('--workdir <dir>', "Barycenter's working directory (default: found, else /var/lib/barycenter)")
    .option('--env-file <file>', "the KEY=VALUE file the service runs with (default: the unit's EnvironmentFile=)")
    .option('--repository <url>', 'file:///dir or s3://bucket/prefix (default: file:///var/backups/barysafe)')
    .option('--barycenter-bin <file>', "Barycenter's binary, for drills (default: the unit's ExecStart=)")
    .option(
      '--root <dir>',
      'read the host from DIR instead of / (a copy or mount of the IdP host): the unit and the defaults are looked up, and written, under DIR',
    )
    .option('--force', 'replace existing files')
    .action(
      action(async (opts: InitFlags, cmd: Command) => {
        const g = globals(cmd);
        // --dir's default is under --root too; commander cannot tell a typed default apart otherwise.
        const dirGiven = cmd.getOptionValueSource('dir') === 'cli';
        const plan = await planInit({ ...opts, ...(dirGiven ? {} : { dir: undefined }) });
        const r = await initConfig(plan.options);
        const next = nextCommand(r.configPath);
        if (g.json) {
          printJson({
            ok: true,
            config: r.configPath,
            recipient: r.recipient,
            signing_key_id: r.signingKeyId,
            files: r.files,
            found: plan.settings,
            missing: plan.missing,
            notes: plan.notes,
            next_command: next,
          });
          return;
        }
        const width = Math.max(...plan.settings.map((s) => s.setting.length));
        const lines = [
          `wrote ${r.files.join(', ')}`,
          `age recipient: ${r.recipient}`,
          `manifest signing key: ${r.signingKeyId}`,
          '',
          'Settings:',
          ...plan.settings.map(
            (s) =>
              `  ${s.setting.padEnd(width)}  ${s.value}  (${s.source}${s.exists === false ? '; not present on this host' : ''})`,
          ),
        ];
        if (plan.missing.length)
          lines.push('', 'Not found (fill in):', ...plan.missing.map((m) => `  ${m.setting}: ${m.reason}`));
        if (plan.notes.length) lines.push('', 'Notes:', ...plan.notes.map((n) => `  ${n}`));
        lines.push(
          '',
          'Keep a copy of identity.txt offline (without it no snapshot can be restored); the backup host needs only the recipient.',
          `Next: ${next}`,
        );
        process.stdout.write(lines.join('\n') + '\n');
      }),
    );
}
