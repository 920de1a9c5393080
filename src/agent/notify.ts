import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import type { Logger } from '../log.js';
import { createTransport, type Transporter } from 'nodemailer';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import type { BarysafeConfig } from '../config/schema.js';
import { parseDuration } from '../units.js';
import { fetchFailure, request } from '../platform/http.js';
import { redactText } from '../redact.js';
import type { JobName } from './schedule.js';

/**
 * People are told when something changes, never on each success: a job's first failure, its
 * recovery, and a job whose last success is older than `stale_factor` expected intervals. The
 * webhook gets one JSON document (signed with HMAC-SHA256 when a key is configured), the mailbox one
 * plain-text email. Every text passes through redactText; secrets (SMTP password, HMAC key) are
 * read from files and never enter a message.
 */
export const EVENT_FORMAT = 'barysafe.agent-event/v1';
export const SIGNATURE_HEADER = 'x-barysafe-signature';

export type EventKind = 'failure' | 'recovery' | 'stale';

export interface AgentEvent {
  format: typeof EVENT_FORMAT;
  kind: EventKind;
  job: JobName;
  host: string;
  at: string;
  summary: string;
  exit_code?: number;
  run_id?: string;
  last_success_at: string | null;
  expected_interval_seconds?: number;
}

export interface Notifier {
  send(event: AgentEvent): Promise<void>;
}

export function makeEvent(e: Omit<AgentEvent, 'format' | 'host' | 'summary'> & { summary: string }): AgentEvent {
  return { format: EVENT_FORMAT, host: os.hostname(), ...e, summary: redactText(e.summary) };
}

/** The signature a receiver recomputes over the exact body bytes: "sha256=<hex>". */
export function signBody(key: string | Buffer, body: string): string {
  return `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
}

async function readSecretFile(file: string, what: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
  } catch (e) {
    throw new BarysafeError(
      'notify',
      `cannot read the ${what} file ${file}: ${(e as NodeJS.ErrnoException).code ?? errorText(e)}`,
      {
        exitCode: ExitCode.USAGE,
      },
    );
  }
}

class Webhook implements Notifier {
  constructor(
    private readonly url: string,
    private readonly key: string | undefined,
    private readonly timeoutMs: number,
  ) {}
  async send(event: AgentEvent): Promise<void> {
    const body = JSON.stringify(event);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'barysafe-agent',
      'x-barysafe-event': event.kind,
    };
    if (this.key) headers[SIGNATURE_HEADER] = signBody(this.key, body);
    let r;
    try {
      r = await request(this.url, { method: 'POST', headers, body, timeoutMs: this.timeoutMs });
    } catch (e) {
      throw new Error(`webhook ${new URL(this.url).origin} did not answer: ${fetchFailure(e)}`);
    }
    if (r.status < 200 || r.status >= 300) throw new Error(`webhook ${new URL(this.url).origin} answered ${r.status}`);
  }
}

class Email implements Notifier {
  constructor(
    private readonly transport: Transporter,
    private readonly from: string,
    private readonly to: string[],
  ) {}
  async send(event: AgentEvent): Promise<void> {
    const what = { failure: 'FAILED', recovery: 'recovered', stale: 'is STALE' }[event.kind];
    const lines = [
      `${event.job} ${what} on ${event.host} at ${event.at}.`,
      '',
      event.summary,
      '',
      ...(event.exit_code !== undefined ? [`exit code: ${event.exit_code}`] : []),
      `last success: ${event.last_success_at ?? 'never'}`,
      ...(event.expected_interval_seconds !== undefined
        ? [`expected every: ${Math.round(event.expected_interval_seconds)} s`]
        : []),
      ...(event.run_id ? [`run id: ${event.run_id}`] : []),
    ];
    await this.transport.sendMail({
      from: this.from,
      to: this.to,
      subject: `[barysafe] ${event.job} ${what} on ${event.host}`,
      text: redactText(lines.join('\n')) + '\n',
      headers: { 'X-Barysafe-Event': event.kind },
    });
  }
}

/** Every channel configured in [notify]; a channel that fails is logged, the others still get the event. */
export class Notifications implements Notifier {
  constructor(
    private readonly channels: Array<{ name: string; notifier: Notifier }>,
    private readonly logger: Logger,
  ) {}

  get empty(): boolean {
    return this.channels.length === 0;
  }

  static async fromConfig(config: BarysafeConfig, logger: Logger): Promise<Notifications> {
    const n = config.notify;
    const timeoutMs = parseDuration(n.timeout);
    const channels: Array<{ name: string; notifier: Notifier }> = [];
    if (n.webhook_url) {
      const key = n.webhook_secret_file ? await readSecretFile(n.webhook_secret_file, 'webhook secret') : undefined;
      channels.push({ name: 'webhook', notifier: new Webhook(n.webhook_url, key, timeoutMs) });
    }
    if (n.email_to.length && n.smtp_url && n.email_from) {
      const u = new URL(n.smtp_url);
      const secure = u.protocol === 'smtps:';
      const pass = n.smtp_password_file ? await readSecretFile(n.smtp_password_file, 'SMTP password') : undefined;
      const transport = createTransport({
        host: u.hostname.replace(/^\[|\]$/g, ''),
        port: Number(u.port) || (secure ? 465 : 587),
        secure,
        // Credentials never cross the wire in clear: with a user, STARTTLS is required unless said otherwise.
        requireTLS: !secure && (n.smtp_require_tls ?? n.smtp_user !== undefined),
        ignoreTLS: !secure && n.smtp_require_tls === false && n.smtp_user === undefined,
        ...(n.smtp_user ? { auth: { user: n.smtp_user, pass: pass ?? '' } } : {}),
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: timeoutMs,
      });
      channels.push({ name: 'email', notifier: new Email(transport, n.email_from, n.email_to) });
    }
    return new Notifications(channels, logger);
  }

  async send(event: AgentEvent): Promise<void> {
    await Promise.all(
      this.channels.map(async (c) => {
        try {
          await c.notifier.send(event);
          this.logger.info(
            { job: event.job, channel: c.name, event: event.kind },
            `notified ${c.name}: ${event.job} ${event.kind}`,
          );
        } catch (e) {
          this.logger.error(
            { job: event.job, channel: c.name },
            `could not notify ${c.name}: ${redactText(errorText(e))}`,
          );
        }
      }),
    );
  }
}
