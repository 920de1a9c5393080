import { parseDuration } from '../units.js';
import { redactText } from '../redact.js';
import type { CheckContext, CheckDefinition, CheckOutcome, Evidence } from './types.js';
import { freeSpace, nearestExisting } from './evidence/filesystem.js';
import { dataDirOf } from './evidence/identity.js';
import { adminBaseUrl, discovery, publicUrl, request } from './evidence/http.js';
import { openDatabase, type JobRow } from './evidence/database.js';
import { probeTls } from './evidence/tls.js';

const healthCheck: CheckDefinition = {
  id: 'monitoring.health-check',
  section: 'monitoring',
  title: 'The discovery endpoint answers at the public URL',
  rationale:
    'Relying parties start every login from discovery; it is also the only meaningful health probe (the Docker HEALTHCHECK is a no-op and the compose one always fails).',
  severity: 'high',
  remediation: {
    default: 'Probe GET <public URL>/.well-known/openid-configuration from your monitoring and alert on non-200.',
    docker:
      'Replace the image HEALTHCHECK with an HTTP probe of /.well-known/openid-configuration (the image has no curl: probe from outside or add a static probe binary).',
    kubernetes:
      'Keep the chart liveness/readiness probes on /.well-known/openid-configuration and add an external blackbox probe of the Ingress URL.',
  },
  async run(ctx) {
    const disc = await discovery(ctx);
    if (!disc)
      return {
        status: 'error',
        summary: 'no public URL is known: set barycenter.public_url in barysafe.toml or server.public_base_url',
        evidence: [],
      };
    const issuer = (disc.json as { issuer?: unknown } | undefined)?.issuer;
    const evidence: Evidence[] = [
      {
        source: `GET ${disc.url}`,
        observed: disc.error ?? { status: disc.status, content_type: disc.contentType, issuer },
        expected: { status: 200, issuer: ctx.barycenter.issuer },
      },
    ];
    if (disc.error) return { status: 'fail', summary: `discovery did not answer: ${disc.error}`, evidence };
    if (disc.status !== 200 || typeof issuer !== 'string')
      return {
        status: 'fail',
        summary: `discovery answered HTTP ${disc.status} without a discovery document`,
        evidence,
      };
    return { status: 'pass', summary: `discovery answers 200 with issuer ${issuer}`, evidence };
  },
};

const certificateExpiry: CheckDefinition = {
  id: 'monitoring.certificate-expiry',
  section: 'monitoring',
  title: 'The TLS certificate of the public URL is valid for more than checks.cert_min_days',
  rationale:
    'An expired certificate stops every login at once; automated renewal (certbot, cert-manager) fails silently more often than it should.',
  severity: 'high',
  remediation: {
    default: 'Renew the certificate and verify the automated renewal (certbot renew --dry-run) and its reload hook.',
    kubernetes:
      'Check the cert-manager Certificate and its Issuer (kubectl describe certificate) and the Ingress TLS secret.',
  },
  async run(ctx) {
    const base = publicUrl(ctx);
    if (!base)
      return {
        status: 'error',
        summary: 'no public URL is known: set barycenter.public_url or server.public_base_url',
        evidence: [],
      };
    const url = new URL(base);
    if (url.protocol !== 'https:')
      return {
        status: 'skip',
        summary: `the public URL ${base} is not https, so there is no certificate to check (see config.public-base-url-https)`,
        evidence: [],
      };
    const port = Number(url.port || 443);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const min = ctx.config.checks.cert_min_days;
    let facts;
    try {
      facts = await probeTls(ctx, host, port);
    } catch (e) {
      return {
        status: 'error',
        summary: (e as Error).message,
        evidence: [{ source: `TLS handshake ${host}:${port}` }],
      };
    }
    const evidence: Evidence[] = [
      {
        source: `TLS handshake ${host}:${port} (${facts.protocol ?? '?'})`,
        observed: {
          subject: facts.subject,
          issuer: facts.issuer,
          subject_alt_name: facts.subjectAltName,
          not_after: facts.validTo,
          days_left: facts.daysLeft,
          trusted: facts.authorized,
          sha256: facts.fingerprint256,
        },
        expected: { days_left: `> ${min}`, trusted: true },
      },
    ];
    if (facts.daysLeft < 0) return { status: 'fail', summary: `the certificate expired on ${facts.validTo}`, evidence };
    if (facts.daysLeft <= min)
      return {
        status: 'fail',
        summary: `the certificate expires in ${facts.daysLeft} day(s) (${facts.validTo}), within checks.cert_min_days = ${min}`,
        evidence,
      };
    if (!facts.authorized)
      return {
        status: 'fail',
        summary: `the certificate is valid ${facts.daysLeft} more days but clients will reject it: ${facts.authorizationError}`,
        evidence,
      };
    return {
      status: 'pass',
      summary: `the certificate is valid for ${facts.daysLeft} more days (until ${facts.validTo}) and trusted`,
      evidence,
    };
  },
};

interface JobLog {
  jobName: string;
  startedAt: number;
  success: number | null;
  errorMessage: string | null;
}

const JOB_QUERY = `query BarysafeJobCheck($limit: Int!) {
  failures: jobLogs(limit: $limit, onlyFailures: true) { jobName startedAt success errorMessage }
  latest: jobLogs(limit: 1) { jobName startedAt success }
}`;

const backgroundJobs: CheckDefinition = {
  id: 'monitoring.background-jobs',
  section: 'monitoring',
  title: 'No failed background job within checks.job_window',
  rationale:
    'Cleanup jobs keep sessions, refresh tokens, challenges and device codes from growing without bound; a failing or stopped scheduler goes unnoticed otherwise.',
  severity: 'medium',
  remediation: {
    default:
      'Read the failures (jobLogs(onlyFailures: true) on the admin port, or job_executions), fix the cause, and re-run with triggerJob; alert on new failures.',
  },
  async run(ctx) {
    const windowText = ctx.config.checks.job_window;
    const since = Math.floor((ctx.now.getTime() - parseDuration(windowText)) / 1000);
    const endpoint = `${adminBaseUrl(ctx)}/admin/jobs`;
    const res = await request(endpoint, { method: 'POST', body: { query: JOB_QUERY, variables: { limit: 200 } } });
    const data =
      (res.json as
        { data?: { failures?: JobLog[]; latest?: JobLog[] }; errors?: Array<{ message: string }> } | undefined) ?? {};
    const evidence: Evidence[] = [];
    let failures: JobRow[];
    let note = '';
    if (!res.error && res.status === 200 && Array.isArray(data.data?.failures)) {
      failures = data
        .data!.failures!.filter((j) => j.startedAt >= since)
        .map((j) => ({
          job_name: j.jobName,
          started_at: j.startedAt,
          success: j.success,
          error_message: j.errorMessage,
        }));
      const latest = data.data!.latest?.[0];
      evidence.push({
        source: `POST ${endpoint} jobLogs(limit: 200, onlyFailures: true)`,
        observed: {
          failures_in_window: failures.length,
          latest_run: latest ? { job: latest.jobName, started_at: iso(latest.startedAt) } : null,
        },
        expected: { failures_in_window: 0 },
      });
      if (!latest || latest.startedAt < since) {
        return {
          status: 'warn',
          summary: `no background job started within ${windowText}: is the scheduler running?`,
          evidence,
        };
      }
    } else {
      const why =
        res.error ??
        (data.errors?.length ? `GraphQL error: ${redactText(data.errors[0]!.message)}` : `HTTP ${res.status}`);
      evidence.push({
        source: `POST ${endpoint}`,
        observed: why,
        note: 'admin API unavailable; falling back to the job_executions table',
      });
      const access = await openDatabase(ctx);
      if (!access.ok)
        return {
          status: 'error',
          summary: `neither the admin API (${why}) nor the database (${access.reason}) could be read`,
          evidence,
        };
      let latest: number | null;
      try {
        failures = await access.value.failedJobsSince(since);
        latest = await access.value.latestJobStart();
      } catch (e) {
        return {
          status: 'error',
          summary: `the admin API was unavailable (${why}) and job_executions could not be read: ${(e as Error).message}`,
          evidence,
        };
      }
      evidence.push({
        source: `${access.source} job_executions (success = 0, started_at >= ${iso(since)}; newest started_at)`,
        observed: { failures_in_window: failures.length, latest_run: latest === null ? null : iso(latest) },
        expected: { failures_in_window: 0 },
      });
      note = ' (read from job_executions: admin API unavailable)';
      // The same judgement as through the admin API: no run at all within the window means no scheduler.
      if (failures.length === 0 && (latest === null || latest < since)) {
        return {
          status: 'warn',
          summary: `no background job started within ${windowText}: is the scheduler running?${note}`,
          evidence,
        };
      }
    }
    if (failures.length) {
      evidence.push({
        source: 'failed runs',
        observed: failures.slice(0, 20).map((j) => ({
          job: j.job_name,
          started_at: iso(j.started_at),
          error: j.error_message ? redactText(j.error_message) : null,
        })),
      });
      const names = [...new Set(failures.map((f) => f.job_name))].join(', ');
      return {
        status: 'fail',
        summary: `${failures.length} failed job run(s) within ${windowText}: ${names}${note}`,
        evidence,
      };
    }
    return { status: 'pass', summary: `no failed job run within ${windowText}${note}`, evidence };
  },
};

/** Free space on the file system holding the data directory (statfs(2)). */
async function judgeFreeSpace(ctx: CheckContext): Promise<CheckOutcome> {
  const min = ctx.config.checks.disk_free_min_percent;
  const dir = dataDirOf(ctx);
  const existing = await nearestExisting(dir);
  if (existing === '/' && dir !== '/' && (ctx.deployment === 'docker' || ctx.deployment === 'kubernetes')) {
    return {
      status: 'error',
      summary: `${dir} is not visible from this host (container path); run barysafe where the data volume is mounted`,
      evidence: [],
    };
  }
  try {
    const s = await freeSpace(existing);
    const pct = Math.round(s.freePercent * 10) / 10;
    const ev = {
      source: `statfs(${existing})${existing !== dir ? ` (nearest existing parent of ${dir})` : ''}`,
      observed: `${pct}% free (${(s.freeBytes / 2 ** 30).toFixed(1)} GiB of ${(s.totalBytes / 2 ** 30).toFixed(1)} GiB)`,
      expected: `≥ ${min}% free (checks.disk_free_min_percent)`,
    };
    return pct >= min
      ? { status: 'pass', summary: `${pct}% free on the data volume`, evidence: [ev] }
      : { status: 'fail', summary: `only ${pct}% free on the data volume (minimum ${min}%)`, evidence: [ev] };
  } catch (e) {
    return { status: 'error', summary: `statfs(${existing}) failed: ${(e as Error).message}`, evidence: [] };
  }
}

const diskUsage: CheckDefinition = {
  id: 'monitoring.disk-usage',
  section: 'monitoring',
  title: 'Free space on the data volume is above the threshold',
  rationale: 'SQLite fails writes when the disk fills; logins and token issuance then stop.',
  severity: 'medium',
  remediation: {
    kubernetes: 'Grow the PVC (persistence.size) or clean up; alert on kubelet_volume_stats_available_bytes.',
    default: 'Free or add space on the file system holding the data directory, and alert before it fills.',
  },
  run: judgeFreeSpace,
};

function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}

export const checks: CheckDefinition[] = [healthCheck, diskUsage, certificateExpiry, backgroundJobs];
