// barysafe forget over a synthetic year of daily snapshots (written with barysafe's own writer
// functions, an injected clock) plus one real backup: exactly the snapshots the policy and the
// protections name survive; the dry run changes no byte; the tombstone verifies and explains the
// gaps to verify and to anti-rollback; a drill after the prune passes; a crash half-way leaves
// orphans the next run removes. On s3:// behind the recording proxy, objects under Object Lock
// survive --confirm and no DELETE of a retained object is even tried.
import assert from 'node:assert/strict';
import { newJwkPair } from '../src/crypto/keygen.js';
import http from 'node:http';
import { mkdir, readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runBackup } from '../src/backup/pipeline.js';
import { parsePrivateJwk } from '../src/barycenter/jwk.js';
import type { BarysafeConfig } from '../src/config/schema.js';
import { loadSigner, loadVerifier, type Signer, type Verifier } from '../src/crypto/signing.js';
import { ExitCode } from '../src/errors.js';
import { AnchorStore } from '../src/repository/anchor.js';
import { compareWithAnchor, newestVerified, readAnchor, readRepositoryId } from '../src/repository/chain.js';
import type { DrillRecord } from '../src/repository/drill-record.js';
import { runForget, type ForgetOptions, type ForgetResult } from '../src/repository/forget.js';
import { drillRecordKey, manifestKey, snapshotIdOfKey } from '../src/repository/layout.js';
import { listEvidence, readObject, type Statement } from '../src/repository/evidence.js';
import { parseEnvelope, payloadBytes } from '../src/crypto/dsse.js';
import { openStorage } from '../src/repository/open-storage.js';
import { Repository } from '../src/repository/repository.js';
import { isoWeek, type RetentionPolicy } from '../src/repository/retention.js';
import { StorageError, type Storage } from '../src/repository/storage.js';
import type { RemovedSnapshot } from '../src/repository/tombstone.js';
import { runVerify } from '../src/verify/repo/run.js';
import { assertAllPass, drillSetup, logger, type DrillSetup } from './drill-fixtures.js';
import { runCli } from './support/deployments.js';
import { rawRepo, type RawRepo } from './support/raw-repo.js';
import { repoFixture, type RepoFixture } from './support/repo-fixture.js';
import { getS3, useS3Credentials, type TestS3 } from './support/services.js';
import { startS3Proxy, type S3Proxy } from './support/s3-proxy.js';
import { dailyAt, writeSnapshots, type SyntheticKey, type Written } from './support/synthetic.js';

const dayOf = (id: string) => `${id.slice(0, 4)}-${id.slice(4, 6)}-${id.slice(6, 8)}`;

async function thumbOf(jwk: object): Promise<string> {
  return (await parsePrivateJwk(JSON.stringify(jwk))).facts.thumbprint;
}

/** A production stand-in's JWKS endpoint for the keys test: serves exactly `keys` (public parts). */
async function jwksServer(keys: object[]): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ keys }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('forget over a synthetic year (file://)', () => {
  const NOW = new Date('2026-01-01T04:00:00.000Z');
  const POLICY: RetentionPolicy = {
    keep_within: '3d',
    keep_daily: 7,
    keep_weekly: 4,
    keep_monthly: 12,
    keep_yearly: 3,
  };
  // Worked out by hand from the calendar (2026-01-01 is a Thursday of ISO week 2026-W01):
  const EXPECTED = [
    '2025-02-28', // monthly: newest of February … of November
    '2025-03-31',
    '2025-04-09', // the last snapshot holding the old key, which production still publishes
    '2025-04-30',
    '2025-05-31',
    '2025-06-10', // cited by a drill inside retention.evidence_days (300)
    '2025-06-30',
    '2025-07-31',
    '2025-08-31',
    '2025-09-30',
    '2025-10-31',
    '2025-11-30',
    '2025-12-14', // weekly: 2025-W50, W51, W52
    '2025-12-21',
    '2025-12-26', // daily: the seven newest days (with the real backup's 2026-01-01)
    '2025-12-27',
    '2025-12-28',
    '2025-12-29',
    '2025-12-30',
    '2025-12-31', // also monthly (December) and yearly (2025)
    '2026-01-01', // the real backup: newest, daily, weekly, monthly, yearly
  ];

  let s: DrillSetup;
  let storage: Storage;
  let raw: RawRepo;
  let signer: Signer;
  let verifier: Verifier;
  let year: Written[];
  let realId: string;
  let jwks: { url: string; close(): Promise<void> };
  let config: BarysafeConfig;
  let host2: AnchorStore;
  before(async () => {
    s = await drillSetup();
    storage = openStorage(s.config.repository);
    raw = await rawRepo('file', s.d.dir.path);
    signer = await loadSigner(s.config.encryption.signing_key_file!);
    verifier = await loadVerifier(s.config.encryption.signing_key_file!);
    const current = JSON.parse(await readFile(path.join(s.d.workdir, 'data/private_key.pem'), 'utf8')) as Record<
      string,
      string
    >;
    const { privateJwk } = newJwkPair({ type: 'rsa', modulusLength: 2048 });
    const old = { ...(privateJwk as Record<string, string>), kid: 'old-key' };
    const oldKey: SyntheticKey = { kid: 'old-key', thumbprint: await thumbOf(old) };
    const curKey: SyntheticKey = { kid: current.kid!, thumbprint: await thumbOf(current) };
    const t0 = Date.now();
    // 2025-01-01 … 2025-04-09 (99 days) hold the old key, the rest of the year the current one.
    year = await writeSnapshots(storage, s.config, signer, dailyAt('2025-01-01', 365), (_at, i) =>
      i < 99 ? oldKey : curKey,
    );
    process.stderr.write(`# 365 synthetic snapshots written in ${Date.now() - t0} ms\n`);
    realId = (await runBackup(s.config, { logger, storage, now: () => new Date('2026-01-01T03:00:00.000Z') })).id;
    // Drill records: one inside the evidence window (300 days), one outside it.
    for (const [day, cited] of [
      ['2025-06-10', year[160]!],
      ['2025-02-10', year[40]!],
    ] as const) {
      assert.equal(dayOf(cited.id), day);
      const finished = new Date(cited.at.getTime() + 2 * 3_600_000);
      const record: DrillRecord = {
        format: 'barysafe.drill/v1',
        id: `drill-${day}`,
        snapshot_id: cited.id,
        snapshot_sha256: cited.sha256,
        started_at: new Date(finished.getTime() - 60_000).toISOString(),
        finished_at: finished.toISOString(),
        verdict: 'pass',
        steps: [],
        rto_ms: 42_000,
        rpo_ms: 7_200_000,
        host: 'test',
        tool: { name: 'barysafe', version: '0.0.0' },
      };
      await new Repository(storage, signer).putSignedDocument(drillRecordKey(record.id), record, signer);
    }
    // Production publishes the current key and, still, the old one (a rotation not yet finished).
    const pub = (k: Record<string, string>) => ({ kty: 'RSA', n: k.n, e: k.e, kid: k.kid, alg: 'RS256', use: 'sig' });
    jwks = await jwksServer([pub(current), pub(old)]);
    config = {
      ...s.config,
      barycenter: { ...s.config.barycenter, public_url: jwks.url },
      retention: { ...s.config.retention, evidence_days: 300 },
    };
    // Another host saw 2025-12-20 as the newest snapshot (before the real backup): its anchor.
    const dir = path.join(s.d.dir.path, 'host2-state');
    await mkdir(dir, { mode: 0o700 });
    host2 = new AnchorStore(dir);
    const repo = new Repository(storage, verifier);
    const seen = year.find((w) => dayOf(w.id) === '2025-12-20')!;
    await host2.save({
      repository_id: (await readRepositoryId(repo))!,
      repository_url: storage.displayUrl,
      snapshot: { id: seen.id, sha256: seen.sha256, sequence: seen.sequence },
    });
  });
  after(async () => {
    await jwks?.close();
    await storage?.close?.();
    await s?.close();
  });

  const forget = (o: Partial<ForgetOptions> = {}): Promise<ForgetResult> =>
    runForget(config, { policy: POLICY, confirm: false, storage, verifier, signer, logger, now: () => NOW, ...o });
  const survivors = (r: ForgetResult) =>
    r.snapshots
      .filter((x) => x.action === 'keep')
      .map((x) => dayOf(x.id))
      .sort();

  test('the dry run (CLI and in-process) plans exactly the expected survivors and changes no byte', async () => {
    const before = await raw.snapshotBytes();
    const plan = await forget();
    assert.deepEqual(survivors(plan), EXPECTED);
    assert.equal(plan.snapshots.filter((x) => x.action === 'remove').length, 366 - EXPECTED.length);
    const why = (day: string) => plan.snapshots.find((x) => dayOf(x.id) === day)!.reasons.join('; ');
    assert.match(why('2025-04-09'), /last snapshot holding key old-key, which production publishes/);
    assert.match(
      why('2025-06-10'),
      /cited by drill drill-2025-06-10 \(2025-06-10T05:00:00.000Z\), inside retention.evidence_days = 300/,
    );
    assert.match(why('2026-01-01'), /newest snapshot/);
    assert.match(why('2025-12-14'), /^weekly snapshot$/);
    assert.equal(plan.tombstone, null);

    const cli = await runCli([
      '--config',
      s.setup.configPath,
      '--json',
      'forget',
      '--keep-daily',
      '7',
      '--keep-monthly',
      '12',
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    const doc = JSON.parse(cli.stdout) as ForgetResult & { ok: boolean };
    assert.equal(doc.dry_run, true);
    assert.equal(doc.policy_text, 'keep 7 daily, 12 monthly');
    assert.ok(doc.snapshots.some((x) => x.action === 'remove'));
    const text = await runCli(['--config', s.setup.configPath, 'forget', '--keep-last', '3']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /DRY RUN, nothing is changed/);
    assert.match(text.stdout, /would remove \d+ snapshot\(s\)/);

    const afterwards = await raw.snapshotBytes();
    assert.deepEqual([...afterwards.keys()], [...before.keys()], 'no object added or removed');
    for (const [k, b] of before) assert.ok(afterwards.get(k)!.equals(b), `${k} changed`);

    const none = await runCli(['--config', s.setup.configPath, 'forget']);
    assert.equal(none.code, ExitCode.USAGE, 'no [retention] rule and no flag: nothing to apply');
    assert.match(none.stderr, /no retention rule/);
    const bad = await runCli(['--config', s.setup.configPath, 'forget', '--keep-daily', 'seven']);
    assert.equal(bad.code, ExitCode.USAGE);
    assert.match(bad.stderr, /--keep-daily seven is not a count/);
  });

  test('--confirm removes exactly the rest; the tombstone verifies; verify, anti-rollback and a drill accept the gaps', async () => {
    const repoBefore = new Repository(storage, verifier);
    const expectedRemoved = (await repoBefore.list()).filter((e) => !EXPECTED.includes(dayOf(e.id)));
    const r = await forget({ confirm: true });
    assert.equal(r.exit_code, 0, r.errors.join(' | '));
    assert.deepEqual(r.errors, []);
    const repo = new Repository(storage, verifier);
    assert.deepEqual((await repo.snapshotIds()).map(dayOf), EXPECTED);
    // No object of a removed snapshot is left, and no lock.
    const keys = await raw.keys();
    const left = new Set(keys.map(snapshotIdOfKey).filter(Boolean));
    assert.deepEqual([...left].map((id) => dayOf(id!)).sort(), EXPECTED);
    assert.ok(!keys.some((k) => k.startsWith('locks/')), 'the writer lock was released');

    const tombstones = await repo.tombstones();
    assert.equal(tombstones.length, 1);
    const t = tombstones[0]!;
    assert.equal(t.key, r.tombstone);
    assert.equal(t.verified, true, 'the tombstone signature verifies');
    assert.ok(t.verified === true);
    assert.equal(t.record.removed.length, expectedRemoved.length);
    for (const e of expectedRemoved) {
      const entry: RemovedSnapshot | undefined = t.record.removed.find((x: RemovedSnapshot) => x.id === e.id);
      assert.ok(entry, `${e.id} is in the tombstone`);
      assert.equal(entry.manifest_sha256, e.sha256);
      assert.ok(entry.objects.includes(manifestKey(e.id)) && entry.objects.length === 3);
    }
    assert.match(t.record.reason, /keep 7 daily, 4 weekly, 12 monthly, 3 yearly, all within 3d of the newest/);

    // The run is in the evidence chain, naming what went by digest; the chain still proves out.
    const records = await listEvidence(storage);
    const last = parseEnvelope(await readObject(storage, records[records.length - 1]!.key))!;
    const statement = JSON.parse(payloadBytes(last).toString('utf8')) as Statement;
    assert.equal(statement.predicate.barysafe.run, 'forget');
    assert.deepEqual(
      statement.predicate.barysafe.cites.map((c) => c.name),
      [r.tombstone],
    );
    const gone = statement.predicate.removed as Array<{ name: string; digest: { sha256: string } }>;
    assert.equal(gone.length, expectedRemoved.length);
    assert.deepEqual(
      gone.find((g) => g.name === manifestKey(expectedRemoved[0]!.id))?.digest.sha256,
      expectedRemoved[0]!.sha256,
    );
    const chainCheck = await runCli(['--config', s.setup.configPath, 'verify-evidence']);
    assert.equal(chainCheck.code, 0, chainCheck.stdout + chainCheck.stderr);

    // verify's inventory: every chain link goes through the tombstone, sequences follow.
    const v = await runVerify(config, {
      readData: false,
      live: false,
      record: false,
      storage,
      logger,
      now: () => NOW,
    });
    assert.equal(v.exit_code, 0, v.problems.join(' | '));
    assert.ok(v.snapshots.some((x) => /removed by forget/.test(x.chain.detail)));

    // Anti-rollback: the other host's anchored snapshot was pruned; the tombstone explains it.
    const newest = (await newestVerified(repo, NOW)).entry;
    assert.deepEqual((await compareWithAnchor(repo, await readAnchor(repo, host2), newest)).problems, []);
    // Without the tombstone the same gap is a rollback.
    const bytes = await raw.read(r.tombstone!);
    await raw.remove(r.tombstone!);
    try {
      const bare = new Repository(storage, verifier);
      const c = await compareWithAnchor(bare, await readAnchor(bare, host2), (await newestVerified(bare, NOW)).entry);
      assert.ok(
        c.problems.some((p) => /anchored snapshot .* is gone/.test(p)),
        c.problems.join(' | '),
      );
      const broken = await runVerify(config, {
        readData: false,
        live: false,
        record: false,
        storage,
        logger,
        now: () => NOW,
      });
      assert.equal(broken.exit_code, ExitCode.INTEGRITY);
    } finally {
      await raw.write(r.tombstone!, bytes);
    }

    // A drill of "latest" from the host whose anchor was pruned: not refused as a rollback.
    const { result } = await s.drill({ ...s.config, state: { dir: host2.dir } });
    assertAllPass(result);
    assert.equal(result.snapshot_id, realId);

    // A second run has nothing left to remove and writes no tombstone.
    const again = await forget({ confirm: true });
    assert.equal(again.exit_code, 0);
    assert.equal(again.tombstone, null);
    assert.equal(again.snapshots.filter((x) => x.action === 'remove').length, 0);
  });

  test('a crash between manifest and objects leaves orphans, never a listed snapshot with missing objects', async () => {
    const repo = new Repository(storage, verifier);
    const newest = (await repo.list()).pop()!;
    assert.ok(newest.verified === true);
    // Three more days, then a forget whose store fails every artifact delete (after the manifest's).
    const more = await writeSnapshots(
      storage,
      s.config,
      signer,
      dailyAt('2026-01-02', 3),
      () => ({ kid: newest.manifest.key.kid!, thumbprint: newest.manifest.key.thumbprint }),
      {
        after: {
          id: newest.id,
          sha256: newest.sha256,
          at: new Date(newest.manifest.created_at),
          sequence: newest.manifest.sequence!,
        },
      },
    );
    const failing: Storage = Object.create(storage, {
      delete: {
        value: async (k: string) => {
          if (k.endsWith('.age')) throw new StorageError('injected: the store went away');
          return storage.delete(k);
        },
      },
    }) as Storage;
    const later = new Date('2026-01-04T04:00:00.000Z');
    const policy: RetentionPolicy = { keep_within: '1d' };
    const crashed = await forget({ confirm: true, storage: failing, policy, now: () => later });
    assert.equal(crashed.exit_code, ExitCode.REPOSITORY);
    assert.ok(
      crashed.errors.length > 0 &&
        crashed.errors.every((e) => /not deleted \(an orphan the next forget removes\)/.test(e)),
    );
    const gone = crashed.removed;
    assert.ok(gone.includes(more[0]!.id), 'the first of the three days is not kept by keep_within 1d');
    const listed = await new Repository(storage, verifier).snapshotIds();
    for (const id of gone) assert.ok(!listed.includes(id), `${id} is not listed any more`);
    // Every listed snapshot is whole: verify passes while the orphans are still there.
    const v = await runVerify(config, {
      readData: false,
      live: false,
      record: false,
      storage,
      logger,
      now: () => later,
    });
    assert.equal(v.exit_code, 0, v.problems.join(' | '));
    const orphans = (await raw.keys()).filter((k) => gone.includes(snapshotIdOfKey(k) ?? ''));
    assert.ok(orphans.length >= 2);

    const next = await forget({ confirm: true, policy, now: () => later });
    assert.equal(next.exit_code, 0, next.errors.join(' | '));
    assert.deepEqual(next.removed_orphans.sort(), orphans.sort());
    const t = (await new Repository(storage, verifier).tombstones()).find((x) => x.key === next.tombstone);
    assert.ok(t?.verified === true);
    assert.deepEqual([...t.record.orphans].sort(), orphans.sort());
    assert.deepEqual(
      (await raw.keys()).filter((k) => gone.includes(snapshotIdOfKey(k) ?? '')),
      [],
    );
  });
});

describe('forget on s3:// with Object Lock (recording proxy)', () => {
  let s3: TestS3;
  let proxy: S3Proxy;
  let f: RepoFixture;
  const NOW = new Date('2026-03-30T04:00:00.000Z');
  before(async () => {
    s3 = await getS3();
    useS3Credentials(s3);
    // The proxy's clock is the repository's clock (the fixture's, which the test moves).
    proxy = await startS3Proxy(s3.endpoint, {
      objectLock: true,
      versioning: 'Enabled',
      now: () => f?.clock.now ?? new Date(),
    });
    f = await repoFixture('s3', s3, {
      endpoint: proxy.endpoint,
      repositoryToml: 'object_lock = { mode = "GOVERNANCE", days = 10 }',
    });
  });
  after(async () => {
    await f?.close();
    await proxy?.stop();
    await s3?.stop();
  });

  test('snapshots with an object under retention survive --confirm; no retained object is deleted', async () => {
    const signer = await loadSigner(f.config.encryption.signing_key_file!);
    const verifier = await loadVerifier(f.config.encryption.signing_key_file!);
    const key = { kid: 'k', thumbprint: 'synthetic-thumbprint' };
    const month = await writeSnapshots(f.storage, f.config, signer, dailyAt('2026-03-01', 30), () => key, {
      clock: f.clock,
    });
    // An operator extended the retention of one old manifest (only HEAD can tell).
    const bucket = /^s3:\/\/([^/]+)\//.exec(f.raw.url)![1]!;
    const held = month[4]!;
    proxy.locks.set(`${bucket}/barysafe/${manifestKey(held.id)}`, {
      mode: 'COMPLIANCE',
      until: '2026-04-30T00:00:00.000Z',
    });
    f.clock.now = NOW;
    const from = proxy.requests.length;
    const r = await runForget(f.config, {
      policy: { keep_last: 2 },
      confirm: true,
      storage: f.storage,
      verifier,
      signer,
      logger,
      now: () => NOW,
    });
    assert.equal(r.exit_code, 0, r.errors.join(' | '));
    const kept = r.snapshots.filter((x) => x.action === 'keep');
    // Days 21–30 are inside repository.object_lock (10 days); day 5 is retained on the store.
    assert.deepEqual(kept.map((x) => dayOf(x.id)).sort(), [
      '2026-03-05',
      ...dailyAt('2026-03-21', 10).map((d) => d.toISOString().slice(0, 10)),
    ]);
    assert.match(
      kept.find((x) => x.id === held.id)!.reasons.join(),
      /under Object Lock \(COMPLIANCE\) until 2026-04-30/,
    );
    assert.match(
      kept.find((x) => dayOf(x.id) === '2026-03-22')!.reasons.join(),
      /inside repository.object_lock = 10 days/,
    );
    const listed = await new Repository(f.storage, verifier).snapshotIds();
    assert.deepEqual(listed.sort(), kept.map((x) => x.id).sort());
    const refused = proxy.requests.slice(from).filter((q) => q.method === 'DELETE' && q.status === 403);
    assert.deepEqual(
      refused.map((q) => q.key),
      [],
      'forget never tried to delete a retained object',
    );
    const deleted = proxy.requests.slice(from).filter((q) => q.method === 'DELETE' && q.key.includes('/snapshots/'));
    assert.equal(deleted.length, 19 * 3, 'three objects of each of the 19 removed snapshots');
    // The tombstone itself is written under retention, like every record.
    const put = proxy.requests.slice(from).find((q) => q.method === 'PUT' && q.key.includes('tombstones/'));
    assert.equal(put?.headers['x-amz-object-lock-mode'], 'GOVERNANCE');
  });
});

test('weekly buckets are ISO 8601 weeks, as Go (restic) numbers them, across year ends', () => {
  const w = (d: string) => isoWeek(Date.parse(`${d}T12:00:00Z`));
  assert.deepEqual(w('2020-12-31'), { year: 2020, week: 53 });
  assert.deepEqual(w('2021-01-03'), { year: 2020, week: 53 });
  assert.deepEqual(w('2021-01-04'), { year: 2021, week: 1 });
  assert.deepEqual(w('2024-12-30'), { year: 2025, week: 1 });
  assert.deepEqual(w('2025-12-28'), { year: 2025, week: 52 });
  assert.deepEqual(w('2026-01-01'), { year: 2026, week: 1 });
});

describe('the agent runs forget on its schedule', () => {
  let f: RepoFixture;
  before(async () => {
    f = await repoFixture('file', undefined, { toml: '[retention]\nkeep_last = 1\n' });
  });
  after(async () => {
    await f?.close();
  });

  test('agent --run-now forget applies [retention], confirmed, with a tombstone', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await f.backup()).id);
    const r = await runCli(['--config', f.setup.configPath, 'agent', '--run-now', 'forget']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const verifier = await loadVerifier(f.config.encryption.signing_key_file!);
    const repo = new Repository(f.storage, verifier);
    assert.deepEqual(await repo.snapshotIds(), [ids[2]]);
    const t = await repo.tombstones();
    assert.equal(t.length, 1);
    assert.ok(t[0]!.verified === true);
    assert.deepEqual(t[0]!.record.removed.map((x) => x.id).sort(), [ids[0], ids[1]]);
  });
});
