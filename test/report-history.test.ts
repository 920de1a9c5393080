// A history built with an injected clock — daily backups with a five-day gap, a failed backup, a
// passing and a failing drill, two check runs, a key rotation, a verification and a forget — and
// the report's numbers stated against it. Then verify-report on untouched and tampered files, and
// the HTML in headless Chromium (no console error, no request leaving the file; screenshot and
// PDF kept under test-artifacts/).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { newJwkPair } from '../src/crypto/keygen.js';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { runBackup, type BackupResult } from '../src/backup/pipeline.js';
import { runCheckCommand } from '../src/cli/check.js';
import { loadSigner } from '../src/crypto/signing.js';
import { appendEvidence, describe as describeDoc, readObject } from '../src/repository/evidence.js';
import { manifestKey } from '../src/repository/layout.js';
import { openStorage } from '../src/repository/open-storage.js';
import type { Storage } from '../src/repository/storage.js';
import { produceReport } from '../src/report/audit/produce.js';
import type { AuditReport } from '../src/report/audit/model.js';
import { runDrill } from '../src/verify/drill.js';
import { CHROMIUM_FLAGS, chromiumPath } from '../src/report/audit/browser.js';
import { drillSetup, logger, type DrillSetup } from './drill-fixtures.js';
import { REPO_ROOT, runCli } from './support/deployments.js';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
const D0 = Date.parse('2026-09-01T02:00:00Z');
const day = (n: number, hours = 0) => new Date(D0 + n * 86400_000 + hours * 3600_000);
const NOW = day(16, 22); // 2026-09-18T00:00Z

let s: DrillSetup;
let storage: Storage;
const snapshots = new Map<number, BackupResult>();

async function backupAt(n: number) {
  const at = day(n);
  const r = await runBackup(s.config, { logger, storage, now: () => at });
  snapshots.set(n, r);
  return r;
}

async function drillAt(n: number, hours: number) {
  const at = day(n, hours);
  return runDrill(s.config, { ref: 'latest', logger, storage, now: () => at });
}

async function checkAt(n: number, hours: number) {
  return runCheckCommand({
    config: s.setup.configPath,
    now: day(n, hours),
    record: true,
    only: ['backup'],
    json: true,
  });
}

/** A new signing key the way Barycenter writes one (JSON JWK + the matching jwks.json). */
async function rotateKey(workdir: string) {
  const { privateJwk } = newJwkPair({ type: 'rsa', modulusLength: 2048 });
  const kid = randomBytes(16).toString('base64url');
  const jwk = { ...privateJwk, kid, alg: 'RS256', use: 'sig' } as Record<string, unknown>;
  await writeFile(path.join(workdir, 'data/private_key.pem'), JSON.stringify(jwk, null, 2), { mode: 0o600 });
  const pub = { kty: jwk.kty, use: 'sig', kid, alg: 'RS256', n: jwk.n, e: jwk.e };
  await writeFile(path.join(workdir, 'data/jwks.json'), JSON.stringify({ keys: [pub] }, null, 2));
  return kid;
}

let report: AuditReport;
let newKid: string;
const files: Record<string, string> = {};

describe('the report over a built history', () => {
  before(async () => {
    s = await drillSetup({ drillToml: 'rpo_target = "2d"' });
    storage = openStorage(s.config.repository);
    for (let n = 0; n <= 9; n++) {
      await backupAt(n);
      if (n === 3) {
        // A failed backup: the key file is gone for a moment.
        const key = path.join(s.d.workdir, 'data/private_key.pem');
        await rename(key, key + '.away');
        await assert.rejects(runBackup(s.config, { logger, storage, now: () => day(3, 10) }));
        await rename(key + '.away', key);
      }
      if (n === 5) assert.equal((await drillAt(5, 1)).verdict, 'pass');
    }
    // Days 10–13: no backup (a gap). The day-12 drill restores day 9's snapshot: RPO 3 days > 2d.
    const failed = await drillAt(12, 1);
    assert.equal(failed.verdict, 'fail', JSON.stringify(failed.steps.filter((x) => x.verdict !== 'pass')));
    assert.equal(failed.rpo_met, false);
    await checkAt(12, 2);
    await backupAt(14);
    newKid = await rotateKey(s.d.workdir);
    await backupAt(15);
    await backupAt(16);
    await checkAt(16, 1);
    // What `verify` and `forget` will write, through the documented API.
    const signer = await loadSigner(s.config.encryption.signing_key_file!);
    const m14 = describeDoc(
      manifestKey(snapshots.get(14)!.id),
      await readObject(storage, manifestKey(snapshots.get(14)!.id)),
    );
    const m15 = describeDoc(
      manifestKey(snapshots.get(15)!.id),
      await readObject(storage, manifestKey(snapshots.get(15)!.id)),
    );
    await appendEvidence(storage, signer, {
      run: 'verify',
      outcome: 'pass',
      exitCode: 0,
      summary: '2 snapshots verified',
      startedAt: day(16, 2),
      finishedAt: day(16, 2),
      subject: [m14, m15],
      cites: [m14, m15],
      predicate: {
        tier: 'full',
        snapshots: [14, 15].map((n) => ({ id: snapshots.get(n)!.id, ok: true, objectsChecked: 5, objectsTotal: 5 })),
        coverage: { objectsChecked: 10, objectsTotal: 10, ratio: 1 },
      },
    });
    const gone = manifestKey(snapshots.get(1)!.id);
    const goneDoc = describeDoc(gone, await readObject(storage, gone));
    await rm(path.join(s.repoRoot, 'snapshots', snapshots.get(1)!.id), { recursive: true });
    await appendEvidence(storage, signer, {
      run: 'forget',
      outcome: 'pass',
      exitCode: 0,
      summary: 'removed 1 snapshot',
      startedAt: day(16, 3),
      finishedAt: day(16, 3),
      subject: [goneDoc],
      predicate: { policy: { keep_daily: 7 }, kept: [], removed: [goneDoc] },
    });
    const r = await produceReport(s.config, {
      storage,
      signer,
      format: 'json',
      since: new Date(NOW.getTime() - 90 * 86400_000),
      now: NOW,
      store: true,
      output: 'report.json',
    });
    report = r.report;
    await mkdir(ARTIFACTS, { recursive: true });
    for (const f of ['html', 'markdown', 'json'] as const) {
      const out = await produceReport(s.config, {
        storage,
        signer,
        format: f,
        since: new Date(NOW.getTime() - 90 * 86400_000),
        now: NOW,
        store: false,
        output: `report.${f}`,
      });
      files[f] = path.join(s.d.dir.path, `report.${f}`);
      await writeFile(files[f]!, out.content);
    }
    await writeFile(path.join(ARTIFACTS, 'report.html'), await readFile(files.html!));
  });
  after(() => s?.close());

  test('backups: counts, the gap longer than the RPO, recipients', () => {
    const b = report.backups;
    assert.equal(b.succeeded, 13);
    assert.equal(b.failed, 1);
    assert.equal(b.rpo_target_ms, 26 * 3600_000);
    assert.deepEqual(b.gaps, [{ from: day(9).toISOString(), to: day(14).toISOString(), hours: 120 }]);
    assert.equal(b.per_day.length, 91);
    assert.equal(b.per_day.filter((d) => d.count > 0).length, 13);
    assert.equal(b.recipients.length, 1);
    assert.equal(b.recipients[0]!.snapshots, 13);
    assert.equal(b.runs.find((x) => x.outcome !== 'pass')?.finished_at, day(3, 10).toISOString());
  });

  test('drills: verdicts, RPO against the target, the Barycenter build', () => {
    const d = report.drills;
    assert.equal(d.count, 2);
    assert.equal(d.passed, 1);
    assert.equal(d.failed, 1);
    assert.equal(d.last_pass, day(5, 1).toISOString().replace('.000Z', '.000Z'));
    const [ok, bad] = d.runs;
    assert.equal(ok!.snapshot_id, snapshots.get(5)!.id);
    assert.equal(ok!.rpo_ms, 3600_000);
    assert.equal(ok!.rpo_met, true);
    assert.equal(bad!.snapshot_id, snapshots.get(9)!.id);
    assert.equal(bad!.rpo_ms, 3 * 86400_000 + 3600_000);
    assert.equal(bad!.rpo_met, false);
    assert.equal(d.rpo_target_ms, 2 * 86400_000);
    assert.match(ok!.barycenter!, /^file:\/\/.+ sha256:[0-9a-f]{16}$/);
  });

  test('coverage, key continuity, checks, the chain and the overall status', () => {
    assert.deepEqual(
      { ...report.verification, runs: report.verification.runs.length },
      { snapshots: 13, drilled: 2, verified: 2, coverage_ratio: 0.308, runs: 1 },
    );
    const k = report.keys;
    assert.equal(k.rotations.length, 1);
    assert.equal(k.rotations[0]!.at, day(15).toISOString());
    assert.equal(k.rotations[0]!.to, newKid);
    assert.equal(k.current?.kid, newKid);
    assert.equal(k.current?.age_days, 1);
    assert.equal(k.snapshots.length, 13);
    // The newest check run (day 16) passed; the day-12 one failed and is in the chain's counts.
    assert.equal(report.controls.generated_at, day(16, 1).toISOString());
    assert.deepEqual(report.summary.open_fails, []);
    assert.ok(report.controls.rows.length >= 4);
    assert.deepEqual(report.controls.rows.find((r) => r.id === 'backup.restore-tested')?.frameworks.soc2, [
      'A1.3',
      'CC7.5',
    ]);
    assert.equal(report.evidence.ok, true, JSON.stringify(report.evidence.problems));
    assert.equal(report.evidence.records, 20);
    assert.deepEqual(report.evidence.by_run, {
      backup: { pass: 13, fail: 0, inconclusive: 0, error: 1 },
      drill: { pass: 1, fail: 1, inconclusive: 0, error: 0 },
      check: { pass: 1, fail: 1, inconclusive: 0, error: 0 },
      verify: { pass: 1, fail: 0, inconclusive: 0, error: 0 },
      forget: { pass: 1, fail: 0, inconclusive: 0, error: 0 },
    });
    assert.ok(
      report.evidence.notes.some((n) => /removed by forget record #20/.test(n)),
      report.evidence.notes.join('\n'),
    );
    assert.equal(report.cites.length, 21); // 20 records + the day-16 check report
    assert.equal(report.summary.status, 'fail');
    // The day-16 check warns that the latest drill (day 12) failed although one passed within 30 days.
    const warned = report.controls.rows.filter((r) => r.status === 'warn').map((r) => r.id);
    assert.deepEqual(warned, ['backup.restore-tested']);
    assert.deepEqual(Object.fromEntries(report.summary.sections.map((x) => [x.name, x.status])), {
      checks: 'warn',
      backups: 'fail',
      drills: 'fail',
      verification: 'pass',
      keys: 'pass',
      evidence: 'pass',
    });
  });

  test('the JSON report matches docs/schemas/audit-report.v1.json and carries the same content as the model', async () => {
    const schema = JSON.parse(await readFile(path.join(REPO_ROOT, 'docs/schemas/audit-report.v1.json'), 'utf8'));
    const validate = new Ajv({ allErrors: true, validateFormats: false }).compile(schema);
    const doc = JSON.parse(await readFile(files.json!, 'utf8')) as Record<string, any>;
    const valid = validate(doc);
    assert.ok(valid, JSON.stringify(validate.errors, null, 2));
    const { attestation, ...model } = doc;
    assert.equal(attestation.payloadType, 'application/vnd.in-toto+json');
    // Rendered after the stored report (one record more in the chain); everything else is the same.
    for (const k of ['period', 'controls', 'backups', 'verification', 'drills', 'keys'] as const)
      assert.deepEqual(model[k], report[k], k);
    const md = await readFile(files.markdown!, 'utf8');
    for (const id of report.controls.rows.map((r) => r.id)) assert.ok(md.includes(`\`${id}\``), `markdown lists ${id}`);
    assert.match(md, /13 backups succeeded, 1 failed/);
    assert.match(await readFile(files.html!, 'utf8'), /13 backups succeeded, 1 failed/);
  });

  test('the stored report is record #21 and verify-evidence still proves the chain', async () => {
    const v = await runCli(['--config', s.setup.configPath, '--json', 'verify-evidence']);
    assert.equal(v.code, 0, v.stdout);
    const doc = JSON.parse(v.stdout);
    assert.equal(doc.records, 21);
    assert.equal(doc.runs[20].run, 'report');
    assert.match(doc.runs[20].cites.at(-1).name, /^reports\/.+\.json$/);
  });

  test('verify-report passes on the untouched files and fails on a changed status, a changed number, a removed row', async () => {
    for (const f of ['html', 'markdown', 'json']) {
      // 22: the 21 records (the stored report included) and the check report.
      const ok = await runCli(['--config', s.setup.configPath, 'verify-report', files[f]!]);
      assert.equal(ok.code, 0, `${f}: ${ok.stdout}${ok.stderr}`);
      assert.match(ok.stdout, /signature valid, file unchanged, 22 cited/);
    }
    const html = await readFile(files.html!, 'utf8');
    const md = await readFile(files.markdown!, 'utf8');
    const json = await readFile(files.json!, 'utf8');
    const cases: Array<[string, string, string]> = [
      [
        'html status',
        'html',
        html.replace(/(<td>backups<\/td><td><span class="s" style="color:#[0-9a-f]+">)fail/, '$1pass'),
      ],
      ['html number', 'html', html.replace('13 backups succeeded, 1 failed', '13 backups succeeded, 0 failed')],
      [
        'html row',
        'html',
        html.replace(
          /<tr><td>\d+<\/td><td>[^<]+<\/td><td><span class="mono">[^<]+<\/span><\/td><td><span class="s" style="color:#c62828">fail<\/span>.*?<\/tr>/,
          '',
        ),
      ],
      ['markdown status', 'markdown', md.replace('| backups | fail |', '| backups | pass |')],
      ['markdown number', 'markdown', md.replace('2 of 13 snapshots drilled', '3 of 13 snapshots drilled')],
      ['markdown row', 'markdown', md.replace(/\n\| \d+ \| [^|]+ \| error \|[^\n]*/, '')],
      ['json number', 'json', json.replace('"failed": 1,', '"failed": 0,')],
    ];
    for (const [name, f, text] of cases) {
      const original = { html, markdown: md, json }[f]!;
      assert.notEqual(text, original, `${name}: the test changed the file`);
      const file = path.join(s.d.dir.path, `tampered.${f}`);
      await writeFile(file, text);
      const bad = await runCli(['--config', s.setup.configPath, 'verify-report', file]);
      assert.equal(bad.code, 13, `${name}: ${bad.stdout}`);
      assert.match(bad.stdout, /changed after it was signed/);
      assert.match(bad.stdout, /first difference at line \d+/);
    }
    // With the repository: a cited record that changed since is named.
    const forged = path.join(s.repoRoot, 'evidence/000000000005.intoto.jsonl');
    const keep = await readFile(forged);
    await writeFile(forged, Buffer.concat([keep, Buffer.from('\n')]));
    const stale = await runCli(['--config', s.setup.configPath, 'verify-report', files.html!]);
    await writeFile(forged, keep);
    assert.equal(stale.code, 13);
    assert.match(stale.stdout, /evidence\/000000000005\.intoto\.jsonl changed since the report cited it/);
    // Without a repository, only the signature and the file are checked.
    const keyOnly = await runCli([
      'verify-report',
      '--key',
      path.join(s.setup.etc, 'signing.pub.pem'),
      files.markdown!,
    ]);
    assert.equal(keyOnly.code, 0, keyOnly.stdout);
    assert.match(keyOnly.stdout, /repository not checked/);
  });

  test('the HTML renders in headless Chromium: no console error, no request leaves the file; screenshot and PDF kept', async (t) => {
    if (!existsSync(chromiumPath())) return t.skip(`no Chromium at ${chromiumPath()}`);
    const { chromium } = await import('playwright-core');
    const profile = path.join(s.d.dir.path, 'chromium-profile');
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath(),
      headless: true,
      args: CHROMIUM_FLAGS,
    });
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (r) => requests.push(r.url()));
      const url = pathToFileURL(path.join(ARTIFACTS, 'report.html')).href;
      await page.goto(url, { waitUntil: 'load' });
      assert.deepEqual(errors, []);
      assert.deepEqual(requests, [url], 'the only request is the file itself');
      assert.equal(await page.locator('svg.chart').count(), 2);
      assert.match((await page.locator('h1').textContent()) ?? '', /evidence report/);
      await page.screenshot({ path: path.join(ARTIFACTS, 'report.png'), fullPage: true });
    } finally {
      await context.close();
    }
    const pdf = path.join(ARTIFACTS, 'report.pdf');
    const r = await runCli(['--config', s.setup.configPath, 'report', '--format', 'pdf', '--output', pdf], {
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((await readFile(pdf)).subarray(0, 5).toString(), '%PDF-');
    const v = await runCli(['--config', s.setup.configPath, 'verify-report', pdf]);
    assert.equal(v.code, 0, v.stdout);
    assert.ok((await readFile(pdf)).length > 20_000);
  });

  test('without a browser, PDF output says what to install', async () => {
    const r = await runCli(
      ['--config', s.setup.configPath, 'report', '--format', 'pdf', '--output', path.join(s.d.dir.path, 'x.pdf')],
      {
        env: { BARYSAFE_CHROMIUM: '/nonexistent/chromium' },
      },
    );
    assert.equal(r.code, 2);
    assert.match(r.stderr, /PDF output needs Chromium, and there is none at \/nonexistent\/chromium/);
    assert.match(r.stderr, /apt-get install chromium/);
  });
});
