// Drills across Barycenter builds: a SQLite snapshot of each build passes when the same build boots
// it; a newer snapshot booted by an older build fails naming the migration the older build lacks;
// migrations no known build writes are a warning; a key the signer refuses fails the key step.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { standinBin, startStandin } from './support/barycenter/launch.js';
import type { ProfileId } from './support/barycenter/profile.js';
import { FROM_CONFIG, REPO_ROOT } from './support/deployments.js';
import { assertAllPass, drillSetup, step } from './drill-fixtures.js';

const withDrillBuild = (s: Awaited<ReturnType<typeof drillSetup>>, build: ProfileId) => ({
  ...s.config,
  drill: { ...s.config.drill, barycenter_bin: standinBin(build) },
});

describe('drills of each Barycenter build', () => {
  for (const build of ['beta.5', '8218d6f', 'beta.14'] as const) {
    test(`a SQLite snapshot of ${build} booted by ${build} passes every step`, async () => {
      const s = await drillSetup({ build });
      try {
        const b = await s.backup();
        assert.equal(b.manifest.database.schema?.build, build);
        const { result, text } = await s.drill();
        assertAllPass(result);
        assert.match(
          step(result, 'database').detail,
          new RegExp(`as written by Barycenter ${build.replace('.', '\\.')}`),
        );
        assert.doesNotMatch(text, /warning:/);
      } finally {
        await s.close();
      }
    });
  }

  test('a beta.14 snapshot booted by 8218d6f or beta.5 fails at boot naming the migration it lacks', async () => {
    const s = await drillSetup({ build: 'beta.14' });
    try {
      await s.backup();
      for (const [older, missing] of [
        ['8218d6f', 'm20261003_000001_onboarding_invitations'],
        ['beta.5', 'm20260407_000001_create_federation_tables'],
      ] as const) {
        const { result, text } = await s.drill(withDrillBuild(s, older));
        assert.equal(step(result, 'database').verdict, 'pass', older);
        const boot = step(result, 'boot');
        assert.equal(boot.verdict, 'fail', older);
        assert.match(boot.detail, new RegExp(`does not know migration ${missing}`), older);
        assert.match(text, new RegExp(`Migration file of version '${missing}' is missing`), older);
        assert.equal(result.exit_code, 3);
      }
    } finally {
      await s.close();
    }
  });

  test('a migration no known build writes is a database-step warning naming it; boot then fails on it', async () => {
    const s = await drillSetup();
    try {
      const db = new Database(path.join(s.d.workdir, 'barycenter.db'));
      db.prepare('INSERT INTO seaql_migrations VALUES (?, ?)').run('m20990101_000001_future', 4102444800);
      db.close();
      const b = await s.backup();
      assert.deepEqual(b.manifest.database.schema?.unknown_migrations, ['m20990101_000001_future']);
      assert.equal(b.manifest.database.schema?.build, null);
      const { result, text } = await s.drill();
      const database = step(result, 'database');
      assert.equal(database.verdict, 'pass');
      assert.match(database.warnings!.join(' '), /m20990101_000001_future/);
      assert.match(text, /warning: migrations no Barycenter build known to barysafe writes: m20990101_000001_future/);
      assert.equal(step(result, 'boot').verdict, 'fail');
      assert.match(step(result, 'boot').detail, /does not know migration m20990101_000001_future/);
    } finally {
      await s.close();
    }
  });

  test('a key with "alg":"RS384" fails the key step (and the token step: the signer refuses it)', async () => {
    const s = await drillSetup();
    try {
      await s.production.stop();
      const keyFile = path.join(s.d.workdir, 'data/private_key.pem');
      const key = JSON.parse(await readFile(keyFile, 'utf8')) as Record<string, unknown>;
      await writeFile(keyFile, JSON.stringify({ ...key, alg: 'RS384' }, null, 2));
      // jwks.json copies alg from the key when Barycenter writes it; keep the pair consistent.
      const jwksFile = path.join(s.d.workdir, 'data/jwks.json');
      const jwks = JSON.parse(await readFile(jwksFile, 'utf8')) as { keys: Record<string, unknown>[] };
      await writeFile(jwksFile, JSON.stringify({ keys: [{ ...jwks.keys[0], alg: 'RS384' }] }, null, 2));
      s.production = await startStandin({
        cwd: s.d.workdir,
        configPath: s.d.configPath,
        port: s.d.port,
        env: FROM_CONFIG,
      });
      const b = await s.backup();
      assert.match(b.manifest.warnings.join(' '), /signer refuses the signing key \("alg":"RS384"/);
      const { result } = await s.drill();
      const keyStep = step(result, 'key');
      assert.equal(keyStep.verdict, 'fail');
      assert.match(keyStep.detail, /Barycenter's signer refuses this key \("alg":"RS384"/);
      assert.equal(step(result, 'boot').verdict, 'pass');
      assert.equal(step(result, 'token').verdict, 'fail');
      assert.match(step(result, 'token').detail, /500/);
      assert.equal(result.exit_code, 3);
    } finally {
      await s.close();
    }
  });
});

describe("the deployment's own definition in backups and drills", () => {
  test('a unit that sets BARYCENTER__DATABASE__URL gives the backup the right database; its ExecStart names the build', async () => {
    const s = await drillSetup({ build: 'beta.14' });
    try {
      // Move the database where only the unit's environment says it is.
      await s.production.stop();
      const config = await readFile(s.d.configPath, 'utf8');
      await writeFile(s.d.configPath, config.replace(/\[database\]\nurl = .*\n/, ''));
      await rename(path.join(s.d.workdir, 'barycenter.db'), path.join(s.d.workdir, 'data/idp.db'));
      s.production = await startStandin({
        cwd: s.d.workdir,
        configPath: s.d.configPath,
        port: s.d.port,
        build: 'beta.14',
        env: { ...FROM_CONFIG, BARYCENTER__DATABASE__URL: 'sqlite://data/idp.db?mode=rwc' },
      });
      const unit = path.join(s.d.dir.path, 'barycenter.service');
      await writeFile(
        unit,
        `[Service]\nWorkingDirectory=${s.d.workdir}\nExecStart=${standinBin('beta.14')} --config ${s.d.configPath}\nEnvironment=BARYCENTER__DATABASE__URL=sqlite://data/idp.db?mode=rwc\n`,
      );
      await writeFile(
        s.setup.configPath,
        (await readFile(s.setup.configPath, 'utf8')) + `\n[checks]\nsystemd_unit = "${unit}"\n`,
      );
      const { loadConfig } = await import('../src/config/load.js');
      const config2 = (await loadConfig(s.setup.configPath)).config;
      assert.equal(config2.checks.systemd_unit, unit, 'barysafe.toml names the unit');
      const { runBackup } = await import('../src/backup/pipeline.js');
      const { openStorage } = await import('../src/repository/open-storage.js');
      const { logger } = await import('./drill-fixtures.js');
      const b = await runBackup(config2, { logger, storage: openStorage(config2.repository) });
      assert.equal(b.manifest.database.source, path.join(s.d.workdir, 'data/idp.db'));
      assert.match(b.manifest.barycenter.setting_sources!['database.url']!, /^Environment= in .*barycenter\.service/);
      assert.deepEqual(b.manifest.barycenter.service?.variables, ['BARYCENTER__DATABASE__URL']);
      assert.ok(b.manifest.artifacts.some((a) => a.name === 'service.env' && a.kind === 'env'));
      const identity = b.manifest.barycenter.build?.identity;
      assert.equal(identity?.kind, 'binary');
      assert.match(identity?.kind === 'binary' ? identity.source : '', /^ExecStart= of systemd unit/);

      // Drilled with the same build: the record and the text show both, the same.
      const same = await s.drill(config2);
      assertAllPass(same.result);
      assert.equal(same.result.barycenter_build.comparison, 'same');
      assert.match(same.text, /Barycenter build: production binary .*; drill binary .* — the same build/);
      const record = JSON.parse(same.record) as {
        barycenter_build?: { production?: { kind: string }; comparison: string };
      };
      assert.equal(record.barycenter_build?.production?.kind, 'binary');
      assert.equal(record.barycenter_build?.comparison, 'same');
      // With another build (it knows the database: 8218d6f is older, so boot fails; beta.14 → a
      // copy of the launcher, different bytes): a warning names both.
      const copy = path.join(s.d.dir.path, 'barycenter-copy');
      await writeFile(
        copy,
        `#!/usr/bin/env bash\n# a rebuild of beta.14\nexport STANDIN_BARYCENTER_BUILD=beta.14\nexec node ${path.join(REPO_ROOT, 'dist/test/support/barycenter/main.js')} "$@"\n`,
        { mode: 0o755 },
      );
      const other = await s.drill({ ...config2, drill: { ...config2.drill, barycenter_bin: copy } });
      assertAllPass(other.result);
      assert.equal(other.result.barycenter_build.comparison, 'different');
      assert.match(
        step(other.result, 'boot').warnings!.join(' '),
        /the drill booted a different Barycenter build than production runs/,
      );
      assert.match(other.text, /DIFFERENT builds/);
    } finally {
      await s.close();
    }
  });
});
