import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { redactUrl } from '../redact.js';
import type { CheckContext, CheckDefinition, CheckOutcome, Evidence } from './types.js';
import { discovery } from './evidence/http.js';

/** Where a Barycenter setting came from, as an evidence source. */
export function settingSource(ctx: CheckContext, dotted: string): string {
  const src = ctx.barycenter.sources[dotted] ?? 'default';
  const where =
    src === 'file'
      ? ctx.barycenter.configPath
      : src === 'env_file'
        ? ctx.barycenter.envFile
        : src === 'env'
          ? 'environment of barysafe'
          : 'Barycenter default';
  return `setting ${dotted} (${src}: ${where})`;
}

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

/** Replica count: checks.replicas, else the Deployment/StatefulSet (and HPA maximum) in the manifests. */
export function replicaCount(ctx: CheckContext): { replicas: number; source: string } {
  if (ctx.config.checks.replicas !== undefined)
    return { replicas: ctx.config.checks.replicas, source: 'checks.replicas in barysafe.toml' };
  let found: { replicas: number; source: string } | undefined;
  for (const file of ctx.config.checks.kubernetes_manifests) {
    let docs;
    try {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- replaced by the kubernetes evidence reader
      docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Record<string, any> | null);
    } catch {
      continue; // unreadable manifests are reported by the container checks
    }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
    for (const doc of docs.flatMap((d) => (d?.kind === 'List' ? (d.items as Record<string, any>[]) : [d]))) {
      if (!doc) continue;
      if ((doc.kind === 'Deployment' || doc.kind === 'StatefulSet') && !found)
        found = {
          replicas: Number(doc.spec?.replicas ?? 1),
          source: `${file}: ${doc.kind} ${doc.metadata?.name ?? ''} spec.replicas`,
        };
      if (doc.kind === 'HorizontalPodAutoscaler' && Number(doc.spec?.maxReplicas) > (found?.replicas ?? 1)) {
        found = {
          replicas: Number(doc.spec.maxReplicas),
          source: `${file}: HorizontalPodAutoscaler ${doc.metadata?.name ?? ''} spec.maxReplicas`,
        };
      }
    }
  }
  return found ?? { replicas: 1, source: 'assumed (set checks.replicas or checks.kubernetes_manifests to state it)' };
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
      'Set database.url: sqlite:///<data dir>/barycenter.db?mode=rwc for one instance, postgres://… for several (note: facts §3.5 — Barycenter HEAD migrations may fail on PostgreSQL; test first).',
    kubernetes:
      'Keep replicaCount: 1 and autoscaling disabled with SQLite on the PVC, or point config.database.url at PostgreSQL before scaling out.',
  },
  async run(ctx): Promise<CheckOutcome> {
    const loc = ctx.barycenter.database;
    const { replicas, source } = replicaCount(ctx);
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
        source: 'barycenter-facts §3.5',
        note: 'Barycenter 8218d6f federation migrations are SQLite-only SQL; confirm this version starts on PostgreSQL',
      });
      return { status: 'pass', summary: `PostgreSQL (${shownUrl}) with ${replicas} replica(s)`, evidence };
    }
    return { status: 'pass', summary: `SQLite at ${loc.path} with a single replica`, evidence };
  },
};

export const checks: CheckDefinition[] = [publicBaseUrlHttps, databaseChoice];
