import type { CheckContext, Evidence } from '../types.js';
import type { Findings } from './combine.js';
import { loadDocker, publishedBindings } from './docker.js';
import { loadFirewall, type PortVerdict, verdictFor } from './firewall.js';
import {
  ingressPoliciesFor,
  type K8sManifests,
  type K8sObject,
  loadKubernetes,
  portAllowedBy,
  resolvePort,
  servicesFor,
} from './kubernetes.js';
import { findProcess } from './process.js';
import { type ListeningSocket, listeningSockets, socketInodes } from './sockets.js';
import { addressScope } from '../../platform/net.js';

/** Which Barycenter ports are reachable from where: sockets, firewall, docker publishing, Services and NetworkPolicies. */

export interface Port {
  role: 'public' | 'admin' | 'authz';
  port: number;
}

export function barycenterPorts(ctx: CheckContext): Port[] {
  const ports: Port[] = [
    { role: 'public', port: ctx.barycenter.settings.server.port },
    { role: 'admin', port: ctx.barycenter.adminPort },
  ];
  if (ctx.barycenter.settings.authz.enabled) ports.push({ role: 'authz', port: ctx.barycenter.authzPort });
  return ports;
}
export const privatePorts = (ctx: CheckContext) => barycenterPorts(ctx).filter((p) => p.role !== 'public');

export type Listeners = { ok: true; sockets: ListeningSocket[]; source: string } | { ok: false; reason: string };

/** The process's listening sockets (its netns, its fds); without a process, every listener on Barycenter's ports. */
export async function hostListeners(ctx: CheckContext): Promise<Listeners> {
  return ctx.memo('host-listeners', async () => {
    const p = await findProcess(ctx);
    if (p.ok) {
      try {
        const inodes = await socketInodes(p.value.pid);
        const sockets = (await listeningSockets(p.value.pid)).filter((s) => inodes.has(s.inode));
        return {
          ok: true,
          sockets,
          source: `proc:${p.value.pid}/net/tcp{,6} × proc:${p.value.pid}/fd (found by ${p.value.foundBy})`,
        };
      } catch (e) {
        return { ok: false, reason: `cannot read the sockets of process ${p.value.pid}: ${(e as Error).message}` };
      }
    }
    const wanted = new Set(barycenterPorts(ctx).map((x) => x.port));
    const sockets = (await listeningSockets('self')).filter((s) => wanted.has(s.port));
    if (sockets.length === 0)
      return { ok: false, reason: `${p.reason}, and nothing listens on ports ${[...wanted].join(', ')}` };
    return {
      ok: true,
      sockets,
      source: `proc:self/net/tcp{,6} (listeners on Barycenter's ports; process not identified: ${p.reason})`,
    };
  });
}

export type FirewallAnswer = { verdict: PortVerdict; by: string } | { verdict: 'unknown'; by: string };

export async function firewallVerdict(ctx: CheckContext, port: number): Promise<FirewallAnswer> {
  const fw = await loadFirewall(ctx);
  if (!fw.ok) return { verdict: 'unknown', by: fw.reason };
  return { ...verdictFor(fw.value, port), by: `${fw.value.source}: ${verdictFor(fw.value, port).by}` };
}

export const sockEvidence = (src: string, s: ListeningSocket[], expected: string): Evidence => ({
  source: src,
  observed: s.map((x) => `${x.family === 6 ? `[${x.address}]` : x.address}:${x.port}`),
  expected,
});

/** A docker-published port: only the public one may be published beyond loopback. */
export function judgeDockerPort(f: Findings, e: Exposure & { kind: 'docker' }, allowPublic: boolean) {
  const { source, bindings, port: p } = e;
  const ev = {
    source: `${source} (${bindings[0]?.field ?? `NetworkSettings.Ports / HostConfig.PortBindings "${p.port}/tcp"`})`,
    observed: bindings.length ? bindings.map((b) => `${b.hostIp}:${b.hostPort}`) : 'not published',
    expected: allowPublic ? 'published (behind the proxy)' : 'not published, or published on 127.0.0.1 only',
  };
  const exposed = bindings.filter((b) => addressScope(b.hostIp) !== 'loopback');
  if (allowPublic) f.add('pass', `${p.role} port ${p.port} ${bindings.length ? 'published' : 'not published'}`, ev);
  else if (exposed.length)
    f.add(
      'fail',
      `${p.role} port ${p.port} is published on ${exposed.map((b) => `${b.hostIp}:${b.hostPort}`).join(', ')}`,
      ev,
    );
  else
    f.add(
      'pass',
      `${p.role} port ${p.port} is ${bindings.length ? 'published on loopback only' : 'not published'}`,
      ev,
    );
}

/** Service ports (and hostPorts) that reach a container port. */
function k8sExposures(m: K8sManifests, port: number): K8sExposure[] {
  const w = m.workload;
  const out: K8sExposure[] = [];
  for (const svc of servicesFor(m)) {
    const type = (svc.spec?.type as string | undefined) ?? 'ClusterIP';
    for (const sp of (svc.spec?.ports ?? []) as {
      port: number;
      targetPort?: number | string;
      name?: string;
      nodePort?: number;
    }[]) {
      if (resolvePort(sp.targetPort ?? sp.port, w.container) === port)
        out.push({
          via: `Service/${svc.metadata?.name} ${type} port ${sp.port}${sp.name ? ` (${sp.name})` : ''}`,
          external: type === 'LoadBalancer' || type === 'NodePort',
        });
    }
  }
  for (const cp of w.container.ports ?? [])
    if (cp.containerPort === port && cp.hostPort) out.push({ via: `hostPort ${cp.hostPort}`, external: true });
  return out;
}

/**
 * Who can reach one Barycenter port, as the deployment shows it: docker's published bindings;
 * Kubernetes' Services, hostPorts and the NetworkPolicies that select the pods; on a host, the
 * process's listening sockets (the firewall is asked by the judge, only when a socket is not on
 * loopback). The one place that knows how each deployment answers; each check judges the answer.
 */
export type Exposure =
  | { kind: 'docker'; port: Port; source: string; bindings: ReturnType<typeof publishedBindings> }
  | {
      kind: 'kubernetes';
      port: Port;
      manifests: K8sManifests;
      exposures: K8sExposure[];
      policies: K8sObject[];
      networkPolicy: { allowed: boolean; from: string };
    }
  | { kind: 'host'; port: Port; source: string; bound: ListeningSocket[] };

export type K8sExposure = { via: string; external: boolean };

/** The exposure of a port, or why the deployment's evidence could not be read. */
export async function portExposure(
  ctx: CheckContext,
  port: Port,
): Promise<{ ok: true; value: Exposure } | { ok: false; reason: string; source?: string }> {
  if (ctx.deployment === 'docker') {
    const d = await loadDocker(ctx);
    if (!d.ok) return d;
    return {
      ok: true,
      value: { kind: 'docker', port, source: d.source, bindings: publishedBindings(d.value, port.port) },
    };
  }
  if (ctx.deployment === 'kubernetes') {
    const k = await loadKubernetes(ctx);
    if (!k.ok) return k;
    const policies = ingressPoliciesFor(k.value);
    return {
      ok: true,
      value: {
        kind: 'kubernetes',
        port,
        manifests: k.value,
        exposures: k8sExposures(k.value, port.port),
        policies,
        networkPolicy: portAllowedBy(policies, port.port, k.value.workload.container),
      },
    };
  }
  const l = await hostListeners(ctx);
  if (!l.ok) return l;
  return {
    ok: true,
    value: { kind: 'host', port, source: l.source, bound: l.sockets.filter((x) => x.port === port.port) },
  };
}
