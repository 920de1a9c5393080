import type { CheckContext, CheckDefinition, CheckOutcome, Evidence } from './types.js';
import { Findings, unreadable } from './evidence/combine.js';
import {
  barycenterPorts,
  type Exposure,
  firewallVerdict,
  judgeDockerPort,
  portExposure,
  privatePorts,
  sockEvidence,
} from './evidence/exposure.js';
import { loadFirewall, verdictFor } from './evidence/firewall.js';
import { ingressPoliciesFor, loadKubernetes, portAllowedBy } from './evidence/kubernetes.js';
import { addressScope } from '../platform/net.js';

/** Which Barycenter ports are reachable from where (network.*): sockets, firewall, Services and NetworkPolicies. */

/** Judges a host port that must not be public: bound to loopback, or filtered. */
async function judgeHostPrivatePort(ctx: CheckContext, f: Findings, e: Exposure & { kind: 'host' }) {
  const { bound, port: p, source } = e;
  const expected = `${p.role} port ${p.port} bound to loopback, or blocked/source-restricted by the firewall`;
  if (bound.length === 0) {
    f.add('pass', `${p.role} port ${p.port} is not listening`, sockEvidence(source, bound, expected));
    return;
  }
  const exposed = bound.filter((s) => addressScope(s.address) !== 'loopback');
  if (exposed.length === 0) {
    f.add('pass', `${p.role} port ${p.port} listens on loopback only`, sockEvidence(source, bound, expected));
    return;
  }
  const fw = await firewallVerdict(ctx, p.port);
  const ev = [sockEvidence(source, bound, expected), { source: 'firewall', observed: fw.verdict, note: fw.by }];
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

/** A Kubernetes port: admin must have no Service or hostPort, authz at most a ClusterIP Service. */
function judgeK8sPrivatePort(f: Findings, e: Exposure & { kind: 'kubernetes' }) {
  const { exposures, port: p, manifests } = e;
  const bad = exposures.filter((x) => p.role === 'admin' || x.external);
  const ev = {
    source: `${manifests.files.join(', ')} (Services selecting ${manifests.workload.ref}, hostPorts)`,
    observed: exposures.length ? exposures.map((x) => x.via) : 'not exposed',
    expected:
      p.role === 'admin' ? 'no Service or hostPort for the admin port' : 'at most a ClusterIP Service for authz',
  };
  if (bad.length) f.add('fail', `${p.role} port ${p.port} exposed by ${bad.map((x) => x.via).join(', ')}`, ev);
  else
    f.add(
      'pass',
      `${p.role} port ${p.port} ${exposures.length ? 'exposed in-cluster only' : 'has no Service or hostPort'}`,
      ev,
    );
}

// ---- network.public-ports ----------------------------------------------------------------

async function publicPorts(ctx: CheckContext): Promise<CheckOutcome> {
  const f = new Findings();
  for (const p of barycenterPorts(ctx)) {
    const e = await portExposure(ctx, p);
    if (!e.ok) return unreadable(e);
    const x = e.value;
    if (x.kind === 'docker') judgeDockerPort(f, x, p.role === 'public');
    else if (p.role === 'public') {
      // Kubernetes: the public port's Service is config.tls-terminated's question.
      if (x.kind === 'host')
        f.add(
          'pass',
          `public port ${p.port} may listen publicly`,
          sockEvidence(x.source, x.bound, 'any address (behind the TLS proxy)'),
        );
    } else if (x.kind === 'kubernetes') judgeK8sPrivatePort(f, x);
    else await judgeHostPrivatePort(ctx, f, x);
  }
  return f.outcome();
}

// ---- network.firewall --------------------------------------------------------------------

async function firewall(ctx: CheckContext): Promise<CheckOutcome> {
  if (ctx.deployment === 'kubernetes') {
    const k = await loadKubernetes(ctx);
    if (!k.ok) return unreadable(k);
    const pols = ingressPoliciesFor(k.value);
    const ev = {
      source: `${k.value.files.join(', ')} (NetworkPolicy selecting ${k.value.workload.ref})`,
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
  const facts = fw.value;
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
  if (!k.ok) return unreadable(k);
  const pols = ingressPoliciesFor(k.value);
  const port = ctx.barycenter.authzPort;
  const allowed = portAllowedBy(pols, port, k.value.workload.container);
  const ev = {
    source: `${k.value.files.join(', ')} (NetworkPolicy selecting ${k.value.workload.ref})`,
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
];
