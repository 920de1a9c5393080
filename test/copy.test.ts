// barysafe copy: real backups (one pruned by forget, so a chain link runs through a tombstone)
// copied file:// -> s3:// with the CLI and back s3:// -> file:// — byte for byte, verify
// --read-data passes on each copy, a second copy transfers nothing, and a damaged source snapshot
// is refused rather than spread.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadSigner, loadVerifier, type Verifier } from '../src/crypto/signing.js';
import { ExitCode } from '../src/errors.js';
import { runCopy, type CopyResult } from '../src/repository/copy.js';
import { FileStorage } from '../src/repository/file-storage.js';
import { runForget } from '../src/repository/forget.js';
import { manifestKey } from '../src/repository/layout.js';
import type { Manifest } from '../src/repository/manifest.js';
import { openStorage } from '../src/repository/open-storage.js';
import { Repository } from '../src/repository/repository.js';
import type { Storage } from '../src/repository/storage.js';
import { runVerify } from '../src/verify/repo/run.js';
import { runCli } from './support/deployments.js';
import { logger, repoFixture, type RepoFixture } from './support/repo-fixture.js';
import { getS3, useS3Credentials, type TestS3 } from './support/services.js';

async function allBytes(storage: Storage): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const repo = new Repository(storage);
  for await (const o of storage.list(''))
    if (!o.key.startsWith('locks/')) out.set(o.key, await repo.readSmall(o.key, o.key));
  return out;
}

describe('barysafe copy', () => {
  let s3: TestS3;
  let f: RepoFixture;
  let verifier: Verifier;
  let ids: string[];
  let target: { url: string; storage: Storage };
  before(async () => {
    s3 = await getS3();
    useS3Credentials(s3);
    f = await repoFixture('file', undefined);
    ids = [];
    for (let i = 0; i < 3; i++) ids.push((await f.backup()).id);
    verifier = await loadVerifier(f.config.encryption.signing_key_file!);
    const pruned = await runForget(f.config, {
      policy: { keep_last: 2 },
      confirm: true,
      storage: f.storage,
      verifier,
      signer: await loadSigner(f.config.encryption.signing_key_file!),
      logger,
    });
    assert.deepEqual(
      pruned.snapshots.filter((x) => x.action === 'remove').map((x) => x.id),
      [ids[0]],
    );
    const bucket = await s3.createBucket();
    const url = `s3://${bucket}/copy`;
    target = { url, storage: openStorage({ url, endpoint: s3.endpoint, region: s3.region, force_path_style: true }) };
  });
  after(async () => {
    await target?.storage.close?.();
    await f?.close();
    await s3?.stop();
  });

  const verifyCopy = (storage: Storage) =>
    runVerify(f.config, {
      readData: true,
      live: false,
      record: false,
      identityFile: f.setup.identityFile,
      storage,
      logger,
    });

  test('file:// -> s3:// byte for byte; verify --read-data passes on the copy; a second copy transfers nothing', async () => {
    const args = ['--config', f.setup.configPath, '--json', 'copy', '--to', target.url];
    const s3Args = ['--to-endpoint', s3.endpoint, '--to-region', s3.region];
    const first = await runCli([...args, ...s3Args], { env: s3.env });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const r = JSON.parse(first.stdout) as CopyResult & { ok: boolean };
    assert.deepEqual(r.copied, [ids[1], ids[2]]);
    assert.ok(r.records_copied.some((k) => k.startsWith('tombstones/')));
    assert.ok(r.records_copied.includes('repository.json'));
    assert.ok(r.bytes_copied > 0);

    const source = await allBytes(f.storage);
    const copy = await allBytes(target.storage);
    const wanted = [...source.keys()].filter((k) => /^(snapshots|tombstones)\/|^repository\.json$/.test(k));
    for (const k of wanted) assert.ok(copy.get(k)?.equals(source.get(k)!), `${k} is byte for byte in the copy`);
    assert.deepEqual(
      [...copy.keys()].filter((k) => k.startsWith('snapshots/')).sort(),
      wanted.filter((k) => k.startsWith('snapshots/')).sort(),
    );

    const v = await verifyCopy(target.storage);
    assert.equal(v.exit_code, 0, v.problems.join(' | '));
    assert.equal(v.tier, 'read-data');
    assert.ok(
      v.snapshots.some((x) => /removed by forget/.test(x.chain.detail)),
      'the pruned link holds in the copy',
    );

    const second = await runCli([...args, ...s3Args], { env: s3.env });
    assert.equal(second.code, 0, second.stderr);
    const r2 = JSON.parse(second.stdout) as CopyResult;
    assert.deepEqual([r2.copied, r2.objects_copied, r2.bytes_copied], [[], 0, 0]);
    assert.deepEqual(r2.already_there, [ids[1], ids[2]]);
    const text = await runCli(['--config', f.setup.configPath, 'copy', '--to', target.url, ...s3Args], {
      env: s3.env,
    });
    assert.match(text.stdout, /0 snapshot\(s\) copied, 2 already there; 0 object\(s\), 0 B transferred/);
  });

  test('s3:// -> file:// back: byte for byte, verify --read-data passes', async () => {
    const dir = path.join(f.d.dir.path, 'copy-back');
    await mkdir(dir, { recursive: true });
    const back = new FileStorage(`file://${dir}`);
    const r = await runCopy({ from: target.storage, to: back, verifier, logger });
    assert.equal(r.exit_code, 0, r.problems.join(' | '));
    assert.deepEqual(r.copied, [ids[1], ids[2]]);
    const source = await allBytes(f.storage);
    const copy = await allBytes(back);
    for (const [k, b] of copy) if (!k.startsWith('verifications/')) assert.ok(source.get(k)?.equals(b), `${k} differs`);
    const v = await verifyCopy(back);
    assert.equal(v.exit_code, 0, v.problems.join(' | '));
  });

  test('a damaged source snapshot is refused (exit 13) and never listed in the target', async () => {
    const m = JSON.parse((await f.raw.read(manifestKey(ids[2]!))).toString()) as Manifest;
    const a = m.artifacts.find((x) => x.kind === 'database')!;
    const original = await f.raw.read(a.object);
    const flipped = Buffer.from(original);
    flipped[flipped.length >> 1]! ^= 0x01;
    await f.raw.write(a.object, flipped);
    try {
      const dir = path.join(f.d.dir.path, 'copy-damaged');
      await mkdir(dir, { recursive: true });
      const to = new FileStorage(`file://${dir}`);
      const r = await runCopy({ from: f.storage, to, verifier, logger });
      assert.equal(r.exit_code, ExitCode.INTEGRITY);
      assert.deepEqual(r.copied, [ids[1]]);
      assert.equal(r.refused[0]?.id, ids[2]);
      assert.match(r.refused[0]!.why, new RegExp(`${a.object}: the source's bytes do not match the manifest's sha256`));
      assert.deepEqual(await new Repository(to, verifier).snapshotIds(), [ids[1]]);
      assert.equal(await to.head(a.object), null, 'the bad copy of the object was removed');
    } finally {
      await f.raw.write(a.object, original);
    }
  });
});
