import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { CheckContext, Lookup } from '../types.js';

const run = promisify(execFile);

/**
 * One container as `docker inspect <c>` prints it (a JSON array; the first element is used).
 * Source: checks.docker_inspect (a saved file), else the live engine for the container named
 * `barycenter` (the container_name in Barycenter's docker-compose.yml).
 */
export interface DockerContainer {
  Name?: string;
  Config?: { User?: string; Env?: string[] | null; Image?: string; ExposedPorts?: Record<string, unknown> | null };
  HostConfig?: {
    SecurityOpt?: string[] | null;
    ReadonlyRootfs?: boolean;
    CapAdd?: string[] | null;
    CapDrop?: string[] | null;
    Privileged?: boolean;
    LogConfig?: { Type?: string; Config?: Record<string, string> };
    PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null;
    Tmpfs?: Record<string, string> | null;
    NetworkMode?: string;
  };
  Mounts?: { Type?: string; Name?: string; Source?: string; Destination: string; RW?: boolean }[];
  NetworkSettings?: { Ports?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null };
}

export const DEFAULT_CONTAINER_NAME = 'barycenter';

export function parseInspect(text: string, source: string): DockerContainer {
  const doc = JSON.parse(text) as unknown;
  const first = Array.isArray(doc) ? doc[0] : doc;
  if (!first || typeof first !== 'object')
    throw new Error(`${source} holds no container (expected the array \`docker inspect\` prints)`);
  return first as DockerContainer;
}

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

/** Config.Env as a map. */
export function containerEnv(c: DockerContainer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of c.Config?.Env ?? []) {
    const i = e.indexOf('=');
    if (i > 0) out[e.slice(0, i)] = e.slice(i + 1);
    else out[e] = '';
  }
  return out;
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
