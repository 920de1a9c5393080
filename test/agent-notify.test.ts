// What the agent tells people, against real receivers on loopback: a webhook server, a real SMTP
// server (smtp-server) and a Healthchecks-style ping endpoint. A backup failing several times
// (repository made unwritable) causes exactly one webhook call and one email; its recovery exactly
// one more of each; Healthchecks sees start, success and failure pings paired by a run id; no
// secret appears in any of it.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { Agent } from '../src/agent/agent.js';
import { Healthchecks, PING_BODY_LIMIT } from '../src/agent/heartbeat.js';
import { jobTable } from '../src/agent/jobs.js';
import { Notifications, SIGNATURE_HEADER } from '../src/agent/notify.js';
import type { JobState } from '../src/agent/state.js';
import { loadConfig } from '../src/config/load.js';
import { openStorage } from '../src/repository/open-storage.js';
import { assertNoSecret, logger } from './drill-fixtures.js';
import { makeDeployment, setupFileRepository, type Deployment } from './support/deployments.js';
import { canMakeImmutable, unwritable, writable } from './support/unwritable.js';

interface Hit {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

async function recorder(): Promise<{ url: string; hits: Hit[]; close(): Promise<void> }> {
  const hits: Hit[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hits.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(200, { 'ping-body-limit': String(PING_BODY_LIMIT) }).end('OK');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

interface Mail {
  from: string;
  to: string[];
  raw: string;
  user?: string;
}

async function smtp(password: string): Promise<{ port: number; mails: Mail[]; close(): Promise<void> }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: false,
    allowInsecureAuth: true, // loopback test server without TLS; the agent is told smtp_require_tls = false
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === 'barysafe' && auth.password === password) cb(null, { user: auth.username });
      else cb(new Error('invalid credentials'));
    },
    onData(stream, session, cb) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString()));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          user: session.user as string | undefined,
        });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.server.address() as AddressInfo).port,
    mails,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const WEBHOOK_KEY = 'whsec-0f3e9a7c1b2d4e6f8a9b0c1d2e3f4a5b';
const SMTP_PASSWORD = 'smtp-pw-7d1c9e4b2a';

describe(
  'notifications and heartbeats',
  { skip: canMakeImmutable() ? false : 'chattr +i is not available here' },
  () => {
    let d: Deployment;
    let repoRoot: string;
    let configPath: string;
    let identityFile: string;
    let webhook: Awaited<ReturnType<typeof recorder>>;
    let hc: Awaited<ReturnType<typeof recorder>>;
    let mail: Awaited<ReturnType<typeof smtp>>;
    let agent: Agent;
    let running: Promise<void>;
    const state = async () =>
      JSON.parse(
        await readFile(path.join(d.dir.path, 'state', 'agent', 'backup.json'), 'utf8').catch(() => '{}'),
      ) as JobState;

    before(async () => {
      d = await makeDeployment();
      const s = await setupFileRepository(d);
      repoRoot = s.repoRoot;
      configPath = s.configPath;
      identityFile = s.identityFile;
      [webhook, hc, mail] = await Promise.all([recorder(), recorder(), smtp(SMTP_PASSWORD)]);
      await writeFile(path.join(s.etc, 'webhook.key'), WEBHOOK_KEY + '\n', { mode: 0o600 });
      await writeFile(path.join(s.etc, 'smtp.pass'), SMTP_PASSWORD + '\n', { mode: 0o600 });
      await writeFile(
        configPath,
        (await readFile(configPath, 'utf8')) +
          `\n[state]\ndir = "${path.join(d.dir.path, 'state')}"\n` +
          `\n[schedule]\nbackup = "*/2 * * * * *"\n` +
          `\n[notify]\nhealthchecks_url = "${hc.url}/ping/PINGKEY-secret/barysafe-{job}"\n` +
          `webhook_url = "${webhook.url}/hook"\nwebhook_secret_file = "webhook.key"\n` +
          `email_to = ["ops@example.org"]\nemail_from = "barysafe@example.org"\nsmtp_url = "smtp://127.0.0.1:${mail.port}"\n` +
          `smtp_user = "barysafe"\nsmtp_password_file = "smtp.pass"\nsmtp_require_tls = false\n`,
      );
      const { config } = await loadConfig(configPath);
      agent = new Agent({
        config,
        configPath,
        logger,
        storage: openStorage(config.repository),
        jobs: jobTable(),
        notifier: await Notifications.fromConfig(config, logger),
        heartbeat: Healthchecks.fromConfig(config, ['backup'], logger),
      });
      await agent.init();
      running = agent.run();
    });

    after(async () => {
      writable(repoRoot);
      agent?.stop();
      await running;
      await Promise.all([webhook?.close(), hc?.close(), mail?.close()]);
      await d?.dir.cleanup();
    });

    it('successes notify nobody; Healthchecks gets /start then success with the same rid', async () => {
      await waitFor(
        'two successful backups',
        async () => hc.hits.filter((h) => /\/barysafe-backup\?rid=/.test(h.path)).length >= 2,
      );
      assert.equal(webhook.hits.length, 0);
      assert.equal(mail.mails.length, 0);
      const start = hc.hits.find((h) => h.path.includes('/barysafe-backup/start?rid='))!;
      const rid = new URL(start.path, hc.url).searchParams.get('rid')!;
      assert.match(rid, /^[0-9a-f-]{36}$/);
      const success = hc.hits.find((h) => h.path === `/ping/PINGKEY-secret/barysafe-backup?rid=${rid}`);
      assert.ok(success, `success ping for ${rid}: ${hc.hits.map((h) => h.path).join(' ')}`);
      assert.match(success.body, /backup succeeded \(exit 0\)/);
      assert.match(success.body, /snapshot \d{8}T\d{6}Z-[0-9a-f]{6}/);
      assert.ok(Buffer.byteLength(success.body) <= PING_BODY_LIMIT);
    });

    it('a failing backup: one webhook call and one email however often it fails; recovery: one more of each', async () => {
      unwritable(repoRoot);
      const failedOnce = await waitFor('a failure', async () =>
        (await state()).last_run?.success === false ? state() : undefined,
      );
      assert.equal(failedOnce.last_run!.exit_code, 10, failedOnce.last_run!.summary);
      const firstFailure = failedOnce.last_run!.run_id;
      await waitFor('two more failed runs', async () => {
        const st = await state();
        return st.last_run &&
          !st.last_run.success &&
          st.last_run.run_id !== firstFailure &&
          st.last_run.finished_at > failedOnce.last_run!.finished_at
          ? hc.hits.filter((h) => /barysafe-backup\/10\?rid=/.test(h.path)).length >= 3
          : undefined;
      });
      await waitFor('the email', () => mail.mails.length >= 1 || undefined);
      assert.equal(webhook.hits.length, 1, 'exactly one webhook call for the failure');
      assert.equal(mail.mails.length, 1, 'exactly one email for the failure');

      const event = JSON.parse(webhook.hits[0]!.body) as Record<string, unknown>;
      assert.equal(event.kind, 'failure');
      assert.equal(event.job, 'backup');
      assert.equal(event.exit_code, 10);
      assert.equal(event.run_id, firstFailure);
      assert.equal(event.expected_interval_seconds, 2);
      assert.equal(webhook.hits[0]!.headers['x-barysafe-event'], 'failure');
      assert.equal(
        webhook.hits[0]!.headers[SIGNATURE_HEADER],
        `sha256=${createHmac('sha256', WEBHOOK_KEY).update(webhook.hits[0]!.body).digest('hex')}`,
        'the HMAC-SHA256 signature covers the exact body',
      );
      assert.equal(mail.mails[0]!.user, 'barysafe', 'the SMTP server authenticated the agent');
      assert.deepEqual(mail.mails[0]!.to, ['ops@example.org']);
      assert.match(mail.mails[0]!.raw, /Subject: \[barysafe\] backup FAILED on /);
      assert.match(mail.mails[0]!.raw, /exit code: 10/);

      // Failure pings carry the exit code and pair with their start.
      const fail = hc.hits.find((h) => h.path.includes(`/barysafe-backup/10?rid=${firstFailure}`));
      assert.ok(fail, 'failure ping with the exit code and the run id');
      assert.ok(hc.hits.some((h) => h.path.includes(`/barysafe-backup/start?rid=${firstFailure}`)));
      assert.match(fail.body, /not writable/);

      writable(repoRoot);
      await waitFor('the recovery email', () => mail.mails.length >= 2 || undefined);
      await waitFor('a success again', async () => ((await state()).last_run?.success ? true : undefined));
      await new Promise((r) => setTimeout(r, 4500)); // two more slots: still no further notification
      assert.equal(webhook.hits.length, 2);
      assert.equal(mail.mails.length, 2);
      assert.equal((JSON.parse(webhook.hits[1]!.body) as { kind: string }).kind, 'recovery');
      assert.match(mail.mails[1]!.raw, /Subject: \[barysafe\] backup recovered on /);
    });

    it('no secret in any webhook body or header, email, ping URL body or the state', async () => {
      const jwk = JSON.parse(await readFile(path.join(d.workdir, 'data/private_key.pem'), 'utf8')) as Record<
        string,
        string
      >;
      const identity = (await readFile(identityFile, 'utf8')).split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'))!;
      const secrets = [WEBHOOK_KEY, SMTP_PASSWORD, jwk.d!, jwk.p!, jwk.q!, identity];
      const stateText = await readFile(path.join(d.dir.path, 'state', 'agent', 'backup.json'), 'utf8');
      assertNoSecret(
        [
          ...webhook.hits.map((h) => h.body + JSON.stringify(h.headers)),
          ...mail.mails.map((m) => m.raw),
          ...hc.hits.map((h) => h.body),
          stateText,
        ],
        secrets,
      );
      // The email is plain text that says what happened; the SMTP password travelled only in AUTH.
      assert.doesNotMatch(mail.mails.map((m) => m.raw).join('\n'), /PINGKEY/);
    });
  },
);
