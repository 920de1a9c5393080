import os from 'node:os';
import type { CheckContext, CheckDefinition, CheckOutcome, Evidence } from './types.js';
import { Findings } from './evidence/combine.js';
import { loadDocker, publishedBindings } from './evidence/docker.js';
import { loadFirewall, type PortVerdict, processNetns, verdictFor } from './evidence/firewall.js';
import {
  type K8sManifests,
  ingressPoliciesFor,
  loadKubernetes,
  portAllowedBy,
  resolvePort,
  servicesFor,
} from './evidence/kubernetes.js';
import { findProcess } from './evidence/process.js';
import { type ListeningSocket, listeningSockets, socketInodes } from './evidence/sockets.js';
import { addressScope, tcpReachable } from '../platform/net.js';

/** Which Barycenter ports are reachable from where: sockets, firewall, docker publishing, Services and NetworkPolicies. */

interface Port {
  role: 'public' | 'admin' | 'authz';
  port: number;
}

function barycenterPorts(ctx: CheckContext): Port[] {
  const ports: Port[] = [
    { role: 'public', port: ctx.barycenter.settings.server.port },
    { role: 'admin', port: ctx.barycenter.adminPort },
  ];
  if (ctx.barycenter.settings.authz.enabled) ports.push({ role: 'authz', port: ctx.barycenter.authzPort });
  return ports;
}
const privatePorts = (ctx: CheckContext) => barycenterPorts(ctx).filter((p) => p.role !== 'public');

type Listeners = { ok: true; sockets: ListeningSocket[]; source: string } | { ok: false; reason: string };

/** The process's listening sockets (its netns, its fds); without a process, every listener on Barycenter's ports. */
async function hostListeners(ctx: CheckContext): Promise<Listeners> {
  return ctx.memo('host-listeners', async () => {
    const p = await findProcess(ctx);
    if (p.found) {
      try {
        const inodes = await socketInodes(p.process.pid);
        const sockets = (await listeningSockets(p.process.pid)).filter((s) => inodes.has(s.inode));
        return {
          ok: true,
          sockets,
          source: `proc:${p.process.pid}/net/tcp{,6} × proc:${p.process.pid}/fd (found by ${p.process.foundBy})`,
        };
      } catch (e) {
        return { ok: false, reason: `cannot read the sockets of process ${p.process.pid}: ${(e as Error).message}` };
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

type FirewallAnswer = { verdict: PortVerdict; by: string } | { verdict: 'unknown'; by: string };

async function firewallVerdict(ctx: CheckContext, port: number): Promise<FirewallAnswer> {
  const fw = await loadFirewall(ctx);
  if (!fw.ok) return { verdict: 'unknown', by: fw.reason };
  return { ...verdictFor(fw.facts, port), by: `${fw.facts.source}: ${verdictFor(fw.facts, port).by}` };
}

const sockEvidence = (src: string, s: ListeningSocket[], expected: string): Evidence => ({
  source: src,
  observed: s.map((x) => `${x.family === 6 ? `[${x.address}]` : x.address}:${x.port}`),
  expected,
});

/** Judges a host port that must not be public: bound to loopback, or filtered. */
async function judgeHostPrivatePort(ctx: CheckContext, f: Findings, l: Listeners & { ok: true }, p: Port) {
  const bound = l.sockets.filter((s) => s.port === p.port);
  const expected = `${p.role} port ${p.port} bound to loopback, or blocked/source-restricted by the firewall`;
  if (bound.length === 0) {
    f.add('pass', `${p.role} port ${p.port} is not listening`, sockEvidence(l.source, bound, expected));
    return;
  }
  const exposed = bound.filter((s) => addressScope(s.address) !== 'loopback');
  if (exposed.length === 0) {
    f.add('pass', `${p.role} port ${p.port} listens on loopback only`, sockEvidence(l.source, bound, expected));
    return;
  }
  const fw = await firewallVerdict(ctx, p.port);
  const ev = [sockEvidence(l.source, bound, expected), { source: 'firewall', observed: fw.verdict, note: fw.by }];
  const where = exposed.map((s) => s.address).join(', ');
  if (fw.verdict === 'blocked' || fw.verdict === 'restricted')
    f.add(
      'pass',
      `${p.role} port ${p.port} listens on ${where} but the firewall ${fw.verdict === 'blocked' ? 'blocks' : 'source-restricts'} it`,
      ...ev,
    );
  else if (exposed.every((s) => addressScope(s.address) === 'private'))
    f.add(
      'warn',
      `${p.role} port ${p.port} listens on private address ${where} without a firewall rule: reachable from that network`,
      ...ev,
    );
  else
    f.add(
      'fail',
      `${p.role} port ${p.port} (unauthenticated) listens on ${where} and ${fw.verdict === 'unknown' ? `no firewall could be read (${fw.by})` : 'the firewall lets it through'}`,
      ...ev,
    );
}

function judgeDockerPort(
  f: Findings,
  source: string,
  bindings: ReturnType<typeof publishedBindings>,
  p: Port,
  allowPublic: boolean,
) {
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
function k8sExposures(m: K8sManifests, port: number): { via: string; external: boolean }[] {
  const w = m.workload!;
  const out: { via: string; external: boolean }[] = [];
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

// ---- network.public-ports ----------------------------------------------------------------

async function publicPorts(ctx: CheckContext): Promise<CheckOutcome> {
  const f = new Findings();
  if (ctx.deployment === 'docker') {
    const d = await loadDocker(ctx);
    if (!d.ok) return { status: 'error', summary: d.reason, evidence: [] };
    for (const p of barycenterPorts(ctx))
      judgeDockerPort(f, d.source, publishedBindings(d.container, p.port), p, p.role === 'public');
    return f.outcome();
  }
  if (ctx.deployment === 'kubernetes') {
    const k = await loadKubernetes(ctx);
    if (!k.ok) return { status: 'error', summary: k.reason, evidence: [] };
    for (const p of privatePorts(ctx)) {
      const ex = k8sExposures(k.manifests, p.port);
      const bad = ex.filter((e) => p.role === 'admin' || e.external);
      const ev = {
        source: `${k.manifests.files.join(', ')} (Services selecting ${k.manifests.workload!.ref}, hostPorts)`,
        observed: ex.length ? ex.map((e) => e.via) : 'not exposed',
        expected:
          p.role === 'admin' ? 'no Service or hostPort for the admin port' : 'at most a ClusterIP Service for authz',
      };
      if (bad.length) f.add('fail', `${p.role} port ${p.port} exposed by ${bad.map((e) => e.via).join(', ')}`, ev);
      else
        f.add(
          'pass',
          `${p.role} port ${p.port} ${ex.length ? 'exposed in-cluster only' : 'has no Service or hostPort'}`,
          ev,
        );
    }
    return f.outcome();
  }
  const l = await hostListeners(ctx);
  if (!l.ok) return { status: 'error', summary: l.reason, evidence: [] };
  const pub = barycenterPorts(ctx)[0]!;
  f.add(
    'pass',
    `public port ${pub.port} may listen publicly`,
    sockEvidence(
      l.source,
      l.sockets.filter((s) => s.port === pub.port),
      'any address (behind the TLS proxy)',
    ),
  );
  for (const p of privatePorts(ctx)) await judgeHostPrivatePort(ctx, f, l, p);
  return f.outcome();
}

// ---- network.firewall --------------------------------------------------------------------

async function firewall(ctx: CheckContext): Promise<CheckOutcome> {
  if (ctx.deployment === 'kubernetes') {
    const k = await loadKubernetes(ctx);
    if (!k.ok) return { status: 'error', summary: k.reason, evidence: [] };
    const pols = ingressPoliciesFor(k.manifests);
    const ev = {
      source: `${k.manifests.files.join(', ')} (NetworkPolicy selecting ${k.manifests.workload!.ref})`,
      observed: pols.map((p) => p.metadata?.name),
      expected: 'at least one NetworkPolicy with policyTypes Ingress',
    };
    return pols.length
      ? {
          status: 'pass',
          summary: `ingress restricted by NetworkPolicy ${pols.map((p) => p.metadata?.name).join(', ')}`,
          evidence: [ev],
        }
      : { status: 'fail', summary: 'no NetworkPolicy restricts ingress to the Barycenter pods', evidence: [ev] };
  }
  const fw = await loadFirewall(ctx);
  if (!fw.ok)
    return {
      status: 'error',
      summary: fw.reason,
      evidence: [{ source: 'nft -j list ruleset / iptables-save', note: fw.reason }],
    };
  const facts = fw.facts;
  const policies = facts.chains.map((c) => `${c.name}: policy ${c.policy}, ${c.rules.length} rule(s)`);
  const ports = privatePorts(ctx).map((p) => ({ ...p, ...verdictFor(facts, p.port) }));
  const evidence: Evidence[] = [
    {
      source: facts.source,
      observed: policies.length ? policies : 'no input filter chain',
      expected: 'inbound policy drop/reject, or rules blocking the admin/authz ports',
    },
    ...ports.map((p) => ({
      source: `${facts.source} (evaluation for ${p.role} port ${p.port})`,
      observed: p.verdict,
      expected: 'blocked or restricted',
      note: p.by,
    })),
  ];
  if (ctx.deployment === 'docker')
    evidence.push({
      source: 'note',
      note: 'Docker-published ports are forwarded before the INPUT chain; filter them in DOCKER-USER',
    });
  const dropPolicy = facts.chains.some((c) => c.policy === 'drop');
  const open = ports.filter((p) => p.verdict === 'open');
  if (open.length)
    return {
      status: 'fail',
      summary: `the firewall leaves ${open.map((p) => `${p.role} port ${p.port}`).join(', ')} open`,
      evidence,
    };
  if (!dropPolicy && ports.length === 0) return { status: 'fail', summary: 'inbound policy is accept', evidence };
  return {
    status: 'pass',
    summary: `${facts.tool}: ${dropPolicy ? 'inbound policy drop' : 'rules block the private ports'}${ports.length ? `; ${ports.map((p) => `${p.port} ${p.verdict}`).join(', ')}` : ''}`,
    evidence,
  };
}

// ---- network.authz-network-policy --------------------------------------------------------

async function authzNetworkPolicy(ctx: CheckContext): Promise<CheckOutcome> {
  if (ctx.deployment !== 'kubernetes')
    return {
      status: 'skip',
      summary: `not Kubernetes (deployment: ${ctx.deployment}); network.firewall covers the authz port`,
      evidence: [],
    };
  if (!ctx.barycenter.settings.authz.enabled)
    return {
      status: 'skip',
      summary: 'authz is disabled (authz.enabled = false): no authz port to protect',
      evidence: [{ source: `${ctx.barycenter.configPath} authz.enabled`, observed: false }],
    };
  const k = await loadKubernetes(ctx);
  if (!k.ok) return { status: 'error', summary: k.reason, evidence: [] };
  const pols = ingressPoliciesFor(k.manifests);
  const port = ctx.barycenter.authzPort;
  const allowed = portAllowedBy(pols, port, k.manifests.workload!.container);
  const ev = {
    source: `${k.manifests.files.join(', ')} (NetworkPolicy selecting ${k.manifests.workload!.ref})`,
    observed: { policies: pols.map((p) => p.metadata?.name), authzPort: allowed.from },
    expected: 'a NetworkPolicy admitting the authz port only from selected peers (the chart: same namespace)',
  };
  if (pols.length === 0)
    return {
      status: 'fail',
      summary:
        'authz is enabled and no NetworkPolicy selects the pods: the unauthenticated authz API is open to the cluster',
      evidence: [ev],
    };
  if (allowed.allowed && allowed.from.endsWith('from anywhere'))
    return { status: 'fail', summary: `${allowed.from}`, evidence: [ev] };
  return { status: 'pass', summary: `authz port ${port}: ${allowed.from}`, evidence: [ev] };
}

// ---- config.tls-terminated ---------------------------------------------------------------

async function tlsTerminated(ctx: CheckContext): Promise<CheckOutcome> {
  const f = new Findings();
  const url = ctx.barycenter.settings.server.public_base_url;
  const https = url !== undefined && /^https:\/\//i.test(url);
  f.add(
    https ? 'pass' : 'fail',
    https
      ? `public_base_url is ${url}`
      : `public_base_url is ${url ?? 'unset (issuer falls back to http://host:port)'}: not https`,
    {
      source: `${ctx.barycenter.configPath} server.public_base_url (${ctx.barycenter.sources['server.public_base_url'] ?? 'default'})`,
      observed: url ?? '(unset)',
      expected: 'https://…',
    },
  );
  const pub = barycenterPorts(ctx)[0]!;
  if (ctx.deployment === 'docker') {
    const d = await loadDocker(ctx);
    if (!d.ok) f.missing(`docker: ${d.reason}`);
    else judgeDockerPort(f, d.source, publishedBindings(d.container, pub.port), { ...pub, role: 'public' }, false);
  } else if (ctx.deployment === 'kubernetes') {
    const k = await loadKubernetes(ctx);
    if (!k.ok) f.missing(`kubernetes: ${k.reason}`);
    else {
      const ex = k8sExposures(k.manifests, pub.port);
      const external = ex.filter((e) => e.external);
      const ingresses = k.manifests.objects.filter(
        (o) => o.kind === 'Ingress' || o.kind === 'HTTPRoute' || o.kind === 'Gateway',
      );
      const ev = {
        source: `${k.manifests.files.join(', ')} (Services, Ingress/HTTPRoute)`,
        observed: {
          services: ex.map((e) => e.via),
          ingress: ingresses.map(
            (o) => `${o.kind}/${o.metadata?.name}${o.kind === 'Ingress' && o.spec?.tls ? ' (tls)' : ''}`,
          ),
        },
        expected: 'ClusterIP Service behind an Ingress/HTTPRoute that terminates TLS',
      };
      if (external.length)
        f.add('fail', `plain HTTP port exposed outside the cluster by ${external.map((e) => e.via).join(', ')}`, ev);
      else if (ingresses.length)
        f.add('pass', `HTTP port only reachable in-cluster; fronted by ${ingresses.map((o) => o.kind).join(', ')}`, ev);
      else
        f.add(
          'manual',
          'no Ingress/HTTPRoute in the manifests: confirm what terminates TLS in front of the ClusterIP Service',
          ev,
        );
    }
  } else {
    const l = await hostListeners(ctx);
    if (!l.ok) f.missing(l.reason);
    else {
      const bound = l.sockets.filter((s) => s.port === pub.port);
      const scopes = bound.map((s) => addressScope(s.address));
      const ev = sockEvidence(l.source, bound, 'loopback or a private interface behind the TLS proxy');
      if (bound.length === 0) f.missing(`nothing listens on the public port ${pub.port}`);
      else if (scopes.every((s) => s === 'loopback'))
        f.add('pass', `HTTP port ${pub.port} listens on loopback only (proxy on this host)`, ev);
      else if (scopes.every((s) => s === 'loopback' || s === 'private'))
        f.add('pass', `HTTP port ${pub.port} listens on a private interface (proxy in front)`, ev);
      else {
        const fw = await firewallVerdict(ctx, pub.port);
        const fwEv = { source: 'firewall', observed: fw.verdict, note: fw.by };
        if (fw.verdict === 'blocked' || fw.verdict === 'restricted')
          f.add(
            'pass',
            `HTTP port ${pub.port} listens on all interfaces but the firewall ${fw.verdict === 'blocked' ? 'blocks' : 'restricts'} it`,
            ev,
            fwEv,
          );
        else
          f.add(
            'fail',
            `plain HTTP port ${pub.port} listens on ${bound.map((s) => s.address).join(', ')} and ${fw.verdict === 'unknown' ? 'no firewall could be read' : 'the firewall lets it through'}: clients can bypass TLS`,
            ev,
            fwEv,
          );
      }
    }
  }
  return f.outcome();
}

// ---- security.admin-api-exposure ---------------------------------------------------------

/** A non-loopback address of this host, to probe what the public side would hit. */
function localNonLoopback(): string | undefined {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') return a.address;
  }
  return undefined;
}

async function adminExposure(ctx: CheckContext): Promise<CheckOutcome> {
  const f = new Findings();
  const ports = privatePorts(ctx);
  if (ctx.deployment === 'docker') {
    const d = await loadDocker(ctx);
    if (!d.ok) return { status: 'error', summary: d.reason, evidence: [] };
    for (const p of ports) judgeDockerPort(f, d.source, publishedBindings(d.container, p.port), p, false);
    const out = f.outcome();
    return out.status === 'pass'
      ? {
          ...out,
          evidence: [
            ...out.evidence,
            { source: 'note', note: 'containers on the same Docker network can still reach the admin port' },
          ],
        }
      : out;
  }
  if (ctx.deployment === 'kubernetes') {
    const k = await loadKubernetes(ctx);
    if (!k.ok) return { status: 'error', summary: k.reason, evidence: [] };
    const pols = ingressPoliciesFor(k.manifests);
    for (const p of ports) {
      const ex = k8sExposures(k.manifests, p.port);
      const np = portAllowedBy(pols, p.port, k.manifests.workload!.container);
      const ev = {
        source: `${k.manifests.files.join(', ')} (Services, NetworkPolicies for ${k.manifests.workload!.ref})`,
        observed: { exposedBy: ex.map((e) => e.via), networkPolicy: np.from },
        expected: 'no Service for admin; a NetworkPolicy that denies or source-restricts the port',
      };
      if (ex.some((e) => e.external) || (p.role === 'admin' && ex.length))
        f.add('fail', `${p.role} port ${p.port} exposed by ${ex.map((e) => e.via).join(', ')}`, ev);
      else if (np.allowed && (pols.length === 0 || np.from.endsWith('from anywhere')))
        f.add(
          'fail',
          `unauthenticated ${p.role} API on pod IP:${p.port} is reachable from the whole cluster (${np.from})`,
          ev,
        );
      else f.add('pass', `${p.role} port ${p.port}: ${np.from}`, ev);
    }
    return f.outcome();
  }
  const host = ctx.barycenter.settings.server.host;
  const scope = addressScope(host);
  const hostEv = {
    source: `${ctx.barycenter.configPath} server.host (${ctx.barycenter.sources['server.host'] ?? 'default'}); the admin and authz listeners bind the same host (facts §2.6)`,
    observed: host,
    expected: '127.0.0.1 / a management-only address, or a firewall blocking the ports',
  };
  if (scope === 'loopback') {
    f.add('pass', `server.host ${host}: admin${ports.length > 1 ? ' and authz' : ''} listen on loopback only`, hostEv);
    return f.outcome();
  }
  // A probe from our namespace says nothing about a process in another network namespace.
  const foreignNetns = await processNetns(ctx);
  const probeHost = foreignNetns ? undefined : scope === 'wildcard' ? localNonLoopback() : host;
  for (const p of ports) {
    const fw = await firewallVerdict(ctx, p.port);
    const reachable = probeHost ? await tcpReachable(probeHost, p.port) : undefined;
    const probeEv = {
      source: probeHost ? `TCP connect ${probeHost}:${p.port} from this host` : 'TCP probe',
      observed:
        reachable === undefined
          ? foreignNetns
            ? `not probed: the process runs in network namespace ${foreignNetns}`
            : 'no non-loopback local address to probe'
          : reachable
            ? 'accepted'
            : 'refused/timed out',
      note: 'a local probe shows the listener is bound there; it does not traverse the path an outside client takes',
    };
    const fwEv = { source: 'firewall', observed: fw.verdict, expected: 'blocked or restricted', note: fw.by };
    if (fw.verdict === 'blocked' || fw.verdict === 'restricted')
      f.add(
        'pass',
        `${p.role} port ${p.port} bound on ${host} but the firewall ${fw.verdict === 'blocked' ? 'blocks' : 'source-restricts'} it`,
        hostEv,
        fwEv,
        probeEv,
      );
    else if (reachable === false)
      f.add(
        'warn',
        `server.host ${host} but nothing answered on ${probeHost}:${p.port}; no firewall protects it if it starts listening`,
        hostEv,
        fwEv,
        probeEv,
      );
    else if (scope === 'private')
      f.add(
        'warn',
        `${p.role} API (no authentication) listens on private address ${host}:${p.port} without a firewall rule`,
        hostEv,
        fwEv,
        probeEv,
      );
    else
      f.add(
        'fail',
        `${p.role} API (no authentication) is bound on ${host}:${p.port}${reachable ? ` and answered on ${probeHost}` : ''}, and ${fw.verdict === 'unknown' ? 'no firewall could be read' : 'the firewall lets it through'}`,
        hostEv,
        fwEv,
        probeEv,
      );
  }
  return f.outcome();
}

export const checks: CheckDefinition[] = [
  {
    id: 'network.public-ports',
    section: 'network',
    title: 'Only the public port is reachable publicly',
    rationale:
      'The admin (8081) and authz (8082) APIs have no authentication; the checklist allows them on the management/application network only.',
    severity: 'critical',
    remediation: {
      systemd:
        'Bind server.host to 127.0.0.1 behind the proxy, or drop inbound 8081/8082 in nftables except from the management network.',
      docker: 'Publish only 8080 (ideally as 127.0.0.1:8080:8080); never publish 8081/8082.',
      kubernetes: 'Do not expose the admin port through a Service; keep authz on a ClusterIP Service.',
      default: 'Keep 8081/8082 off public interfaces (bind to loopback or firewall them).',
    },
    run: publicPorts,
  },
  {
    id: 'network.firewall',
    section: 'network',
    title: 'Firewall rules restrict inbound traffic',
    rationale:
      'Barycenter binds every listener on the same host; only the network layer separates the unauthenticated APIs from the public.',
    severity: 'high',
    remediation: {
      kubernetes:
        'Add a NetworkPolicy (the chart renders one when authz is enabled; add one for the admin port otherwise).',
      docker: 'Filter published ports in the DOCKER-USER chain; set an inbound drop policy on the host.',
      default:
        'Set an inbound drop policy (nftables/iptables) and allow 8080 from the proxy, 8081 from the management network, 8082 from the application network.',
    },
    run: firewall,
  },
  {
    id: 'network.authz-network-policy',
    section: 'network',
    title: 'The authz NetworkPolicy is enabled when authz is used on Kubernetes',
    rationale: "The authz policy API has no authentication; the chart's NetworkPolicy limits it to the namespace.",
    severity: 'high',
    remediation: {
      kubernetes:
        'Keep authz.networkPolicy.enabled=true in the chart values, and make sure the cluster CNI enforces NetworkPolicies.',
      default: 'Not applicable outside Kubernetes.',
    },
    run: authzNetworkPolicy,
  },
  {
    id: 'config.tls-terminated',
    section: 'config',
    title: 'TLS is terminated in front; the plain HTTP port is not reachable from outside',
    rationale:
      'Barycenter speaks plain HTTP; tokens and passwords cross the network in clear text unless a proxy terminates TLS and the HTTP port is hidden.',
    severity: 'critical',
    remediation: {
      systemd: 'Set server.host = "127.0.0.1" behind nginx/Caddy with TLS, and public_base_url = "https://…".',
      docker:
        'Publish 127.0.0.1:8080:8080 (or not at all) and put a TLS proxy in front; set BARYCENTER__SERVER__PUBLIC_BASE_URL=https://….',
      kubernetes:
        'Keep the Service ClusterIP and terminate TLS at an Ingress/Gateway (cert-manager); set config.server.publicBaseUrl to the https URL.',
      default:
        'Terminate TLS in a reverse proxy, keep 8080 off public interfaces, set public_base_url to the https URL.',
    },
    run: tlsTerminated,
  },
  {
    id: 'security.admin-api-exposure',
    section: 'security',
    title: 'The unauthenticated admin and authz APIs are not publicly reachable',
    rationale:
      'The admin GraphQL API can trigger jobs, change 2FA and add federation peers without authentication, and binds the same host as the public server (facts §2.6, §8.3).',
    severity: 'critical',
    remediation: {
      systemd:
        'Set server.host = "127.0.0.1" (proxy on the same host) or drop 8081/8082 in the firewall except from the management network.',
      docker: 'Never publish 8081/8082; put the container on an internal network.',
      kubernetes:
        "Add a NetworkPolicy that admits only port http from outside the namespace (the chart's authz policy does this when authz is enabled).",
      default: 'Keep the admin and authz ports on loopback or behind a firewall.',
    },
    run: adminExposure,
  },
];
