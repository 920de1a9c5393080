import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { CheckContext, Lookup } from '../types.js';
import { parseInspect, type DockerContainer } from '../../config/docker-inspect.js';
import { readComposeService } from './compose.js';

const run = promisify(execFile);

// The inspect document's shape and parser live in config/ (backups read the container's env and image too).
export { containerEnv, parseInspect, type DockerContainer } from '../../config/docker-inspect.js';

/**
 * Source of the container: checks.docker_inspect (a saved file), else checks.compose_file (the
 * service as it would run), else the live engine for the container named `barycenter` (the
 * container_name in Barycenter's docker-compose.yml).
 */
export const DEFAULT_CONTAINER_NAME = 'barycenter';

export async function loadDocker(ctx: CheckContext): Promise<Lookup<DockerContainer>> {
  return ctx.memo('docker-inspect', async () => {
    const file = ctx.config.checks.docker_inspect;
    if (file) {
      try {
        return {
          ok: true,
          value: parseInspect(await readFile(file, 'utf8'), file),
          source: `docker inspect file ${file}`,
        };
      } catch (e) {
        return { ok: false, reason: `cannot read docker inspect file ${file}: ${(e as Error).message}` };
      }
    }
    const compose = ctx.config.checks.compose_file;
    if (compose) {
      const service = ctx.config.checks.compose_service ?? DEFAULT_CONTAINER_NAME;
      try {
        return {
          ok: true,
          value: await readComposeService(compose, service),
          source: `compose file ${compose} (service ${service})`,
        };
      } catch (e) {
        return { ok: false, reason: `cannot read compose file ${compose}: ${(e as Error).message}` };
      }
    }
    try {
      const { stdout } = await run('docker', ['inspect', DEFAULT_CONTAINER_NAME], { timeout: 10_000 });
      return {
        ok: true,
        value: parseInspect(stdout, 'docker inspect'),
        source: `docker inspect ${DEFAULT_CONTAINER_NAME} (live)`,
      };
    } catch (e) {
      const msg = ((e as { stderr?: string }).stderr || (e as Error).message).trim().split('\n')[0];
      return {
        ok: false,
        reason: `checks.docker_inspect is not set and live \`docker inspect ${DEFAULT_CONTAINER_NAME}\` failed: ${msg}`,
      };
    }
  });
}

/** Host bindings of a container port, from NetworkSettings.Ports (live) or HostConfig.PortBindings (requested). */
export function publishedBindings(
  c: DockerContainer,
  port: number,
): { hostIp: string; hostPort: string; field: string }[] {
  const key = `${port}/tcp`;
  const live = c.NetworkSettings?.Ports?.[key];
  if (live)
    return live.map((b) => ({
      hostIp: b.HostIp || '0.0.0.0',
      hostPort: b.HostPort ?? '',
      field: `NetworkSettings.Ports["${key}"]`,
    }));
  const wanted = c.HostConfig?.PortBindings?.[key];
  return (wanted ?? []).map((b) => ({
    hostIp: b.HostIp || '0.0.0.0',
    hostPort: b.HostPort ?? '',
    field: `HostConfig.PortBindings["${key}"]`,
  }));
}

/** The container mount holding a path (longest Destination prefix), or a tmpfs from HostConfig.Tmpfs. */
export function dockerMountOf(
  c: DockerContainer,
  p: string,
): { type: string; destination: string; name?: string; rw?: boolean } | undefined {
  const inside = (dest: string) => p === dest || p.startsWith(dest.endsWith('/') ? dest : dest + '/');
  let best: { type: string; destination: string; name?: string; rw?: boolean } | undefined;
  for (const m of c.Mounts ?? []) {
    if (inside(m.Destination) && (!best || m.Destination.length > best.destination.length)) {
      best = { type: m.Type ?? 'unknown', destination: m.Destination, name: m.Name ?? m.Source, rw: m.RW };
    }
  }
  for (const dest of Object.keys(c.HostConfig?.Tmpfs ?? {})) {
    if (inside(dest) && (!best || dest.length > best.destination.length)) best = { type: 'tmpfs', destination: dest };
  }
  return best;
}
