import type { Logger } from '../log.js';
import type { BarysafeConfig } from '../config/schema.js';
import { parseDuration } from '../units.js';
import { fetchFailure, request } from '../platform/http.js';
import { redactText } from '../redact.js';
import type { JobName } from './schedule.js';

/**
 * Healthchecks pings (its HTTP API: <url>/start, <url> for success, <url>/<exit-code> for a
 * failure, ?rid= pairing start and finish of one run, a POST body kept up to the server's
 * Ping-Body-Limit, 10 000 bytes by default). Silence then alerts too: a host that stopped running
 * jobs stops pinging. A ping that fails is logged and never fails the job.
 */
export const PING_BODY_LIMIT = 10_000;

export class Healthchecks {
  private bodyLimit = PING_BODY_LIMIT;
  constructor(
    private readonly template: string,
    private readonly jobs: ReadonlySet<JobName>,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

  static fromConfig(config: BarysafeConfig, scheduled: readonly JobName[], logger: Logger): Healthchecks | undefined {
    const n = config.notify;
    if (!n.healthchecks_url) return undefined;
    const jobs = n.healthchecks_jobs ?? (n.healthchecks_url.includes('{job}') ? scheduled : ['backup' as const]);
    return new Healthchecks(n.healthchecks_url, new Set(jobs), parseDuration(n.timeout), logger);
  }

  pings(job: JobName): boolean {
    return this.jobs.has(job);
  }

  start(job: JobName, rid: string): Promise<void> {
    return this.ping(job, 'start', rid, undefined);
  }

  finish(job: JobName, rid: string, exitCode: number, summary: string): Promise<void> {
    return this.ping(job, exitCode === 0 ? '' : String(Math.min(255, Math.max(1, exitCode))), rid, summary);
  }

  /** The ping URL for a job, with its secret part (the check's UUID or ping key) kept out of logs. */
  urlFor(job: JobName, suffix: string, rid: string): URL {
    const u = new URL(this.template.replaceAll('{job}', encodeURIComponent(job)));
    if (suffix) u.pathname = u.pathname.replace(/\/?$/, `/${suffix}`);
    u.searchParams.set('rid', rid);
    return u;
  }

  private async ping(job: JobName, suffix: string, rid: string, body: string | undefined): Promise<void> {
    if (!this.pings(job)) return;
    const url = this.urlFor(job, suffix, rid);
    try {
      const r = await request(url.toString(), {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: body === undefined ? '' : truncateUtf8(redactText(body), this.bodyLimit),
        timeoutMs: this.timeoutMs,
      });
      const limit = Number(r.headers.get('ping-body-limit'));
      if (Number.isInteger(limit) && limit > 0) this.bodyLimit = Math.min(PING_BODY_LIMIT, limit);
      if (r.status >= 300)
        this.logger.warn(
          { job, status: r.status },
          `Healthchecks answered ${r.status} to the ${suffix || 'success'} ping`,
        );
    } catch (e) {
      this.logger.warn({ job }, `Healthchecks ping (${url.origin}) failed: ${fetchFailure(e)}`);
    }
  }
}

/** At most `limit` bytes of UTF-8, cut on a character boundary. */
export function truncateUtf8(text: string, limit: number): string {
  const b = Buffer.from(text, 'utf8');
  if (b.length <= limit) return text;
  let end = limit;
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return b.subarray(0, end).toString('utf8');
}
