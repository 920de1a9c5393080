// Real runs append to the evidence chain: a backup, a failed backup, a check and a drill against the
// Barycenter stand-in and a file:// repository; `barysafe verify-evidence` proves the chain and
// names a deleted record; `barysafe evidence sign` countersigns; the independent verifier agrees.
import assert from 'node:assert/strict';
import { readFile, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { generateSigningKey } from '../src/crypto/signing.js';
import { evidenceKey } from '../src/repository/layout.js';
import { writeFile } from 'node:fs/promises';
import { drillSetup, type DrillSetup } from './drill-fixtures.js';
import { REPO_ROOT, run, runCli } from './support/deployments.js';

let s: DrillSetup;
const cli = (...args: string[]) => runCli(['--config', s.setup.configPath, ...args]);

before(async () => {
  s = await drillSetup();
});
after(() => s?.close());

function statementOf(file: string) {
  return readFile(file, 'utf8').then((t) => {
    const env = JSON.parse(t);
    return { env, st: JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8')) };
  });
}

test('backup, failed backup, check and drill each append a signed record; verify-evidence lists them', async () => {
  const b = await cli('--json', 'backup');
  assert.equal(b.code, 0, b.stderr);
  const backup = JSON.parse(b.stdout);
  assert.equal(backup.evidence.sequence, 1);

  // A failed backup (the key file is gone) is recorded too, with its exit code.
  const keyFile = path.join(s.d.workdir, 'data/private_key.pem');
  await rename(keyFile, keyFile + '.away');
  const failed = await cli('--json', 'backup');
  await rename(keyFile + '.away', keyFile);
  assert.equal(failed.code, 14, failed.stderr);

  const c = await cli('--json', 'check', '--only', 'backup');
  assert.ok(c.stdout.startsWith('{'), c.stderr);
  assert.doesNotMatch(c.stderr, /not in the evidence chain/);

  const drilled = await s.drill();
  assert.equal(drilled.result.verdict, 'pass', drilled.text);
  assert.equal(drilled.result.evidence?.sequence, 4);
  assert.match(drilled.text, /evidence: #4/);

  const v = await cli('--json', 'verify-evidence');
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const doc = JSON.parse(v.stdout);
  assert.equal(doc.ok, true);
  assert.deepEqual(
    doc.runs.map((r: any) => [r.sequence, r.run, r.outcome, r.exit_code]),
    [
      [1, 'backup', 'pass', 0],
      [2, 'backup', 'error', 14],
      [3, 'check', 'fail', 3], // no drill had passed yet: backup.restore-tested fails
      [4, 'drill', 'pass', 0],
    ],
  );
  assert.equal(doc.runs[0].cites[0].name, `snapshots/${backup.snapshot.id}/manifest.json`);
  assert.equal(doc.runs[0].cites[0].digest.sha256, backup.snapshot.manifest_sha256);
  assert.match(doc.runs[1].summary, /private_key\.pem/);
  assert.match(doc.runs[2].cites[0].name, /^checks\/.+\.json$/);

  // The drill is an in-toto test-result: subject = the manifest, steps as tests.
  const { st } = await statementOf(path.join(s.repoRoot, evidenceKey(4)));
  assert.equal(st.predicateType, 'https://in-toto.io/attestation/test-result/v0.1');
  assert.equal(st.predicate.result, 'PASSED');
  assert.deepEqual(st.subject, [
    {
      name: `snapshots/${backup.snapshot.id}/manifest.json`,
      digest: { sha256: backup.snapshot.manifest_sha256 },
      mediaType: 'application/json',
    },
  ]);
  assert.equal(st.predicate.passedTests.length, 9);
  assert.deepEqual(st.predicate.failedTests, []);
  const bin = st.predicate.configuration.find((x: any) => x.name === 'barycenter');
  assert.match(bin.digest.sha256, /^[0-9a-f]{64}$/, 'the booted Barycenter build is named by digest');
  assert.equal(st.predicate.barysafeDrill.record, drilled.result.record_key);

  // The restore-tested check reads the drill from the chain first.
  const rt = await cli('--json', 'check', '--only', 'backup.restore-tested', '--no-evidence');
  const result = JSON.parse(rt.stdout).results[0];
  assert.equal(result.status, 'pass', result.summary);
  assert.ok(
    result.evidence.some(
      (e: any) => e.source === `drill record ${evidenceKey(4)}` && e.observed.signature === 'verified',
    ),
    JSON.stringify(result.evidence),
  );

  const text = await cli('verify-evidence', '--since', '1d');
  assert.equal(text.code, 0);
  assert.match(text.stdout, /#2 .* backup +ERROR/);
  assert.match(text.stdout, /evidence chain verified/);
});

test('a reviewer countersigns with `evidence sign`; the independent verifier accepts every envelope', async () => {
  const k = generateSigningKey();
  const priv = path.join(s.d.dir.path, 'reviewer.pem');
  const pub = path.join(s.d.dir.path, 'reviewer.pub.pem');
  await writeFile(priv, k.privatePem, { mode: 0o600 });
  await writeFile(pub, k.publicPem);
  const signed = await cli('evidence', 'sign', '--key', priv, '4');
  assert.equal(signed.code, 0, signed.stderr);
  assert.match(signed.stdout, /record #4 countersigned/);
  const v = await cli('--json', 'verify-evidence', '--reviewer-key', pub);
  const doc = JSON.parse(v.stdout);
  assert.equal(v.code, 0, v.stdout);
  assert.equal(doc.runs[3].reviews[0].status, 'valid');

  const py = await run('/usr/bin/python3', [
    path.join(REPO_ROOT, 'test/support/verify_evidence.py'),
    s.repoRoot,
    path.join(s.setup.etc, 'signing.pub.pem'),
    pub,
  ]);
  assert.equal(py.code, 0, py.stdout.toString() + py.stderr);
  assert.equal(JSON.parse(py.stdout.toString()).records.length, 5);
});

test('deleting the newest record makes verify-evidence exit 13 naming it', async () => {
  const names = await readdir(path.join(s.repoRoot, 'evidence'));
  assert.ok(names.includes('000000000004.intoto.jsonl'));
  await rm(path.join(s.repoRoot, evidenceKey(4)));
  const v = await cli('verify-evidence');
  assert.equal(v.code, 13, v.stdout + v.stderr);
  assert.match(v.stdout, /BAD evidence\/000000000004\.intoto\.jsonl/);
});
