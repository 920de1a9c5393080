import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { productionIdentity, type IdentityLookup } from '../barycenter/identity.js';
import { resolveDeployment, type EffectiveBarycenter } from '../config/barycenter.js';
import type { BarysafeConfig } from '../config/schema.js';

/**
 * What a backup knows about the deployment before it copies anything: Barycenter's effective
 * settings including the deployment's own environment (unit, container, pod), the build production
 * runs, and what the deployment's definition says that barysafe.toml does not.
 */
export interface DeploymentView {
  bc: EffectiveBarycenter;
  build: IdentityLookup;
  warnings: string[];
}

export async function readDeployment(config: BarysafeConfig): Promise<DeploymentView> {
  const warnings: string[] = [];
  const { bc, serviceError } = await resolveDeployment(config);
  if (serviceError)
    warnings.push(
      `the deployment's own definition could not be read (${serviceError}); its environment is not part of the settings`,
    );
  warnings.push(...bc.serviceMismatches, ...(bc.service?.notes ?? []));
  for (const why of Object.values(bc.unknown)) warnings.push(`${why}: barysafe cannot read that value`);
  return { bc, build: await productionIdentity(bc.service, config.checks.pid_file), warnings };
}

/**
 * The BARYCENTER* and RUST_LOG variables the deployment's own definition sets, as an env file:
 * the drill needs them to see production's settings, and they are not in any file barysafe
 * backs up. Undefined when there are none.
 */
export function serviceEnvFile(bc: EffectiveBarycenter): string | undefined {
  const lines: string[] = [];
  for (const layer of bc.service?.env ?? [])
    for (const [k, v] of Object.entries(layer.vars))
      if (/^BARYCENTER/i.test(k) || k === 'RUST_LOG') lines.push(`${k}=${JSON.stringify(v)}`);
  return lines.length ? lines.join('\n') + '\n' : undefined;
}

/**
 * Files Barycenter's start-up needs that the settings name, backed up whether or not
 * barycenter.extra_files lists them: the authz policies (a missing directory is fatal when authz
 * is on), the webfinger service token file, and the onboarding admin token file (fatal when
 * unreadable on builds that read it).
 */
export async function filesTheSettingsName(bc: EffectiveBarycenter): Promise<Array<{ file: string; why: string }>> {
  const s = bc.settings;
  const out: Array<{ file: string; why: string }> = [];
  if (s.authz.enabled) {
    const dir = path.resolve(bc.workdir, s.authz.policies_dir);
    try {
      // Barycenter loads the *.kdl files of the directory itself, not of subdirectories.
      for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name)))
        if (e.isFile() && e.name.endsWith('.kdl'))
          out.push({ file: path.join(dir, e.name), why: 'authz.policies_dir' });
    } catch {
      /* a missing directory is reported by the drill's config step; nothing to copy */
    }
  }
  if (s.webfinger.service_token_file)
    out.push({
      file: path.resolve(bc.workdir, s.webfinger.service_token_file),
      why: 'webfinger.service_token_file',
    });
  const onboarding = bc.serviceEnv.BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE;
  if (onboarding)
    out.push({ file: path.resolve(bc.workdir, onboarding), why: 'BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE' });
  return out;
}
