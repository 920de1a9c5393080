import { existsSync } from 'node:fs';
import { tomlErrorText } from './toml-error.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import { configSchema, type BarysafeConfig } from './schema.js';

export interface LoadedConfig {
  path: string;
  config: BarysafeConfig;
}

/** Where `barysafe init` puts the config by default, and the last place barysafe looks. */
export const SYSTEM_CONFIG = '/etc/barysafe/barysafe.toml';

/**
 * --config FILE, then $BARYSAFE_CONFIG, then ./barysafe.toml, then /etc/barysafe/barysafe.toml.
 * The last two are searched: the first that exists wins (./barysafe.toml when neither does, so the
 * error names the place a user looks first).
 */
export function configPathFrom(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  exists: (p: string) => boolean = existsSync,
): string {
  const explicit = flag ?? env.BARYSAFE_CONFIG;
  if (explicit) return path.resolve(explicit);
  const local = path.resolve('barysafe.toml');
  return exists(local) || !exists(SYSTEM_CONFIG) ? local : SYSTEM_CONFIG;
}

export async function loadConfig(file: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BarysafeError(
      'config',
      `cannot read barysafe config ${file}: ${code === 'ENOENT' ? 'no such file' : errorText(e)}`,
      {
        exitCode: ExitCode.USAGE,
        hint: `pass --config FILE, set BARYSAFE_CONFIG, or create one with \`barysafe init\` (searched: ./barysafe.toml, ${SYSTEM_CONFIG})`,
      },
    );
  }
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (e) {
    throw new BarysafeError('config', `${file} is not valid TOML at ${tomlErrorText(e)}`, {
      exitCode: ExitCode.USAGE,
    });
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new BarysafeError('config', `${file} has invalid settings:\n${lines.join('\n')}`, {
      exitCode: ExitCode.USAGE,
    });
  }
  return { path: file, config: resolveRelativePaths(parsed.data, path.dirname(file)) };
}

/** Paths in barysafe.toml are relative to the file itself, so a config works from any cwd. */
function resolveRelativePaths(c: BarysafeConfig, base: string): BarysafeConfig {
  const abs = (p: string | undefined) => (p === undefined ? undefined : path.resolve(base, p));
  const fileUrl =
    c.repository.url.startsWith('file://') && !c.repository.url.startsWith('file:///')
      ? 'file://' + path.resolve(base, c.repository.url.slice('file://'.length))
      : c.repository.url;
  return {
    ...c,
    barycenter: {
      ...c.barycenter,
      config: abs(c.barycenter.config)!,
      workdir: abs(c.barycenter.workdir)!,
      env_file: abs(c.barycenter.env_file),
      extra_files: c.barycenter.extra_files.map((f) => abs(f)!),
    },
    repository: { ...c.repository, url: fileUrl },
    encryption: {
      ...c.encryption,
      identity_file: abs(c.encryption.identity_file),
      signing_key_file: abs(c.encryption.signing_key_file),
      verify_key: abs(c.encryption.verify_key),
    },
    backup: { ...c.backup, temp_dir: abs(c.backup.temp_dir), pg_bin_dir: abs(c.backup.pg_bin_dir) },
    drill: { ...c.drill, barycenter_bin: abs(c.drill.barycenter_bin), pg_bin_dir: abs(c.drill.pg_bin_dir) },
    state: { ...c.state, dir: abs(c.state.dir)! },
    agent: { ...c.agent, textfile_dir: abs(c.agent.textfile_dir) },
    notify: {
      ...c.notify,
      webhook_secret_file: abs(c.notify.webhook_secret_file),
      smtp_password_file: abs(c.notify.smtp_password_file),
    },
    checks: {
      ...c.checks,
      pid_file: abs(c.checks.pid_file),
      docker_inspect: abs(c.checks.docker_inspect),
      compose_file: abs(c.checks.compose_file),
      kubernetes_manifests: c.checks.kubernetes_manifests.map((f) => abs(f)!),
    },
  };
}
