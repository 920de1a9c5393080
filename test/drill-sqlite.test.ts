// Restore drills of SQLite deployments against the Barycenter stand-in, with real files, a real
// file:// repository and real child processes: the healthy drill passes every step; each broken
// snapshot fails with a message naming its cause; nothing is left behind and nothing leaks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Repository } from '../src/repository/repository.js';
import { openStorage } from '../src/repository/open-storage.js';
import { loadVerifier } from '../src/crypto/signing.js';
import { newIdentity } from '../src/crypto/age.js';
import { startStandin } from './support/barycenter/launch.js';
import { makeTempDir } from './support/services.js';
import { FROM_CONFIG, runCli } from './support/deployments.js';
import {
  assertAllPass,
  assertNoSecret,
  assertScratchGone,
  drillSetup,
  secretsOf,
  step,
  type DrillSetup,
} from './drill-fixtures.js';

describe('restore --verify on a SQLite deployment', () => {
  let s: DrillSetup;
  let snapshotId: string;
  before(async () => {
    s = await drillSetup({ drillToml: 'rto_target = "5m"\nrpo_target = "1h"' });
    snapshotId = (await s.backup()).id;
  });
  after(() => s?.close());

  test('a healthy snapshot passes every step; RTO, RPO, a signed record; no secret anywhere', async () => {
    const { result, text, json, record } = await s.drill();
    assertAllPass(result);
    assert.equal(result.snapshot_id, snapshotId);
    assert.ok(result.rto_ms! > 0 && result.rto_ms! < 300_000, `RTO ${result.rto_ms}`);
    assert.ok(result.rpo_ms! >= 0 && result.rpo_ms! < 3600_000, `RPO ${result.rpo_ms}`);
    assert.equal(result.rto_met, true);
    assert.equal(result.rpo_met, true);
    assert.ok((step(result, 'boot').evidence!.startup_ms as number) > 0);
    process.stderr.write(
      `# healthy SQLite drill: RTO ${result.rto_ms} ms, startup ${String(step(result, 'boot').evidence!.startup_ms)} ms, steps ${result.steps.map((x) => `${x.name}=${x.duration_ms}`).join(' ')}\n`,
    );

    // Restored files were private: key, jwks, database 0600; config 0640.
    const modes = step(result, 'integrity').evidence!.restored_modes as Record<string, string>;
    assert.equal(modes['private_key.pem'], '0600');
    assert.equal(modes['jwks.json'], '0600');
    assert.equal(modes['barycenter.db'], '0600');
    assert.equal(modes['config.toml'], '0640');

    // --json: every step with verdict and timing, RTO and RPO.
    const doc = JSON.parse(json) as Record<string, any>;
    assert.equal(doc.ok, true);
    assert.equal(doc.verdict, 'pass');
    assert.equal(doc.steps.length, 9);
    for (const st of doc.steps)
      assert.ok(typeof st.verdict === 'string' && typeof st.duration_ms === 'number' && typeof st.detail === 'string');
    assert.equal(typeof doc.rto_ms, 'number');
    assert.equal(typeof doc.rpo_ms, 'number');
    assert.match(text, /verdict: PASS \(exit 0\)/);

    // The record is signed with the manifest key and reads back verified.
    const repo = new Repository(openStorage(s.config.repository), await loadVerifier(s.config.encryption.verify_key!));
    const records = await repo.listDrillRecords();
    const mine = records.find((r) => r.key === result.record_key)!;
    assert.equal(mine.verified, true);
    assert.equal(mine.record.format, 'barysafe.drill/v1');
    assert.equal(mine.record.snapshot_id, snapshotId);
    assert.equal(mine.record.verdict, 'pass');
    for (const k of [
      'id',
      'snapshot_sha256',
      'started_at',
      'finished_at',
      'steps',
      'rto_ms',
      'rpo_ms',
      'rto_target_ms',
      'rpo_target_ms',
      'host',
      'tool',
    ])
      assert.ok(k in mine.record, k);

    assertNoSecret([text, json, record], await secretsOf(s));
    assert.doesNotMatch(record + text, /password123|"password"/);
  });

  test('production JWKS that does not publish the restored key fails the token step', async () => {
    const other = await makeTempDir('barysafe-other-prod-');
    const prod2 = await startStandin({ cwd: other.path }); // its own, different key
    try {
      const { result } = await s.drill({
        ...s.config,
        barycenter: { ...s.config.barycenter, public_url: `http://localhost:${prod2.port}` },
      });
      assert.equal(step(result, 'jwks').verdict, 'pass');
      const tok = step(result, 'token');
      assert.equal(tok.verdict, 'fail');
      assert.match(
        tok.detail,
        /production's JWKS at http:\/\/localhost:\d+\/\.well-known\/jwks\.json does not publish the restored key/,
      );
      assert.equal(result.verdict, 'fail');
      assert.equal(result.exit_code, 3);
    } finally {
      await prod2.stop();
      await other.cleanup();
    }
  });

  test('an unreachable production JWKS is inconclusive, not a pass', async () => {
    const { result } = await s.drill({
      ...s.config,
      barycenter: { ...s.config.barycenter, public_url: 'http://127.0.0.1:9' },
    });
    assert.equal(step(result, 'token').verdict, 'inconclusive');
    assert.match(step(result, 'token').detail, /unreachable/);
    assert.equal(result.verdict, 'inconclusive');
    assert.equal(result.exit_code, 4);
  });

  test('drill.command starts the instance through a command template; drill.image without a Docker engine is an error', async () => {
    const { barycenter_bin: bin, ...rest } = s.config.drill;
    const viaCommand = await s.drill({ ...s.config, drill: { ...rest, command: `exec '${bin}'` } });
    assertAllPass(viaCommand.result);
    assert.match(viaCommand.result.launcher!, /^command exec/);

    if (!process.env.DOCKER_HOST && !(await import('node:fs')).existsSync('/var/run/docker.sock')) {
      const viaImage = await s.drill({
        ...s.config,
        drill: { ...rest, image: 'ghcr.io/cloudnebulaproject/barycenter:0.2.0-beta.5' },
      });
      assert.equal(step(viaImage.result, 'boot').verdict, 'error');
      assert.match(
        step(viaImage.result, 'boot').detail,
        /drill\.image is set \(ghcr\.io\/cloudnebulaproject\/barycenter:0\.2\.0-beta\.5\) but no Docker engine answers/,
      );
      assert.equal(viaImage.result.exit_code, 2);
    }
  });

  test('a tampered manifest fails integrity and nothing is restored', async () => {
    const file = path.join(s.repoRoot, 'snapshots', snapshotId, 'manifest.json');
    const original = await readFile(file);
    const doc = JSON.parse(original.toString()) as { database: { row_counts: Record<string, number> } };
    doc.database.row_counts.users = 99;
    await writeFile(file, JSON.stringify(doc, null, 2));
    try {
      const { result } = await s.drill();
      assert.equal(step(result, 'integrity').verdict, 'fail');
      assert.match(step(result, 'integrity').detail, /manifest of snapshot .* has an invalid signature/);
      for (const n of ['key', 'database', 'boot', 'token']) assert.match(step(result, n).detail, /^not run/);
      assert.equal(step(result, 'teardown').verdict, 'pass');
      assert.equal(result.exit_code, 3);
    } finally {
      await writeFile(file, original);
    }
  });

  test('a corrupted object fails integrity naming the object', async () => {
    const dir = path.join(s.repoRoot, 'snapshots', snapshotId);
    const name = (await readdir(dir)).find((f) => f.startsWith('private_key'))!;
    const file = path.join(dir, name);
    const original = await readFile(file);
    const bad = Buffer.from(original);
    bad[bad.length - 20]! ^= 0xff;
    await writeFile(file, bad);
    try {
      const { result } = await s.drill();
      assert.equal(step(result, 'integrity').verdict, 'fail');
      assert.match(
        step(result, 'integrity').detail,
        /object snapshots\/.*private_key\.pem\.age \(private_key\.pem\) is corrupt: sha256/,
      );
      assert.equal(result.verdict, 'fail');
    } finally {
      await writeFile(file, original);
    }
  });

  test('a wrong identity is an error naming the identity (exit 12)', async () => {
    const other = await makeTempDir('barysafe-identity-');
    try {
      const file = path.join(other.path, 'identity.txt');
      await writeFile(file, (await newIdentity()).identity + '\n', { mode: 0o600 });
      const { result, json } = await s.drill(s.config, { identityFile: file });
      assert.equal(step(result, 'integrity').verdict, 'error');
      assert.match(step(result, 'integrity').detail, /age identity does not match any recipient/);
      assert.equal(result.verdict, 'error');
      assert.equal(result.exit_code, 12);
      assertNoSecret([json], [(await readFile(file, 'utf8')).trim()]);
    } finally {
      await other.cleanup();
    }
  });
});

describe('restore --verify on broken SQLite deployments', () => {
  test('a snapshot whose jwks.json does not match its key fails key and jwks', async () => {
    const s = await drillSetup();
    try {
      // The classic trap (facts §1.3): the key file is lost, Barycenter generates a new key at the
      // next start and keeps serving the old jwks.json.
      await s.production.stop();
      await rm(path.join(s.d.workdir, 'data/private_key.pem'));
      s.production = await startStandin({
        cwd: s.d.workdir,
        configPath: s.d.configPath,
        port: s.d.port,
        env: FROM_CONFIG,
      });
      await s.backup();
      const { result } = await s.drill();
      assert.equal(step(result, 'integrity').verdict, 'pass');
      assert.equal(step(result, 'key').verdict, 'fail');
      assert.match(step(result, 'key').detail, /jwks\.json does not publish the signing key/);
      assert.equal(step(result, 'boot').verdict, 'pass');
      assert.equal(step(result, 'jwks').verdict, 'fail');
      assert.match(step(result, 'jwks').detail, /serves a JWKS without the restored signing key/);
      assert.equal(result.verdict, 'fail');
      assert.equal(result.rto_ms, null);
    } finally {
      await s.close();
    }
  });

  test('an instance that does not boot fails with the tail of its log', async () => {
    const s = await drillSetup();
    try {
      // A typo in the config that the running service has not picked up yet: the backup takes it.
      await writeFile(
        s.d.configPath,
        (await readFile(s.d.configPath, 'utf8')).replace(
          '[server]\n',
          '[server]\nallow_public_registration = "maybe"\n',
        ),
      );
      await s.backup();
      const { result, text } = await s.drill();
      const boot = step(result, 'boot');
      assert.equal(boot.verdict, 'fail');
      // sync-users runs first with the same config, so it is what reports the broken config.
      assert.match(
        boot.detail,
        /the restored deployment does not start: .*exited with code 1; last lines of its output:\n[\s\S]*expected a boolean for key `server\.allow_public_registration`/,
      );
      for (const n of ['discovery', 'jwks', 'token'])
        assert.match(step(result, n).detail, /^not run: the scratch instance did not boot/);
      assert.equal(step(result, 'teardown').verdict, 'pass');
      assert.match(text, /allow_public_registration/);
      assert.equal(result.exit_code, 3);
    } finally {
      await s.close();
    }
  });
});

describe('barysafe restore --verify (the CLI)', () => {
  test('--json prints every step, verdict, timings, RTO and RPO, and exits with the verdict', async () => {
    const s = await drillSetup();
    try {
      await s.backup();
      const r = await runCli(['--config', s.setup.configPath, '--json', 'restore', 'latest', '--verify']);
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as Record<string, any>;
      assert.equal(doc.ok, true);
      assert.deepEqual(
        doc.steps.map((x: { name: string; verdict: string }) => `${x.name}:${x.verdict}`),
        ['integrity', 'key', 'database', 'config', 'boot', 'discovery', 'jwks', 'token', 'teardown'].map(
          (n) => `${n}:pass`,
        ),
      );
      assert.ok(doc.steps.every((x: { duration_ms: unknown }) => typeof x.duration_ms === 'number'));
      assert.equal(typeof doc.rto_ms, 'number');
      assert.equal(typeof doc.rpo_ms, 'number');
      assert.match(doc.record_key, /^drills\/.*\.json$/);
      assertNoSecret([r.stdout, r.stderr], await secretsOf(s));
      assertScratchGone(s.tempBase);
    } finally {
      await s.close();
    }
  });
});
