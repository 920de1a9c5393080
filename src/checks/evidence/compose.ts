import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import type { DockerContainer } from '../../config/docker-inspect.js';

/**
 * A Compose service read as the container `docker inspect` would show once it runs: the checks
 * can judge a compose file before anything is deployed (or where no engine answers). Only the
 * keys the checks read are mapped; a key the file leaves out is absent, as the image's default is
 * not known from the file (the Dockerfile's USER, for one).
 */
type Service = {
  user?: string | number;
  read_only?: boolean;
  privileged?: boolean;
  security_opt?: string[];
  cap_add?: string[];
  cap_drop?: string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  image?: string;
  ports?: (string | number | { target: number; published?: string | number; host_ip?: string })[];
  tmpfs?: string | string[];
  volumes?: (string | { type?: string; source?: string; target: string; read_only?: boolean })[];
  network_mode?: string;
  logging?: { driver?: string; options?: Record<string, string> };
};

export async function readComposeService(file: string, service: string): Promise<DockerContainer> {
  const doc = parse(await readFile(file, 'utf8')) as { services?: Record<string, Service> } | null;
  const services = doc?.services ?? {};
  const s = services[service];
  if (!s || typeof s !== 'object')
    throw new Error(
      `${file} has no service "${service}" (services: ${Object.keys(services).join(', ') || 'none'}); set checks.compose_service`,
    );
  const env = Array.isArray(s.environment)
    ? s.environment
    : Object.entries(s.environment ?? {}).map(([k, v]) => (v === null ? k : `${k}=${String(v)}`));
  const tmpfs = typeof s.tmpfs === 'string' ? [s.tmpfs] : (s.tmpfs ?? []);
  return {
    Name: `/${service}`,
    Config: {
      ...(s.user !== undefined ? { User: String(s.user) } : {}),
      Env: env,
      ...(s.image ? { Image: s.image } : {}),
    },
    HostConfig: {
      SecurityOpt: s.security_opt ?? null,
      ReadonlyRootfs: s.read_only === true,
      CapAdd: s.cap_add ?? null,
      CapDrop: s.cap_drop ?? null,
      Privileged: s.privileged === true,
      PortBindings: portBindings(s.ports ?? []),
      Tmpfs: Object.fromEntries(tmpfs.map((t) => [t.split(':')[0]!, t.split(':').slice(1).join(':')])),
      ...(s.network_mode ? { NetworkMode: s.network_mode } : {}),
      ...(s.logging?.driver ? { LogConfig: { Type: s.logging.driver, Config: s.logging.options ?? {} } } : {}),
    },
    Mounts: (s.volumes ?? []).map(mountOf),
  };
}

/** Compose `ports` as HostConfig.PortBindings: "[host_ip:][published:]target[/proto]" or the long form. */
function portBindings(ports: NonNullable<Service['ports']>): Record<string, { HostIp: string; HostPort: string }[]> {
  const out: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of ports) {
    const b =
      typeof p === 'object'
        ? { target: `${p.target}/tcp`, published: String(p.published ?? ''), ip: p.host_ip ?? '' }
        : shortPort(String(p));
    (out[b.target] ??= []).push({ HostIp: b.ip, HostPort: b.published });
  }
  return out;
}

function shortPort(text: string): { target: string; published: string; ip: string } {
  const [spec = '', proto = 'tcp'] = text.split('/');
  // "[::1]:9752:9752": the bracketed IPv6 address is one part.
  const parts = spec.startsWith('[')
    ? [spec.slice(1, spec.indexOf(']')), ...spec.slice(spec.indexOf(']') + 2).split(':')]
    : spec.split(':');
  const n = parts.length;
  return {
    target: `${parts[n - 1]}/${proto}`,
    published: n >= 2 ? parts[n - 2]! : '',
    ip: n >= 3 ? parts.slice(0, n - 2).join(':') : '',
  };
}

function mountOf(v: NonNullable<Service['volumes']>[number]): NonNullable<DockerContainer['Mounts']>[number] {
  if (typeof v === 'object')
    return {
      Type: v.type ?? 'volume',
      ...(v.source ? { Source: v.source } : {}),
      Destination: v.target,
      RW: v.read_only !== true,
    };
  const [source, target, mode] = v.split(':');
  if (target === undefined) return { Type: 'volume', Destination: source! };
  const bind = /^[./~]/.test(source!);
  return {
    Type: bind ? 'bind' : 'volume',
    ...(bind ? { Source: source } : { Name: source }),
    Destination: target,
    RW: !(mode ?? '').split(',').includes('ro'),
  };
}
