import { redactUrl } from '../redact.js';
import type { CheckContext, CheckDefinition, CheckOutcome, Evidence } from './types.js';
import { Findings } from './evidence/combine.js';
import {
  barycenterPorts,
  type Exposure,
  firewallVerdict,
  judgeDockerPort,
  portExposure,
  sockEvidence,
} from './evidence/exposure.js';
import { discovery } from './evidence/http.js';
import { loadKubernetes, replicasOf } from './evidence/kubernetes.js';
import { settingSource } from './evidence/settings.js';
import { addressScope } from '../platform/net.js';

const publicBaseUrlHttps: CheckDefinition = {
  id: 'config.public-base-url-https',
  section: 'config',
  title: 'public_base_url is the external https URL and equals the discovery issuer',
  rationale:
    'The issuer is public_base_url verbatim (no X-Forwarded handling); it becomes the iss claim, discovery URLs, the WebAuthn origin and the Secure cookie flag. Without it the issuer is http://0.0.0.0:8080 and startup fails at WebAuthn.',
  severity: 'critical',
  remediation: {
    default:
      'Set server.public_base_url in config.toml (or BARYCENTER__SERVER__PUBLIC_BASE_URL) to the external https URL, e.g. https://idp.example.com, and restart.',
    kubernetes: 'Set config.server.publicBaseUrl in the Helm values to the Ingress https URL and roll the Deployment.',
    docker:
      'Pass -e BARYCENTER__SERVER__PUBLIC_BASE_URL=https://idp.example.com (or set it in the mounted config.toml) and recreate the container.',
  },
  async run(ctx) {
    const value = ctx.barycenter.settings.server.public_base_url;
    const evidence: Evidence[] = [
      {
        source: settingSource(ctx, 'server.public_base_url'),
        observed: value ?? null,
        expected: 'https://<external hostname>',
      },
    ];
    if (value === undefined || value.trim() === '') {
      return {
        status: 'fail',
        summary: `public_base_url is not set: the issuer falls back to ${ctx.barycenter.issuer}`,
        evidence,
      };
    }
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return { status: 'fail', summary: `public_base_url "${value}" is not a URL`, evidence };
    }
    const problems: string[] = [];
    if (url.protocol !== 'https:')
      problems.push(`it uses ${url.protocol.replace(':', '')}, not https (session cookies lose Secure)`);
    if (/^[\d.]+$|^\[/.test(url.hostname)) problems.push('its host is an IP address (WebAuthn needs a hostname)');
    const disc = await discovery(ctx);
    if (disc) {
      const issuer = (disc.json as { issuer?: unknown } | undefined)?.issuer;
      evidence.push({
        source: `GET ${disc.url}`,
        observed: disc.error ?? (disc.status === 200 ? { issuer } : { status: disc.status }),
        expected: { issuer: ctx.barycenter.issuer },
      });
      if (problems.length) return { status: 'fail', summary: `public_base_url ${problems.join('; ')}`, evidence };
      if (disc.error || disc.status !== 200 || typeof issuer !== 'string') {
        return {
          status: 'error',
          summary: `public_base_url is https, but discovery could not be read to compare the issuer (${disc.error ?? `HTTP ${disc.status}`})`,
          evidence,
        };
      }
      if (issuer !== ctx.barycenter.issuer) {
        return {
          status: 'fail',
          summary: `discovery at the public URL announces issuer ${issuer}, but the configured issuer is ${ctx.barycenter.issuer}`,
          evidence,
        };
      }
    }
    if (problems.length) return { status: 'fail', summary: `public_base_url ${problems.join('; ')}`, evidence };
    return { status: 'pass', summary: `issuer ${ctx.barycenter.issuer} is https and discovery announces it`, evidence };
  },
};

// ---- config.tls-terminated ---------------------------------------------------------------

/** Kubernetes: the plain HTTP port is only in-cluster, behind an Ingress/HTTPRoute that terminates TLS. */
function judgeK8sHttpPort(f: Findings, e: Exposure & { kind: 'kubernetes' }) {
  const external = e.exposures.filter((x) => x.external);
  const ingresses = e.manifests.objects.filter(
    (o) => o.kind === 'Ingress' || o.kind === 'HTTPRoute' || o.kind === 'Gateway',
  );
  const ev = {
    source: `${e.manifests.files.join(', ')} (Services, Ingress/HTTPRoute)`,
    observed: {
      services: e.exposures.map((x) => x.via),
      ingress: ingresses.map(
        (o) => `${o.kind}/${o.metadata?.name}${o.kind === 'Ingress' && o.spec?.tls ? ' (tls)' : ''}`,
      ),
    },
    expected: 'ClusterIP Service behind an Ingress/HTTPRoute that terminates TLS',
  };
  if (external.length)
    f.add('fail', `plain HTTP port exposed outside the cluster by ${external.map((x) => x.via).join(', ')}`, ev);
  else if (ingresses.length)
    f.add('pass', `HTTP port only reachable in-cluster; fronted by ${ingresses.map((o) => o.kind).join(', ')}`, ev);
  else
    f.add(
      'manual',
      'no Ingress/HTTPRoute in the manifests: confirm what terminates TLS in front of the ClusterIP Service',
      ev,
    );
}

/** A host: the plain HTTP port listens on loopback or a private interface, or the firewall filters it. */
async function judgeHostHttpPort(ctx: CheckContext, f: Findings, e: Exposure & { kind: 'host' }) {
  const { bound, port } = e;
  const scopes = bound.map((s) => addressScope(s.address));
  const ev = sockEvidence(e.source, bound, 'loopback or a private interface behind the TLS proxy');
  if (bound.length === 0) f.missing(`nothing listens on the public port ${port.port}`);
  else if (scopes.every((s) => s === 'loopback'))
    f.add('pass', `HTTP port ${port.port} listens on loopback only (proxy on this host)`, ev);
  else if (scopes.every((s) => s === 'loopback' || s === 'private'))
    f.add('pass', `HTTP port ${port.port} listens on a private interface (proxy in front)`, ev);
  else {
    const fw = await firewallVerdict(ctx, port.port);
    const fwEv = { source: 'firewall', observed: fw.verdict, note: fw.by };
    if (fw.verdict === 'blocked' || fw.verdict === 'restricted')
      f.add(
        'pass',
        `HTTP port ${port.port} listens on all interfaces but the firewall ${fw.verdict === 'blocked' ? 'blocks' : 'restricts'} it`,
        ev,
        fwEv,
      );
    else
      f.add(
        'fail',
        `plain HTTP port ${port.port} listens on ${bound.map((s) => s.address).join(', ')} and ${fw.verdict === 'unknown' ? 'no firewall could be read' : 'the firewall lets it through'}: clients can bypass TLS`,
        ev,
        fwEv,
      );
  }
}

async function judgeTlsTermination(ctx: CheckContext): Promise<CheckOutcome> {
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
  const e = await portExposure(ctx, barycenterPorts(ctx)[0]!);
  if (!e.ok)
    f.missing(
      `${ctx.deployment === 'docker' || ctx.deployment === 'kubernetes' ? `${ctx.deployment}: ` : ''}${e.reason}`,
    );
  else if (e.value.kind === 'docker') judgeDockerPort(f, e.value, false);
  else if (e.value.kind === 'kubernetes') judgeK8sHttpPort(f, e.value);
  else await judgeHostHttpPort(ctx, f, e.value);
  return f.outcome();
}

const tlsTerminated: CheckDefinition = {
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
    default: 'Terminate TLS in a reverse proxy, keep 8080 off public interfaces, set public_base_url to the https URL.',
  },
  run: judgeTlsTermination,
};

/** Replica count: checks.replicas, else the Barycenter workload (and its HPA maximum) in the manifests. */
export async function replicaCount(ctx: CheckContext): Promise<{ replicas: number; source: string }> {
  if (ctx.config.checks.replicas !== undefined)
    return { replicas: ctx.config.checks.replicas, source: 'checks.replicas in barysafe.toml' };
  const k = await loadKubernetes(ctx); // unreadable manifests are reported by the container checks
  if (k.ok) return replicasOf(k.value);
  return { replicas: 1, source: 'assumed (set checks.replicas or checks.kubernetes_manifests to state it)' };
}

const databaseChoice: CheckDefinition = {
  id: 'config.database',
  section: 'config',
  title: 'The database URL is set; PostgreSQL when more than one replica runs, SQLite only for one',
  rationale:
    'SQLite is a single-writer file: several replicas cannot share it, and each replica also runs its own job scheduler. An in-memory database loses every user, client and token at restart.',
  severity: 'high',
  remediation: {
    default:
      'Set database.url: sqlite:///<data dir>/barycenter.db?mode=rwc for one instance, postgres://… for several (note: migrations of build 8218d6f fail on PostgreSQL; test first).',
    kubernetes:
      'Keep replicaCount: 1 and autoscaling disabled with SQLite on the PVC, or point config.database.url at PostgreSQL before scaling out.',
  },
  async run(ctx): Promise<CheckOutcome> {
    const loc = ctx.barycenter.database;
    const { replicas, source } = await replicaCount(ctx);
    const shownUrl = redactUrl(ctx.barycenter.settings.database.url);
    const evidence: Evidence[] = [
      { source: settingSource(ctx, 'database.url'), observed: shownUrl },
      { source: `replica count (${source})`, observed: replicas, expected: loc.engine === 'sqlite' ? 1 : '>= 1' },
    ];
    if (!ctx.barycenter.sources['database.url']) {
      evidence[0]!.note = `not set: Barycenter's default puts the database at ${loc.engine === 'sqlite' ? loc.path : '?'} in its working directory`;
      return {
        status: 'fail',
        summary: `database.url is not set; the default ${shownUrl} is used (outside any data volume in the Docker image)`,
        evidence,
      };
    }
    if (loc.engine === 'sqlite' && loc.memory)
      return { status: 'fail', summary: 'the database is in memory: everything is lost at restart', evidence };
    if (loc.engine === 'sqlite' && replicas > 1)
      return {
        status: 'fail',
        summary: `SQLite with ${replicas} replicas: they cannot share one database file`,
        evidence,
      };
    if (loc.engine === 'postgres') {
      evidence.push({
        source: 'Barycenter migration m20260407_000001 (SQLite-only SQL)',
        note: 'Barycenter 8218d6f federation migrations are SQLite-only SQL; confirm this version starts on PostgreSQL',
      });
      return { status: 'pass', summary: `PostgreSQL (${shownUrl}) with ${replicas} replica(s)`, evidence };
    }
    return { status: 'pass', summary: `SQLite at ${loc.path} with a single replica`, evidence };
  },
};

export const checks: CheckDefinition[] = [publicBaseUrlHttps, tlsTerminated, databaseChoice];
