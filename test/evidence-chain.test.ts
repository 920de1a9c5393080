// The evidence chain on a real file:// repository: appends (also racing), verification, every
// kind of tampering named by verify-evidence, reviewer countersignatures, and an independent
// verifier (Debian's securesystemslib, and the OpenSSL CLI) that shares no code with barysafe.
import assert from 'node:assert/strict';
import { cp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { createPublicKey } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { generateSigningKey, keyIdOf, type Signer } from '../src/crypto/signing.js';
import { preAuthEncoding } from '../src/crypto/dsse.js';
import { FileStorage } from '../src/repository/file-storage.js';
import { appendEvidence, describe, type RunKind } from '../src/repository/evidence.js';
import { evidenceKey } from '../src/repository/layout.js';
import { countersignStored } from '../src/repository/evidence-review.js';
import { verifyEvidence } from '../src/repository/evidence-verify.js';
import { run } from './support/deployments.js';
import { makeTempDir, type TempDir } from './support/services.js';
import { createPrivateKey } from 'node:crypto';
import { REPO_ROOT } from './support/deployments.js';

const PY = path.join(REPO_ROOT, 'test/support/verify_evidence.py');

function signerOf(pem: string): Signer {
  const privateKey = createPrivateKey(pem);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}

let tmp: TempDir;
let signer: Signer;
let keyFile: string;
let reviewerFile: string;
let reviewer: Signer;
const T0 = Date.parse('2026-11-01T08:00:00Z');

before(async () => {
  tmp = await makeTempDir('barysafe-evidence-');
  const k = generateSigningKey();
  signer = signerOf(k.privatePem);
  keyFile = path.join(tmp.path, 'signing.pub.pem');
  await writeFile(keyFile, k.publicPem);
  const r = generateSigningKey();
  reviewer = signerOf(r.privatePem);
  reviewerFile = path.join(tmp.path, 'reviewer.pub.pem');
  await writeFile(reviewerFile, r.publicPem);
});
after(async () => tmp?.cleanup());

/** A chain of six records of every kind; the backups and checks cite stored documents. */
async function buildChain(root: string): Promise<FileStorage> {
  const storage = new FileStorage(`file://${root}`);
  const kinds: RunKind[] = ['backup', 'check', 'drill', 'backup', 'backup', 'check'];
  for (const [i, run] of kinds.entries()) {
    const at = new Date(T0 + i * 3600_000);
    const doc =
      run === 'backup'
        ? { key: `snapshots/2026110${i}T080000Z-00000${i}/manifest.json`, body: { created_at: at.toISOString(), i } }
        : run === 'check'
          ? { key: `checks/2026110${i}T080000Z-00000${i}.json`, body: { generated_at: at.toISOString(), i } }
          : null;
    const cites = [];
    if (doc) {
      const bytes = Buffer.from(JSON.stringify(doc.body));
      await storage.put(doc.key, Readable.from([bytes]));
      cites.push(describe(doc.key, bytes));
    }
    await appendEvidence(storage, signer, {
      run,
      outcome: i === 3 ? 'error' : 'pass',
      exitCode: i === 3 ? 14 : 0,
      summary: `${run} ${i}`,
      startedAt: at,
      finishedAt: new Date(at.getTime() + 1000),
      subject: cites,
      cites,
      predicate: run === 'drill' ? { result: 'PASSED', configuration: [] } : {},
    });
  }
  return storage;
}

test('a clean chain verifies, lists every run with its outcome, and honours --since', async () => {
  const root = path.join(tmp.path, 'clean');
  const storage = await buildChain(root);
  const v = await verifyEvidence(storage, signer);
  assert.deepEqual(v.problems, []);
  assert.equal(v.ok, true);
  assert.equal(v.total, 6);
  assert.deepEqual(
    v.runs.map((r) => [r.sequence, r.info.run, r.info.outcome]),
    [
      [1, 'backup', 'pass'],
      [2, 'check', 'pass'],
      [3, 'drill', 'pass'],
      [4, 'backup', 'error'],
      [5, 'backup', 'pass'],
      [6, 'check', 'pass'],
    ],
  );
  assert.equal(v.head?.key, evidenceKey(6));
  const since = await verifyEvidence(storage, signer, { since: new Date(T0 + 3 * 3600_000) });
  assert.deepEqual(
    since.runs.map((r) => r.sequence),
    [4, 5, 6],
  );
  assert.equal(since.ok, true);
  // A head seen earlier must still be there: a truncated chain (documents and all) is caught.
  const held = await verifyEvidence(storage, signer, { expectHead: { sequence: 6, sha256: v.head!.sha256 } });
  assert.equal(held.ok, true);
  const cut = await verifyEvidence(storage, signer, { expectHead: { sequence: 7 } });
  assert.deepEqual(
    cut.problems.map((p) => p.key),
    [evidenceKey(7)],
  );
});

test('two writers racing for the next number both land, in one chain', async () => {
  const storage = new FileStorage(`file://${path.join(tmp.path, 'race')}`);
  const at = new Date(T0);
  const results = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      appendEvidence(storage, signer, {
        run: 'check',
        outcome: 'pass',
        exitCode: 0,
        summary: `writer ${i}`,
        startedAt: at,
        finishedAt: at,
        subject: [],
      }),
    ),
  );
  assert.deepEqual(
    results.map((r) => r.sequence).sort((a, b) => a - b),
    Array.from({ length: 12 }, (_, i) => i + 1),
  );
  const v = await verifyEvidence(storage, signer);
  assert.deepEqual(v.problems, []);
});

/** Copies the clean chain, tampers with the copy, and returns the verification problems. */
async function tampered(name: string, tamper: (root: string) => Promise<void>) {
  const src = path.join(tmp.path, 'clean');
  const root = path.join(tmp.path, name);
  await cp(src, root, { recursive: true });
  await tamper(root);
  const v = await verifyEvidence(new FileStorage(`file://${root}`), signer);
  assert.equal(v.ok, false, `${name}: verification must fail`);
  return v.problems;
}

const file = (root: string, seq: number) => path.join(root, evidenceKey(seq));

test('deleting any record makes verification fail naming it', async () => {
  for (let seq = 1; seq <= 6; seq++) {
    const problems = await tampered(`delete-${seq}`, (root) => rm(file(root, seq)));
    assert.ok(
      problems.some((p) => p.key === evidenceKey(seq)),
      `deleting #${seq}: ${JSON.stringify(problems)}`,
    );
  }
});

test('reordering two records makes verification fail naming them', async () => {
  const problems = await tampered('reorder', async (root) => {
    await rename(file(root, 2), path.join(root, 'x'));
    await rename(file(root, 3), file(root, 2));
    await rename(path.join(root, 'x'), file(root, 3));
  });
  const keys = problems.map((p) => p.key);
  assert.ok(keys.includes(evidenceKey(2)) && keys.includes(evidenceKey(3)), JSON.stringify(problems));
  assert.match(problems.find((p) => p.key === evidenceKey(2))!.problem, /reordered/);
});

test('editing any record (payload or outer bytes) makes verification fail naming it', async () => {
  for (let seq = 1; seq <= 6; seq++) {
    const problems = await tampered(`edit-${seq}`, async (root) => {
      const env = JSON.parse(await readFile(file(root, seq), 'utf8'));
      const st = JSON.parse(Buffer.from(env.payload, 'base64').toString());
      st.predicate.barysafe.outcome = st.predicate.barysafe.outcome === 'pass' ? 'fail' : 'pass';
      env.payload = Buffer.from(JSON.stringify(st)).toString('base64');
      await writeFile(file(root, seq), JSON.stringify(env) + '\n');
    });
    const mine = problems.find((p) => p.key === evidenceKey(seq));
    assert.ok(mine, `editing #${seq}: ${JSON.stringify(problems)}`);
    assert.match(mine.problem, /invalid signature/);
  }
  // Same signed payload, different stored bytes: the next record's link names it.
  const problems = await tampered('reformat', async (root) => {
    const env = JSON.parse(await readFile(file(root, 2), 'utf8'));
    await writeFile(file(root, 2), JSON.stringify(env, null, 2) + '\n');
  });
  assert.match(problems.find((p) => p.key === evidenceKey(2))?.problem ?? '', /changed after record #3/);
});

test('a changed or missing cited document fails naming the record that cites it', async () => {
  const changed = await tampered('doc-changed', async (root) => {
    const f = path.join(root, 'checks/20261101T080000Z-000001.json');
    await writeFile(f, (await readFile(f, 'utf8')).replace('"i":1', '"i":9'));
  });
  assert.ok(changed.some((p) => p.key === evidenceKey(2) && /changed after the record/.test(p.problem)));
  const missing = await tampered('doc-missing', (root) =>
    rm(path.join(root, 'snapshots/20261100T080000Z-000000'), { recursive: true }),
  );
  assert.ok(
    missing.some((p) => p.key === evidenceKey(1) && /missing/.test(p.problem)),
    JSON.stringify(missing),
  );
});

test('a fork (a record chained past its predecessor) and a foreign signature are named', async () => {
  const other = signerOf(generateSigningKey().privatePem);
  const problems = await tampered('foreign', async (root) => {
    const storage = new FileStorage(`file://${root}`);
    await rm(file(root, 6));
    await appendEvidence(storage, other, {
      run: 'backup',
      outcome: 'pass',
      exitCode: 0,
      summary: 'forged',
      startedAt: new Date(T0),
      finishedAt: new Date(T0),
      subject: [],
    });
  });
  assert.match(problems.find((p) => p.key === evidenceKey(6))?.problem ?? '', /not signed by the trusted key/);
});

test('a reviewer countersigns a record beside it; both signatures verify', async () => {
  const root = path.join(tmp.path, 'reviewed');
  await cp(path.join(tmp.path, 'clean'), root, { recursive: true });
  const storage = new FileStorage(`file://${root}`);
  const before = await readFile(file(root, 3));
  const r = await countersignStored(storage, 3, reviewer);
  assert.deepEqual(await readFile(file(root, 3)), before, 'the record itself is unchanged');
  const env = JSON.parse(await readFile(path.join(root, r.key), 'utf8'));
  assert.deepEqual(
    env.signatures.map((s: { keyid: string }) => s.keyid),
    [signer.keyId, reviewer.keyId],
  );
  const v = await verifyEvidence(storage, signer, { reviewerKeys: [reviewer] });
  assert.deepEqual(v.problems, []);
  assert.deepEqual(
    v.runs.find((x) => x.sequence === 3)?.reviews.map((x) => x.status),
    ['valid'],
  );
  await assert.rejects(countersignStored(storage, 3, reviewer), /already carries a review/);
  // A forged review signature is named.
  env.signatures[1].sig = Buffer.alloc(64, 1).toString('base64');
  await writeFile(path.join(root, r.key), JSON.stringify(env) + '\n');
  const bad = await verifyEvidence(storage, signer, { reviewerKeys: [reviewer] });
  assert.ok(bad.problems.some((p) => p.key === r.key && /invalid/.test(p.problem)));
});

test('an independent verifier (securesystemslib + a PAE written from the DSSE spec) accepts every envelope', async () => {
  const root = path.join(tmp.path, 'independent');
  await cp(path.join(tmp.path, 'clean'), root, { recursive: true });
  await countersignStored(new FileStorage(`file://${root}`), 2, reviewer);
  const ok = await run('/usr/bin/python3', [PY, root, keyFile, reviewerFile]);
  const out = JSON.parse(ok.stdout.toString());
  assert.equal(ok.code, 0, JSON.stringify(out.problems) + ok.stderr);
  assert.equal(out.records.length, 7);
  assert.ok(out.records.find((r: any) => r.review).signatures.includes(reviewer.keyId));
  // …and rejects a tampered one, so it is really checking.
  const env = JSON.parse(await readFile(file(root, 4), 'utf8'));
  env.payload = Buffer.from(Buffer.from(env.payload, 'base64').toString().replace('"error"', '"pass"')).toString(
    'base64',
  );
  await writeFile(file(root, 4), JSON.stringify(env) + '\n');
  const bad = await run('/usr/bin/python3', [PY, root, keyFile, reviewerFile]);
  assert.equal(bad.code, 1);
  assert.match(JSON.parse(bad.stdout.toString()).problems.join('\n'), /000000000004.*does not verify/);
});

test('the OpenSSL CLI verifies a record signature over the PAE bytes', async () => {
  const root = path.join(tmp.path, 'clean');
  const env = JSON.parse(await readFile(file(root, 3), 'utf8'));
  const pae = path.join(tmp.path, 'pae.bin');
  const sig = path.join(tmp.path, 'sig.bin');
  await writeFile(pae, preAuthEncoding(env.payloadType, Buffer.from(env.payload, 'base64')));
  await writeFile(sig, Buffer.from(env.signatures[0].sig, 'base64'));
  const r = await run('openssl', [
    'pkeyutl',
    '-verify',
    '-pubin',
    '-inkey',
    keyFile,
    '-rawin',
    '-in',
    pae,
    '-sigfile',
    sig,
  ]);
  assert.equal(r.code, 0, r.stdout.toString() + r.stderr);
  assert.match(r.stdout.toString(), /Signature Verified Successfully/);
  const list = await readdir(path.join(root, 'evidence'));
  assert.equal(list.length, 6);
});
