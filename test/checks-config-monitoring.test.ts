import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { catalogue } from '../src/checks/catalogue.js';
import { runOne } from '../src/checks/engine.js';
import type { CheckContext } from '../src/checks/types.js';
import {
  certificate,
  contextFor,
  makeDeployment,
  startTlsIdp,
  tempDir,
  writeConfigs,
  type TlsIdp,
} from './checks-fixture.js';
import { startStandin, type Standin } from './support/barycenter/launch.js';

const def = (id: string) => catalogue().find((d) => d.id === id)!;
const run = (id: string, ctx: CheckContext) => runOne(def(id), ctx);

const certDir = tempDir('barysafe-certs-');
const valid = certificate(certDir, 400);
const soon = certificate(certDir, 5);
let good: TlsIdp;
let expiring: TlsIdp;
let wrongIssuer: TlsIdp;

before(async () => {
  // Both test certificates are self-signed: trust them the way an operator trusts an internal CA.
  writeFileSync(path.join(certDir, 'ca.pem'), valid.cert + soon.cert);
  process.env.BARYSAFE_CA_FILE = path.join(certDir, 'ca.pem');
  good = await startTlsIdp({ ...valid, jwks: () => ({ keys: [] }) });
  expiring = await startTlsIdp({ ...soon, jwks: () => ({ keys: [] }) });
  wrongIssuer = await startTlsIdp({
    ...valid,
    issuer: () => 'https://old-idp.example.com',
    jwks: () => ({ keys: [] }),
  });
});
after(async () => {
  await Promise.all([good.close(), expiring.close(), wrongIssuer.close()]);
});

test('config.public-base-url-https passes when the https issuer is what discovery announces', async () => {
  const d = await makeDeployment({ publicBaseUrl: good.url });
  const r = await run('config.public-base-url-https', await contextFor(d.barysafeToml));
  assert.equal(r.status, 'pass', r.summary);
  assert.ok(r.evidence.some((e) => e.source.startsWith('GET https://localhost')));
});

test('config.public-base-url-https fails for http, an unset URL, and an issuer mismatch', async () => {
  const http = await makeDeployment({ publicBaseUrl: 'http://idp.example.com' });
  assert.equal((await run('config.public-base-url-https', await contextFor(http.barysafeToml))).status, 'fail');
  const unset = await makeDeployment({});
  const r = await run('config.public-base-url-https', await contextFor(unset.barysafeToml));
  assert.equal(r.status, 'fail');
  assert.match(r.summary, /http:\/\/127\.0\.0\.1:18080/);
  const mismatch = await makeDeployment({ publicBaseUrl: wrongIssuer.url });
  const m = await run('config.public-base-url-https', await contextFor(mismatch.barysafeToml));
  assert.equal(m.status, 'fail');
  assert.match(m.summary, /old-idp\.example\.com/);
});

test('config.database: SQLite with one replica passes; SQLite with two, or no URL at all, fails', async () => {
  const one = await makeDeployment({ checksToml: 'replicas = 1' });
  assert.equal((await run('config.database', await contextFor(one.barysafeToml))).status, 'pass');
  const two = await makeDeployment({});
  const manifest = path.join(two.dir, 'deployment.yaml');
  const deployment = (replicas: number) =>
    `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: barycenter\nspec:\n  replicas: ${replicas}\n  template:\n    spec:\n      containers:\n        - name: barycenter\n          image: ghcr.io/cloudnebulaproject/barycenter:0.2.0-beta.5\n`;
  const hpa = (target: string, max: number) =>
    `---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: ${target}-hpa\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: ${target}\n  minReplicas: 1\n  maxReplicas: ${max}\n`;
  writeFileSync(manifest, deployment(2));
  writeConfigs(two.dir, { checksToml: `kubernetes_manifests = ["${manifest}"]` });
  const r = await run('config.database', await contextFor(two.barysafeToml, 'kubernetes'));
  assert.equal(r.status, 'fail');
  assert.match(r.summary, /2 replicas/);
  assert.match(r.remediation, /replicaCount/);
  // One replica that an autoscaler of this Deployment may raise to 4: judged as 4.
  writeFileSync(manifest, deployment(1) + hpa('barycenter', 4));
  const scaled = await run('config.database', await contextFor(two.barysafeToml, 'kubernetes'));
  assert.equal(scaled.status, 'fail');
  assert.match(scaled.summary, /4 replicas/);
  assert.ok(scaled.evidence.some((e) => /HorizontalPodAutoscaler barycenter-hpa spec\.maxReplicas/.test(e.source)));
  // An autoscaler of another workload does not count.
  writeFileSync(manifest, deployment(1) + hpa('other-app', 6));
  assert.equal((await run('config.database', await contextFor(two.barysafeToml, 'kubernetes'))).status, 'pass');
  const unset = await makeDeployment({});
  writeFileSync(unset.configToml, '[server]\nport = 18080\n');
  assert.equal((await run('config.database', await contextFor(unset.barysafeToml))).status, 'fail');
});

test('monitoring.health-check passes on a live https discovery and fails when nothing answers', async () => {
  const d = await makeDeployment({ publicBaseUrl: good.url });
  assert.equal((await run('monitoring.health-check', await contextFor(d.barysafeToml))).status, 'pass');
  const dead = await makeDeployment({ publicBaseUrl: 'https://localhost:1' });
  const r = await run('monitoring.health-check', await contextFor(dead.barysafeToml));
  assert.equal(r.status, 'fail');
  assert.match(r.summary, /ECONNREFUSED/);
});

test('monitoring.certificate-expiry: 400 days passes, 5 days fails, an http URL is skipped', async () => {
  const ok = await makeDeployment({ publicBaseUrl: good.url });
  const r = await run('monitoring.certificate-expiry', await contextFor(ok.barysafeToml));
  assert.equal(r.status, 'pass', r.summary);
  assert.equal((r.evidence[0]!.observed as { days_left: number }).days_left >= 398, true);
  const bad = await makeDeployment({ publicBaseUrl: expiring.url });
  const f = await run('monitoring.certificate-expiry', await contextFor(bad.barysafeToml));
  assert.equal(f.status, 'fail');
  assert.match(f.summary, /expires in [45] day/);
  const plain = await makeDeployment({ publicBaseUrl: 'http://idp.example.com' });
  assert.equal((await run('monitoring.certificate-expiry', await contextFor(plain.barysafeToml))).status, 'skip');
});

test('monitoring.certificate-expiry fails a certificate the host does not trust', async () => {
  const saved = process.env.BARYSAFE_CA_FILE;
  delete process.env.BARYSAFE_CA_FILE;
  try {
    const d = await makeDeployment({ publicBaseUrl: good.url });
    const r = await run('monitoring.certificate-expiry', await contextFor(d.barysafeToml));
    assert.equal(r.status, 'fail');
    assert.match(r.summary, /reject/);
  } finally {
    process.env.BARYSAFE_CA_FILE = saved;
  }
});

test('monitoring.background-jobs reads jobLogs from the stand-in admin API, then falls back to job_executions', async () => {
  const dir = tempDir();
  let standin: Standin | undefined;
  try {
    standin = await startStandin({ cwd: dir });
    const db = new Database(path.join(dir, 'barycenter.db'));
    const now = Math.floor(Date.now() / 1000);
    db.prepare('INSERT INTO job_executions (job_name, started_at, completed_at, success) VALUES (?, ?, ?, 1)').run(
      'cleanup_expired_sessions',
      now - 600,
      now - 599,
    );
    const { barysafeToml } = writeConfigs(dir, {
      adminPort: standin.adminPort,
      databaseUrl: `sqlite://${path.join(dir, 'barycenter.db')}?mode=rwc`,
    });
    const pass = await run('monitoring.background-jobs', await contextFor(barysafeToml));
    assert.equal(pass.status, 'pass', pass.summary);
    assert.match(pass.evidence[0]!.source, /\/admin\/jobs/);

    db.prepare(
      'INSERT INTO job_executions (job_name, started_at, completed_at, success, error_message) VALUES (?, ?, ?, 0, ?)',
    ).run('cleanup_expired_refresh_tokens', now - 300, now - 299, 'database is locked');
    const fail = await run('monitoring.background-jobs', await contextFor(barysafeToml));
    assert.equal(fail.status, 'fail');
    assert.match(fail.summary, /cleanup_expired_refresh_tokens/);

    await standin.stop();
    const fallback = await run('monitoring.background-jobs', await contextFor(barysafeToml));
    assert.equal(fallback.status, 'fail');
    assert.match(fallback.summary, /read from job_executions/);
    db.prepare('DELETE FROM job_executions WHERE success = 0').run();
    const fallbackPass = await run('monitoring.background-jobs', await contextFor(barysafeToml));
    assert.equal(fallbackPass.status, 'pass');
    assert.match(fallbackPass.summary, /admin API unavailable/);

    // No run within the window: the scheduler is not running; the fallback judges it as the admin API does.
    db.prepare(
      'UPDATE job_executions SET started_at = started_at - 2 * 86400, completed_at = completed_at - 2 * 86400',
    ).run();
    db.close();
    const stale = await run('monitoring.background-jobs', await contextFor(barysafeToml));
    assert.equal(stale.status, 'warn', stale.summary);
    assert.match(stale.summary, /no background job started within 24h.*read from job_executions/);
  } finally {
    await standin?.stop();
  }
});
