import { readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { resolveBarycenter, type EffectiveBarycenter } from '../config/barycenter.js';
import type { ServiceDefinition } from '../config/service.js';
import type { RestoredFiles } from './context.js';

/** The BARYCENTER* environment production ran with: the deployment's own (service.env), then its env file. */
export function restoredServiceEnv(restored: RestoredFiles): Record<string, string> {
  return {
    ...(restored.serviceEnvPath ? parseDotenv(readFileSync(restored.serviceEnvPath)) : {}),
    ...(restored.envPath ? parseDotenv(readFileSync(restored.envPath)) : {}),
  };
}

/**
 * Production's effective settings as the snapshot holds them — the restored config file, the
 * deployment's environment and the env file — resolved as Barycenter resolves them, with none of
 * the drill's overrides and nothing of barysafe's own environment. Relative paths resolve against
 * the scratch directory, where the restored files are. Throws what resolveBarycenter throws.
 */
export function restoredSettings(restored: RestoredFiles): EffectiveBarycenter {
  const { layout, envPath, serviceEnvPath } = restored;
  const service: ServiceDefinition | undefined = serviceEnvPath
    ? {
        kind: 'systemd',
        source: "the snapshot's service.env",
        env: [{ source: "the snapshot's service.env", vars: parseDotenv(readFileSync(serviceEnvPath)), unknown: {} }],
        argvHasBinary: false,
        notes: [],
      }
    : undefined;
  return resolveBarycenter(
    {
      config: restored.configRestored ? layout.configPath : `${layout.dir}/no-config-in-snapshot.toml`,
      workdir: layout.dir,
      ...(envPath ? { env_file: envPath } : {}),
      extra_files: [],
    },
    {},
    service,
  );
}
