import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Ajv } from 'ajv';
import AjvDraft04Module from 'ajv-draft-04';
import addFormatsModule from 'ajv-formats';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { fileURLToPath } from 'node:url';
import { runCheckCommand } from '../src/cli/check.js';
import { renderReport, REPORT_FORMATS } from '../src/report/index.js';
import type { CheckReport } from '../src/checks/report.js';
import {
  addClient,
  addUser,
  certificate,
  makeDeployment,
  publicJwk,
  putDrill,
  putSnapshot,
  rsaJwk,
  startTlsIdp,
  tempDir,
  writeKeys,
  type Deployment,
  type TlsIdp,
} from './checks-fixture.js';

// A CommonJS module whose class is its `default` export.
const AjvDraft04 = (AjvDraft04Module as unknown as { default: new (o: { allErrors: boolean; strict: boolean }) => Ajv })
  .default;
const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv) => Ajv }).default;
const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures');

/** The application-level checks this test drives end to end (the host-evidence ones have their own tests). */
const MINE = [
  'config.public-base-url-https',
  'config.database',
  'backup.private-key',
  'backup.database',
  'backup.config',
  'backup.restore-tested',
  'monitoring.health-check',
  'monitoring.certificate-expiry',
  'monitoring.background-jobs',
  'clients.review',
  'clients.redirect-uris-https',
  'security.default-admin-password',
  'security.jwks-matches-key',
  'security.key-strength',
  'security.demo-users',
  'security.secrets-in-config',
];

const schema = JSON.parse(
  readFileSync(new URL('../../docs/schemas/check-report.v1.json', import.meta.url), 'utf8'),
) as object;
const validate = addFormats(new Ajv({ allErrors: true })).compile(schema);

const certDir = tempDir('barysafe-certs-');
const valid = certificate(certDir, 400);
const soon = certificate(certDir, 5);
let goodIdp: TlsIdp;
let badIdp: TlsIdp;
let good: Deployment;
let bad: Deployment;

before(async () => {
  writeFileSync(path.join(certDir, 'ca.pem'), valid.cert + soon.cert);
  process.env.BARYSAFE_CA_FILE = path.join(certDir, 'ca.pem');
  const goodKey = rsaJwk();
  goodIdp = await startTlsIdp({ ...valid, jwks: () => ({ keys: [publicJwk(goodKey)] }) });
  // Follows the checklist: https issuer announced by discovery, strong admin, https clients, fresh signed backups, a recent drill.
  good = await makeDeployment({ publicBaseUrl: goodIdp.url, adminPort: 1, key: goodKey, checksToml: 'replicas = 1' });
  chmodSync(good.configToml, 0o600);
  const db = new Database(good.dbFile);
  await addUser(db, 'admin', 'a-long-and-unguessable-admin-passphrase');
  addClient(db, 'Payroll', ['https://payroll.acme-corp.net/cb']);
  db.prepare('INSERT INTO job_executions (job_name, started_at, completed_at, success) VALUES (?, ?, ?, 1)').run(
    'cleanup_expired_sessions',
    Math.floor(Date.now() / 1000) - 60,
    Math.floor(Date.now() / 1000) - 59,
  );
  db.close();
  await putSnapshot(good, new Date(Date.now() - 3_600_000), ['key', 'jwks', 'database', 'config']);
  await putDrill(good, new Date(Date.now() - 86_400_000), 'pass');

  // Breaks every item: IP issuer, discovery down, expiring certificate, published private key, stale jwks.json,
  // admin/password123, demo users, http clients, world-readable inline DB password, no backups, no drill, failed jobs.
  const badKey = rsaJwk();
  badIdp = await startTlsIdp({ ...soon, discoveryStatus: 503, jwks: () => ({ keys: [badKey] }) });
  const port = new URL(badIdp.url).port;
  bad = await makeDeployment({
    publicBaseUrl: `https://127.0.0.1:${port}`,
    adminPort: 1,
    key: badKey,
    checksToml: 'replicas = 3',
    databaseUrl: `sqlite://${path.join(tempDir(), 'barycenter.db')}?mode=rwc`,
  });
  writeKeys(bad.dataDir, badKey, [publicJwk(rsaJwk())]);
  const badDbUrl = readFileSync(bad.configToml, 'utf8').match(/sqlite:\/\/([^?]+)/)![1]!;
  const { createDatabase } = await import('./checks-fixture.js');
  const bdb = createDatabase(badDbUrl);
  await addUser(bdb, 'admin', 'password123');
  await addUser(bdb, 'alice', 'alice-secure-password');
  addClient(bdb, 'test client', ['http://app.acme-corp.net/cb']);
  bdb
    .prepare('INSERT INTO job_executions (job_name, started_at, success, error_message) VALUES (?, ?, 0, ?)')
    .run('cleanup_expired_device_codes', Math.floor(Date.now() / 1000) - 60, 'boom');
  bdb.close();
  writeFileSync(
    bad.configToml,
    readFileSync(bad.configToml, 'utf8') + '\n[webfinger]\nservice_token = "inline-token"\n',
    { mode: 0o644 },
  );
  chmodSync(bad.configToml, 0o644);
});
after(async () => {
  await Promise.all([goodIdp.close(), badIdp.close()]);
});

test('a deployment that follows the checklist reports no fail and no error; its JSON matches the schema', async () => {
  const res = await runCheckCommand({ config: good.barysafeToml, json: true, only: MINE });
  const report = JSON.parse(res.output) as CheckReport;
  assert.ok(validate(report), JSON.stringify(validate.errors));
  const notOk = report.results.filter((r) => r.status === 'fail' || r.status === 'error');
  assert.deepEqual(
    notOk.map((r) => `${r.id}: ${r.summary}`),
    [],
  );
  assert.equal(report.results.find((r) => r.id === 'clients.review')!.status, 'manual');
  assert.equal(res.exitCode, 0);
  assert.equal(report.exit_code, 0);
  assert.equal(report.summary.total, MINE.length);
});

test('a deployment that breaks every item reports each break under its id, without leaking a secret', async () => {
  const res = await runCheckCommand({ config: bad.barysafeToml, format: 'json', only: MINE });
  const report = JSON.parse(res.output) as CheckReport;
  assert.ok(validate(report), JSON.stringify(validate.errors));
  const status = Object.fromEntries(report.results.map((r) => [r.id, r.status]));
  for (const id of MINE.filter((i) => i !== 'clients.review'))
    assert.equal(status[id], 'fail', `${id}: ${report.results.find((r) => r.id === id)!.summary}`);
  assert.equal(status['clients.review'], 'manual');
  assert.equal(res.exitCode, 3);
  assert.doesNotMatch(res.output, /inline-token|\$argon2|"(d|p|q|dp|dq|qi)": "/);
  for (const r of report.results)
    assert.ok(
      r.evidence.length > 0 && r.remediation && r.rationale,
      `${r.id} carries evidence, rationale and remediation`,
    );
});

test('waivers show as waived with the raw status; an unknown waiver id is reported', async () => {
  writeFileSync(
    bad.barysafeToml,
    readFileSync(bad.barysafeToml, 'utf8') +
      `
[[checks.waivers]]
id = "backup.restore-tested"
reason = "first drill scheduled next week"
expires = "2099-12-31"

[[checks.waivers]]
id = "backup.restore-tsted"
reason = "typo"
expires = "2099-12-31"
`,
  );
  const res = await runCheckCommand({ config: bad.barysafeToml, format: 'json', only: ['backup.restore-tested'] });
  const report = JSON.parse(res.output) as CheckReport;
  assert.ok(validate(report), JSON.stringify(validate.errors));
  assert.equal(report.results[0]!.status, 'waived');
  assert.equal(report.results[0]!.raw_status, 'fail');
  assert.equal(res.exitCode, 0);
  assert.match(report.warnings[0]!, /backup\.restore-tsted/);
});

test('every renderer carries every result; text groups by section and colours only on request', async () => {
  const { report } = await runCheckCommand({ config: bad.barysafeToml, format: 'text', only: MINE });
  assert.ok(report);
  const text = renderReport(report, 'text');
  assert.doesNotMatch(text, /\x1b\[/);
  assert.match(renderReport(report, 'text', { colour: true }), /\x1b\[31m\[FAIL\]/);
  assert.match(text, /\nbackup\n  \[FAIL\]/);
  assert.match(text, /\d+ checks: .*fail/);

  const junit = renderReport(report, 'junit');
  assert.match(junit, /^<\?xml/);
  // Parsed as XML (well-formed, entities decoded), not matched as text.
  assert.equal(XMLValidator.validate(junit), true);
  const doc = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (n) => n === 'testcase' || n === 'testsuite',
  }).parse(junit) as {
    testsuites: {
      testsuite: Array<{
        name: string;
        tests: string;
        failures: string;
        errors: string;
        skipped?: string;
        testcase: Array<{
          name: string;
          classname: string;
          failure?: { message: string };
          error?: unknown;
          skipped?: unknown;
        }>;
      }>;
    };
  };
  const cases = doc.testsuites.testsuite.flatMap((t) => t.testcase);
  assert.equal(cases.length, report.results.length);
  assert.deepEqual(cases.map((c) => c.name.split(': ')[0]).sort(), report.results.map((r) => r.id).sort());
  assert.equal(cases.filter((c) => c.failure).length, report.summary.fail);
  assert.equal(
    doc.testsuites.testsuite.reduce((n, t) => n + Number(t.tests), 0),
    report.results.length,
  );
  assert.equal(
    doc.testsuites.testsuite.reduce((n, t) => n + Number(t.failures), 0),
    report.summary.fail,
  );

  const sarif = JSON.parse(renderReport(report, 'sarif')) as {
    version: string;
    runs: Array<{
      tool: { driver: { rules: Array<{ id: string }> } };
      results: Array<{ ruleId: string; kind: string; level: string; suppressions?: unknown[] }>;
    }>;
  };
  assert.equal(sarif.version, '2.1.0');
  // The OASIS SARIF 2.1.0 schema itself (draft-04), not a hand-written subset of it.
  const sarifSchema = JSON.parse(
    readFileSync(path.join(FIXTURES, 'sarif', 'sarif-schema-2.1.0.json'), 'utf8'),
  ) as object;
  // strict: false because the schema (draft-04) uses keywords Ajv's strict mode rejects.
  const validateSarif = addFormats(new AjvDraft04({ allErrors: true, strict: false })).compile(sarifSchema);
  assert.ok(validateSarif(sarif), JSON.stringify(validateSarif.errors?.slice(0, 5)));
  const run = sarif.runs[0]!;
  assert.equal(run.results.length, report.results.length);
  for (const r of run.results) assert.ok(run.tool.driver.rules.some((x) => x.id === r.ruleId));
  assert.equal(run.results.find((r) => r.ruleId === 'clients.review')!.kind, 'review');
  assert.equal(run.results.find((r) => r.ruleId === 'security.demo-users')!.level, 'error');
  assert.ok(
    run.results.find((r) => r.ruleId === 'backup.restore-tested')!.suppressions,
    'waiver is an external suppression',
  );

  const md = renderReport(report, 'markdown');
  assert.match(md, /^# Barycenter production checklist/);
  for (const r of report.results) assert.match(md, new RegExp(`#### ${r.id.replace(/\./g, '\\.')}`));
  assert.deepEqual([...REPORT_FORMATS], ['text', 'json', 'junit', 'sarif', 'markdown']);
});

test('--output writes the file (never through a symlink); --list prints the catalogue', async () => {
  const dir = tempDir();
  const out = path.join(dir, 'report.sarif');
  const res = await runCheckCommand({
    config: good.barysafeToml,
    format: 'sarif',
    output: out,
    only: ['config.database'],
  });
  assert.match(res.output, /written to/);
  assert.equal(JSON.parse(readFileSync(out, 'utf8')).version, '2.1.0');
  const link = path.join(dir, 'link.json');
  symlinkSync(path.join(dir, 'elsewhere'), link);
  await assert.rejects(
    runCheckCommand({ config: good.barysafeToml, format: 'json', output: link, only: ['config.database'] }),
    /symlink/,
  );
  const list = await runCheckCommand({ list: true });
  assert.match(list.output, /security\.default-admin-password\s+critical/);
  await assert.rejects(runCheckCommand({ config: good.barysafeToml, only: ['no.such-check'] }), /unknown check/);
});
