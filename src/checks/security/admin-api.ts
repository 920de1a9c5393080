import os from 'node:os';
import type { CheckContext, CheckDefinition, CheckOutcome } from '../types.js';
import { Findings, unreadable } from '../evidence/combine.js';
import { type Exposure, firewallVerdict, judgeDockerPort, portExposure, privatePorts } from '../evidence/exposure.js';
import { processNetns } from '../evidence/firewall.js';
import { addressScope, tcpReachable } from '../../platform/net.js';

/** security.admin-api-exposure: whether the unauthenticated admin and authz APIs can be reached. */

/** A non-loopback address of this host, to probe what the public side would hit. */
function localNonLoopback(): string | undefined {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') return a.address;
  }
  return undefined;
}

/** Kubernetes: no Service for admin, nothing external, and a NetworkPolicy that restricts the port. */
function judgeK8sPrivateApi(f: Findings, e: Exposure & { kind: 'kubernetes' }) {
  const { port: p, exposures, networkPolicy: np, policies, manifests } = e;
  const ev = {
    source: `${manifests.files.join(', ')} (Services, NetworkPolicies for ${manifests.workload.ref})`,
    observed: { exposedBy: exposures.map((x) => x.via), networkPolicy: np.from },
    expected: 'no Service for admin; a NetworkPolicy that denies or source-restricts the port',
  };
  if (exposures.some((x) => x.external) || (p.role === 'admin' && exposures.length))
    f.add('fail', `${p.role} port ${p.port} exposed by ${exposures.map((x) => x.via).join(', ')}`, ev);
  else if (np.allowed && (policies.length === 0 || np.from.endsWith('from anywhere')))
    f.add(
      'fail',
      `unauthenticated ${p.role} API on pod IP:${p.port} is reachable from the whole cluster (${np.from})`,
      ev,
    );
  else f.add('pass', `${p.role} port ${p.port}: ${np.from}`, ev);
}

async function adminExposure(ctx: CheckContext): Promise<CheckOutcome> {
  const f = new Findings();
  const ports = privatePorts(ctx);
  if (ctx.deployment === 'docker' || ctx.deployment === 'kubernetes') {
    for (const p of ports) {
      const e = await portExposure(ctx, p);
      if (!e.ok) return unreadable(e);
      if (e.value.kind === 'docker') judgeDockerPort(f, e.value, false);
      else if (e.value.kind === 'kubernetes') judgeK8sPrivateApi(f, e.value);
    }
    const out = f.outcome();
    return ctx.deployment === 'docker' && out.status === 'pass'
      ? {
          ...out,
          evidence: [
            ...out.evidence,
            { source: 'note', note: 'containers on the same Docker network can still reach the admin port' },
          ],
        }
      : out;
  }
  // A host: the admin and authz listeners bind server.host; what a listener there answers is probed.
  const host = ctx.barycenter.settings.server.host;
  const scope = addressScope(host);
  const hostEv = {
    source: `${ctx.barycenter.configPath} server.host (${ctx.barycenter.sources['server.host'] ?? 'default'}); the admin and authz listeners bind the same host`,
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
    id: 'security.admin-api-exposure',
    section: 'security',
    title: 'The unauthenticated admin and authz APIs are not publicly reachable',
    rationale:
      'The admin GraphQL API can trigger jobs, change 2FA and add federation peers without authentication, and binds the same host as the public server.',
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
