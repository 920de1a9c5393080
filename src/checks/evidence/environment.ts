import { readEnvFile } from '../../config/barycenter.js';
import type { CheckContext } from '../types.js';
import { containerEnv, loadDocker } from './docker.js';
import { loadKubernetes } from './kubernetes.js';
import { findProcess, processEnviron } from './process.js';
import { loadUnit, unitEnvironment } from './systemd.js';

/**
 * Every place the service's environment is defined or visible: the live process (what it really
 * got), the unit's Environment=/EnvironmentFile=, barycenter.env_file, docker Config.Env, the
 * Kubernetes container env (plus envFrom ConfigMaps found in the manifests). Values stay here;
 * checks copy into evidence only the variable they judge.
 */
export interface EnvSource {
  source: string;
  vars: Record<string, string>;
  notes: string[];
}

export interface EnvSources {
  sources: EnvSource[];
  unavailable: string[];
}

export const usesDocker = (ctx: CheckContext) =>
  ctx.deployment === 'docker' ||
  ctx.config.checks.docker_inspect !== undefined ||
  ctx.config.checks.compose_file !== undefined;
export const usesKubernetes = (ctx: CheckContext) =>
  ctx.deployment === 'kubernetes' || ctx.config.checks.kubernetes_manifests.length > 0;
export const usesUnit = (ctx: CheckContext) =>
  ctx.deployment === 'systemd' || ctx.config.checks.systemd_unit !== undefined;

export async function serviceEnvironments(ctx: CheckContext): Promise<EnvSources> {
  return ctx.memo('service-environments', async () => {
    const sources: EnvSource[] = [];
    const unavailable: string[] = [];

    if (ctx.deployment !== 'kubernetes') {
      const p = await findProcess(ctx);
      if (p.ok) {
        const env = await processEnviron(ctx, p.value.pid);
        if (!env.ok) unavailable.push(env.reason);
        else
          sources.push({
            source: `proc:${p.value.pid}/environ (found by ${p.value.foundBy})`,
            vars: env.value,
            notes: [],
          });
      } else unavailable.push(`live process: ${p.reason}`);
    }

    if (usesUnit(ctx)) {
      const u = await loadUnit(ctx);
      if (u.ok) {
        const env = await unitEnvironment(u.value);
        sources.push({
          source: `systemd unit ${u.value.files.join(' + ')} (Environment=, EnvironmentFile=)`,
          vars: env.vars,
          notes: env.unreadable.map((f) => `EnvironmentFile ${f} unreadable`),
        });
      } else unavailable.push(`systemd unit: ${u.reason}`);
    }

    const envFile = ctx.config.barycenter.env_file;
    if (envFile) {
      try {
        sources.push({ source: `env_file ${envFile}`, vars: readEnvFile(envFile), notes: [] });
      } catch (e) {
        unavailable.push(`env_file: ${(e as Error).message}`);
      }
    }

    if (usesDocker(ctx)) {
      const d = await loadDocker(ctx);
      if (d.ok) sources.push({ source: `${d.source} (Config.Env)`, vars: containerEnv(d.value), notes: [] });
      else unavailable.push(`docker: ${d.reason}`);
    }

    if (usesKubernetes(ctx)) {
      const k = await loadKubernetes(ctx);
      if (k.ok) {
        const w = k.value.workload;
        const vars: Record<string, string> = {};
        const notes: string[] = [];
        for (const ref of w.container.envFrom ?? []) {
          const name = ref.configMapRef?.name ?? ref.secretRef?.name;
          const cm =
            ref.configMapRef && k.value.objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === name);
          if (cm) Object.assign(vars, (cm as { data?: Record<string, string> }).data ?? {});
          else
            notes.push(
              `envFrom ${ref.secretRef ? 'Secret' : 'ConfigMap'} ${name} not in the manifests: its variables are unknown`,
            );
        }
        for (const e of w.container.env ?? []) vars[e.name] = e.value ?? (e.valueFrom ? '(valueFrom)' : '');
        sources.push({ source: `${w.ref} container ${w.container.name} (env, envFrom)`, vars, notes });
      } else unavailable.push(`kubernetes: ${k.reason}`);
    }
    return { sources, unavailable };
  });
}
