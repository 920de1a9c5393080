/**
 * One container as `docker inspect <c>` prints it (a JSON array; the first element is used). Only
 * the fields barysafe reads are typed. Read by the checks (hardening, ports, mounts) and by
 * backups (the container's environment, command, working directory and image), so it lives below both.
 */
export interface DockerContainer {
  Name?: string;
  /** The image ID (sha256:…) the container was created from. */
  Image?: string;
  Config?: {
    User?: string;
    Env?: string[] | null;
    /** The image reference it was started with, e.g. ghcr.io/cloudnebulaproject/barycenter:0.2.0-beta.5. */
    Image?: string;
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    WorkingDir?: string;
    ExposedPorts?: Record<string, unknown> | null;
  };
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

export function parseInspect(text: string, source: string): DockerContainer {
  const doc = JSON.parse(text) as unknown;
  const first = Array.isArray(doc) ? doc[0] : doc;
  if (!first || typeof first !== 'object')
    throw new Error(`${source} holds no container (expected the array \`docker inspect\` prints)`);
  return first as DockerContainer;
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
