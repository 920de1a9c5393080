// barysafe verify on both backends: a clean repository passes every tier; each kind of damage is
// found by the tier that can see it (exit 13, naming snapshot and object); slices, the auto cursor,
// the egress budget; records, `snapshots` and the backup checks read what verify found.
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { newPemPair } from '../src/crypto/keygen.js';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { decryptStream, encryptStream, loadIdentities, newIdentity } from '../src/crypto/age.js';
import { keyIdOf, type Signer } from '../src/crypto/signing.js';
import { ExitCode } from '../src/errors.js';
import { manifestKey } from '../src/repository/layout.js';
import type { Manifest } from '../src/repository/manifest.js';
import { serialize, signDocument } from '../src/repository/signed-document.js';
import { runVerify, type VerifyOptions, type VerifyResult } from '../src/verify/repo/run.js';
import { startStandin } from './support/barycenter/launch.js';
import { FROM_CONFIG, runCli } from './support/deployments.js';
import { logger, repoFixture, type RepoFixture } from './support/repo-fixture.js';
import { getS3, useS3Credentials, type TestS3 } from './support/services.js';

let s3: TestS3;
before(async () => {
  s3 = await getS3();
  useS3Credentials(s3);
});
after(async () => {
  await s3?.stop();
});

async function bytesOf(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function verify(f: RepoFixture, o: Partial<VerifyOptions> = {}): Promise<VerifyResult> {
  return runVerify(f.config, { readData: false, live: false, record: true, storage: f.storage, logger, ...o });
}

/** Asserts exit 13 with a problem that names both the snapshot and the object. */
function assertNames(r: VerifyResult, snapshot: string, object: string, what: RegExp): void {
  assert.equal(r.exit_code, ExitCode.INTEGRITY, `exit ${r.exit_code}: ${r.problems.join(' | ')}`);
  const hit = r.problems.find((p) => p.includes(`snapshot ${snapshot}`) && p.includes(object));
  assert.ok(hit, `no problem names ${snapshot} and ${object}: ${r.problems.join(' | ')}`);
  assert.match(hit, what);
}

interface Damage {
  name: string;
  /** The lowest tier that can see it. */
  tier: 'inventory' | 'read-data';
  apply(f: RepoFixture, ids: string[], m: Manifest[]): Promise<{ snapshot: string; object: string; what: RegExp }>;
}

const art = (m: Manifest, kind: string) => m.artifacts.find((a) => a.kind === kind)!;

const DAMAGES: Damage[] = [
  {
    name: 'a flipped byte in the payload',
    tier: 'read-data',
    async apply(f, ids, m) {
      const object = art(m[1]!, 'database').object;
      const b = await f.raw.read(object);
      b[Math.floor(b.length / 2)]! ^= 0x01;
      await f.raw.write(object, b);
      return { snapshot: ids[1]!, object, what: /does not decrypt|sha256/ };
    },
  },
  {
    name: 'a deleted object',
    tier: 'inventory',
    async apply(f, ids, m) {
      const object = art(m[0]!, 'jwks').object;
      await f.raw.remove(object);
      return { snapshot: ids[0]!, object, what: /missing from the repository/ };
    },
  },
  {
    name: 'a truncated object',
    tier: 'inventory',
    async apply(f, ids, m) {
      const a = art(m[2]!, 'key');
      await f.raw.write(a.object, (await f.raw.read(a.object)).subarray(0, a.size - 20));
      return {
        snapshot: ids[2]!,
        object: a.object,
        what: new RegExp(`truncated: ${a.size - 20} bytes, the manifest says ${a.size}`),
      };
    },
  },
  {
    name: 'a manifest signed by another key',
    tier: 'inventory',
    async apply(f, ids, m) {
      const pk = createPrivateKey(newPemPair({ type: 'ed25519' }).privatePem);
      const publicKey = createPublicKey(pk);
      const other: Signer = { privateKey: pk, publicKey, keyId: keyIdOf(publicKey) };
      const { signature: _s, ...unsigned } = m[1]!;
      await f.raw.write(manifestKey(ids[1]!), serialize(signDocument(unsigned, other)));
      return { snapshot: ids[1]!, object: manifestKey(ids[1]!), what: /signed by ed25519:.*not by the trusted key/ };
    },
  },
  {
    name: 'a broken chain (a middle manifest deleted)',
    tier: 'inventory',
    async apply(f, ids) {
      await f.raw.remove(manifestKey(ids[1]!));
      return {
        snapshot: ids[2]!,
        object: manifestKey(ids[2]!),
        what: new RegExp(`chain link broken: the previous snapshot ${ids[1]} is missing .* no tombstone`),
      };
    },
  },
  {
    name: 'an age header for the wrong recipients',
    tier: 'inventory',
    async apply(f, ids, m) {
      const a = art(m[2]!, 'jwks');
      const ids0 = await loadIdentities(f.setup.identityFile);
      const plain = await bytesOf(await decryptStream(ids0, Readable.from([await f.raw.read(a.object)])));
      const stranger = await newIdentity();
      const forged = await bytesOf(await encryptStream([stranger.recipient], Readable.from([plain])));
      assert.equal(forged.length, a.size, 'same size: only the header can tell');
      await f.raw.write(a.object, forged);
      return { snapshot: ids[2]!, object: a.object, what: /sealed to other recipients/ };
    },
  },
];

for (const kind of ['file', 's3'] as const) {
  describe(`verify on ${kind}://`, () => {
    let f: RepoFixture;
    let ids: string[];
    let manifests: Manifest[];
    let originals: Map<string, Buffer>;
    let artifacts: string[];
    before(async () => {
      f = await repoFixture(kind, s3);
      ids = [];
      for (let i = 0; i < 3; i++) ids.push((await f.backup()).id);
      manifests = await Promise.all(
        ids.map(async (id) => JSON.parse((await f.raw.read(manifestKey(id))).toString()) as Manifest),
      );
      artifacts = manifests.flatMap((m) => m.artifacts.map((a) => a.object)).sort();
      originals = await f.raw.snapshotBytes();
    });
    after(async () => {
      await f?.close();
    });
    /** Puts every object back as it was after the three backups. */
    async function repair(): Promise<void> {
      for (const [k, b] of originals) await f.raw.write(k, b);
    }

    test('a clean repository passes every tier; records are signed and the snapshots listed as data verified', async () => {
      const inv = await verify(f);
      assert.equal(inv.exit_code, 0, inv.problems.join(' | '));
      assert.equal(inv.tier, 'inventory');
      assert.equal(inv.snapshots.length, 3);
      for (const s of inv.snapshots) {
        assert.equal(s.signature, 'ok');
        assert.ok(s.chain.ok, s.chain.detail);
        for (const o of s.objects.filter((x) => x.kind !== 'manifest'))
          assert.deepEqual(o.checks, ['present', 'size', 'header']);
      }
      assert.deepEqual(inv.read, [], 'the inventory downloads no body');
      assert.ok(inv.record_key?.startsWith('verifications/'));
      assert.ok(inv.evidence, inv.record_error);

      const full = await verify(f, { readData: true });
      assert.equal(full.exit_code, 0, full.problems.join(' | '));
      assert.deepEqual([...full.read].sort(), artifacts);

      const halves: string[] = [];
      for (const n of [1, 2]) {
        const r = await verify(f, { readData: true, subset: { n, t: 2 } });
        assert.equal(r.exit_code, 0, r.problems.join(' | '));
        halves.push(...r.read);
      }
      assert.deepEqual(halves.sort(), artifacts, 'slices 1/2 and 2/2 together read everything once');

      const list = await runCli(['--config', f.setup.configPath, '--json', 'snapshots'], { env: f.raw.env });
      assert.equal(list.code, 0, list.stderr);
      const rows = (JSON.parse(list.stdout) as { snapshots: Array<{ status: string }> }).snapshots;
      const today = new Date().toISOString().slice(0, 10);
      assert.deepEqual(
        rows.map((r) => r.status),
        ids.map(() => `data verified ${today}`),
      );
      const keys = await f.raw.keys();
      assert.ok(keys.includes(full.record_key!), 'the verify record is stored');
    });

    for (const damage of DAMAGES) {
      test(`${damage.name}: ${damage.tier} exits 13 naming the snapshot and the object`, async () => {
        try {
          const { snapshot, object, what } = await damage.apply(f, ids, manifests);
          if (damage.tier === 'read-data') {
            const inv = await verify(f, { record: false });
            assert.equal(inv.exit_code, 0, `the inventory cannot see it: ${inv.problems.join(' | ')}`);
          }
          const r = await verify(f, { readData: damage.tier === 'read-data', record: false });
          assertNames(r, snapshot, object, what);
        } finally {
          await repair();
        }
      });
    }

    test('t runs of --read-data-subset auto/t read every object exactly once, then start over', async () => {
      await rm(f.stateDir, { recursive: true, force: true });
      const runs: string[][] = [];
      for (let i = 0; i < 4; i++) {
        const r = await verify(f, { readData: true, subset: { n: 'auto', t: 3 }, record: false });
        assert.equal(r.exit_code, 0, r.problems.join(' | '));
        assert.equal(r.subset?.n, (i % 3) + 1);
        runs.push(r.read);
      }
      const first3 = runs.slice(0, 3).flat();
      assert.deepEqual([...first3].sort(), artifacts, 'every object once');
      assert.equal(new Set(first3).size, first3.length, 'none twice');
      assert.deepEqual(runs[3], runs[0], 'the fourth run is slice 1 again');
    });

    test('--max-egress stops before the budget, says what was left, and auto/t resumes the slice', async () => {
      await rm(f.stateDir, { recursive: true, force: true });
      const db = manifests.map((m) => art(m, 'database'));
      const budget = Math.floor(db[0]!.size * 1.5);
      const r = await verify(f, { readData: true, subset: { n: 'auto', t: 1 }, maxEgress: budget, record: false });
      assert.equal(r.exit_code, ExitCode.INCONCLUSIVE, r.problems.join(' | '));
      assert.ok(r.egress.bytes_read <= budget, `${r.egress.bytes_read} > ${budget}`);
      assert.ok(r.egress.stopped);
      assert.ok(
        r.left.some((l) => l.object === db[2]!.object),
        'the last database was left',
      );
      assert.equal(r.egress.left_objects, r.left.length);
      assert.equal(r.next_slice, 1, 'an incomplete slice is resumed');
      const rest = await verify(f, { readData: true, subset: { n: 'auto', t: 1 }, record: false });
      assert.equal(rest.exit_code, 0, rest.problems.join(' | '));
      assert.deepEqual([...r.read, ...rest.read].sort(), artifacts, 'the two runs read everything exactly once');
    });

    test('the CLI: exit 13 and JSON naming the object; snapshots shows DAMAGED; backup.database does not count it', async () => {
      const a = art(manifests[2]!, 'database');
      try {
        await f.raw.write(a.object, (await f.raw.read(a.object)).subarray(0, a.size - 1));
        const r = await runCli(['--config', f.setup.configPath, '--json', 'verify'], { env: f.raw.env });
        assert.equal(r.code, ExitCode.INTEGRITY, r.stderr);
        const doc = JSON.parse(r.stdout) as { ok: boolean; problems: string[] };
        assert.equal(doc.ok, false);
        assert.ok(
          doc.problems.some((p) => p.includes(ids[2]!) && p.includes(a.object)),
          doc.problems.join(' | '),
        );
        const text = await runCli(['--config', f.setup.configPath, 'verify', ids[2]!], { env: f.raw.env });
        assert.equal(text.code, ExitCode.INTEGRITY);
        assert.match(text.stdout, new RegExp(`${ids[2]}\\s+DAMAGED`));
        assert.match(text.stdout, /PROBLEMS \(exit 13\)/);
        const list = await runCli(['--config', f.setup.configPath, 'snapshots'], { env: f.raw.env });
        assert.match(list.stdout, new RegExp(`${ids[2]}.*DAMAGED`));
        const check = await runCli(['--config', f.setup.configPath, '--json', 'check', '--only', 'backup.database'], {
          env: f.raw.env,
        });
        const res = (
          JSON.parse(check.stdout) as { results: Array<{ id: string; summary: string; evidence: unknown[] }> }
        ).results[0]!;
        assert.match(res.summary, new RegExp(`snapshot ${ids[1]}`), 'the damaged newest snapshot is not counted');
        assert.match(JSON.stringify(res.evidence), /the latest verification found it damaged/);
      } finally {
        await repair();
      }
      const again = await runCli(['--config', f.setup.configPath, 'verify'], { env: f.raw.env });
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /everything checked is sound/);
    });
  });
}

describe('verify --live against the Barycenter stand-in', () => {
  let f: RepoFixture;
  before(async () => {
    f = await repoFixture('file', undefined, { keepRunning: true });
    await f.backup();
  });
  after(async () => {
    await f?.close();
  });

  test('passes while production serves the backed-up key; fails naming the kid when it serves another', async () => {
    const ok = await verify(f, { live: true, record: false });
    assert.equal(ok.exit_code, 0, ok.problems.join(' | '));
    assert.equal(ok.live?.verdict, 'pass', ok.live?.detail);

    // A key rotation that was never backed up: production restarts with a new key.
    await f.d.standin!.stop();
    await rm(path.join(f.d.workdir, 'data/private_key.pem'));
    await rm(path.join(f.d.workdir, 'data/jwks.json'));
    f.d.standin = await startStandin({
      cwd: f.d.workdir,
      configPath: f.d.configPath,
      port: f.d.port,
      env: FROM_CONFIG,
    });
    const kid = (
      JSON.parse(await readFile(path.join(f.d.workdir, 'data/jwks.json'), 'utf8')) as { keys: Array<{ kid: string }> }
    ).keys[0]!.kid;
    const bad = await verify(f, { live: true, record: false });
    assert.equal(bad.exit_code, ExitCode.INTEGRITY);
    assert.equal(bad.live?.verdict, 'fail');
    assert.ok(
      bad.problems.some((p) => p.includes(`serves kid ${kid}`) && /no snapshot holds/.test(p)),
      bad.problems.join(' | '),
    );
    assert.ok(bad.problems.some((p) => /does not serve the key of the newest snapshot/.test(p)));

    // Production unreachable: inconclusive, not a pass.
    await f.d.standin!.stop();
    f.d.standin = undefined;
    const down = await verify(f, { live: true, record: false });
    assert.equal(down.exit_code, ExitCode.INCONCLUSIVE, down.problems.join(' | '));
    assert.equal(down.live?.verdict, 'inconclusive');
  });
});
