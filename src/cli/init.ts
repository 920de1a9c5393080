import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { writeFileReplacing } from '../platform/safe-fs.js';
import path from 'node:path';
import type { Command } from 'commander';
import { stringify as toToml } from 'smol-toml';
import { BarysafeError, ExitCode } from '../errors.js';
import { newIdentity } from '../crypto/age.js';
import { generateSigningKey, keyIdOf } from '../crypto/signing.js';
import { createPublicKey } from 'node:crypto';
import { action, globals, printJson } from './common.js';

export interface InitOptions {
  dir: string;
  barycenterConfig: string;
  workdir: string;
  envFile?: string;
  repository: string;
  force?: boolean;
}

/**
 * Writes barysafe.toml, an age identity (+ its recipient) and an Ed25519 manifest signing key,
 * all 0600. The identity is only needed to restore: move it off the backup host afterwards and
 * keep only the recipient there.
 */
export async function initConfig(
  o: InitOptions,
): Promise<{ configPath: string; recipient: string; signingKeyId: string; files: string[] }> {
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
    },
    repository: { url: o.repository },
    encryption: {
      recipients: [recipient],
      identity_file: files.identity,
      signing_key_file: files.signing,
      verify_key: files.verify,
    },
  };
  const header = `# barysafe configuration (written by \`barysafe init\`). Reference: docs/CONFIGURATION.md\n# Manifest signing key: ${keyId}\n\n`;
  // New files renamed over the old ones: a kept file is never written through (a symlink, another
  // owner's file) and ends up 0600 whatever mode it had.
  await writeFileReplacing(
    files.identity,
    `# created: ${new Date().toISOString()}\n# public key: ${recipient}\n${identity}\n`,
    0o600,
  );
  await writeFileReplacing(files.signing, signing.privatePem, 0o600);
  await writeFileReplacing(files.verify, signing.publicPem, 0o600);
  await writeFileReplacing(files.config, header + toToml(toml) + '\n', 0o600);
  return { configPath: files.config, recipient, signingKeyId: keyId, files: Object.values(files) };
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write barysafe.toml, an age identity and recipient, and an Ed25519 manifest signing key (all 0600)')
    .requiredOption('--dir <dir>', 'directory for barysafe.toml and the keys (e.g. /etc/barysafe)')
    .option('--barycenter-config <file>', "Barycenter's config file", '/etc/barycenter/config.toml')
    .option('--workdir <dir>', "Barycenter's working directory", '/var/lib/barycenter')
    .option('--env-file <file>', 'the KEY=VALUE file the service runs with')
    .option('--repository <url>', 'file:///dir or s3://bucket/prefix', 'file:///var/backups/barysafe')
    .option('--force', 'replace existing files')
    .action(
      action(async (opts: InitOptions, cmd: Command) => {
        const g = globals(cmd);
        const r = await initConfig(opts);
        if (g.json)
          printJson({
            ok: true,
            config: r.configPath,
            recipient: r.recipient,
            signing_key_id: r.signingKeyId,
            files: r.files,
          });
        else
          process.stdout.write(
            `wrote ${r.files.join(', ')}\n` +
              `age recipient: ${r.recipient}\n` +
              `manifest signing key: ${r.signingKeyId}\n` +
              `Keep a copy of identity.txt offline (without it no snapshot can be restored); the backup host needs only the recipient.\n`,
          );
      }),
    );
}
