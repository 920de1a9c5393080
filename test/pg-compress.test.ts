// backup.pg_compress: the choices pg_dump offers, recorded in the manifest, readable by pg_restore;
// lz4/zstd refused clearly by a pg_dump older than 16.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { getPostgres, type TestPostgres } from './support/services.js';
import { makeDeployment, run, runCli, setupBarysafe } from './support/deployments.js';
import { compressionArgs, parsePgCompress, pgDumpMajor } from '../src/platform/pg-compress.js';
import { configSchema } from '../src/config/schema.js';
import { BarysafeError, ExitCode } from '../src/errors.js';
import type { Manifest } from '../src/repository/manifest.js';

describe('pg_compress choices', () => {
  const v15 = 'pg_dump (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)';
  const v16 = 'pg_dump (PostgreSQL) 16.4';
  test('pg_dump arguments per setting and pg_dump version', () => {
    assert.equal(pgDumpMajor(v15), 15);
    assert.equal(pgDumpMajor(v16), 16);
    const cases: Array<[string | number, string, string[], string]> = [
      ['default', v15, [], 'default'],
      ['none', v15, ['--compress=0'], 'none'],
      [0, v15, ['--compress=0'], 'none'],
      [1, v15, ['--compress=1'], 'gzip:1'],
      ['gzip', v15, ['--compress=6'], 'gzip:6'],
      ['gzip:9', v16, ['--compress=gzip:9'], 'gzip:9'],
      ['lz4', v16, ['--compress=lz4'], 'lz4'],
      ['zstd:3', v16, ['--compress=zstd:3'], 'zstd:3'],
    ];
    for (const [setting, version, args, label] of cases) {
      assert.deepEqual(compressionArgs(setting, version), { args, label }, String(setting));
    }
  });

  test('lz4 and zstd need pg_dump 16: a clear usage error', () => {
    for (const s of ['lz4', 'zstd:5']) {
      assert.throws(
        () => compressionArgs(s, v15),
        (e: unknown) =>
          e instanceof BarysafeError &&
          e.exitCode === ExitCode.USAGE &&
          /needs pg_dump 16 or newer/.test(e.message) &&
          /pg_bin_dir/.test(e.hint ?? ''),
      );
    }
  });

  test('the config refuses what is not a choice', () => {
    for (const bad of ['gzip:0', 'gzip:10', 'zstd:23', 'brotli', 'none:1', 10, -1, 1.5]) {
      assert.equal(parsePgCompress(bad), undefined, String(bad));
    }
    const base = {
      barycenter: { config: '/etc/barycenter/config.toml', workdir: '/var/lib/barycenter' },
      repository: { url: 'file:///backups' },
      encryption: { recipients: ['age1x'] },
    };
    assert.equal(configSchema.parse(base).backup.pg_compress, 'default');
    assert.equal(configSchema.parse({ ...base, backup: { pg_compress: 3 } }).backup.pg_compress, 3);
    assert.equal(configSchema.safeParse({ ...base, backup: { pg_compress: 'gzip:12' } }).success, false);
  });
});

let pgService: TestPostgres;
before(async () => {
  pgService = await getPostgres();
});
after(async () => {
  await pgService?.stop();
});

describe('pg_compress in a backup', () => {
  test('"none" and a gzip level: recorded in the manifest, pg_restore reads both; "lz4" on pg_dump 15 is refused', async () => {
    const dbUrl = await pgService.createDatabase();
    const d = await makeDeployment({ databaseUrl: dbUrl });
    try {
      const repoRoot = path.join(d.dir.path, 'repository');
      const setup = await setupBarysafe(d, { url: `file://${repoRoot}` });
      const base = await readFile(setup.configPath, 'utf8');
      const binDir = pgService.binDir ? `pg_bin_dir = "${pgService.binDir}"\n` : '';
      const sizes: Record<string, number> = {};
      for (const choice of ['"none"', '9', '"default"']) {
        await writeFile(setup.configPath, `${base}\n[backup]\n${binDir}pg_compress = ${choice}\n`);
        const b = await runCli(['--config', setup.configPath, '--json', 'backup']);
        assert.equal(b.code, 0, b.stderr);
        const { snapshot } = JSON.parse(b.stdout) as {
          snapshot: { id: string; database: Manifest['database']; artifacts: Manifest['artifacts'] };
        };
        const label = { '"none"': 'none', '9': 'gzip:9', '"default"': 'default' }[choice]!;
        assert.equal(snapshot.database.dump_compression, label);
        const a = snapshot.artifacts.find((x) => x.kind === 'database')!;
        sizes[label] = a.plaintext_size;
        const dump = await run('age', ['-d', '-i', setup.identityFile, path.join(repoRoot, a.object)]);
        assert.equal(dump.code, 0, dump.stderr);
        const list = await run(path.join(pgService.binDir || '', 'pg_restore'), ['-l'], { input: dump.stdout });
        assert.equal(list.code, 0, list.stderr);
        assert.match(list.stdout.toString(), /Compression: (0|none|9|gzip|-1)/);
      }
      assert.ok(sizes.none! > sizes['gzip:9']!, `uncompressed ${sizes.none} > gzip:9 ${sizes['gzip:9']}`);

      const major = pgDumpMajor(
        (await run(path.join(pgService.binDir || '', 'pg_dump'), ['--version'])).stdout.toString(),
      );
      if (major !== undefined && major < 16) {
        await writeFile(setup.configPath, `${base}\n[backup]\n${binDir}pg_compress = "lz4"\n`);
        const r = await runCli(['--config', setup.configPath, 'backup']);
        assert.equal(r.code, ExitCode.USAGE, r.stderr);
        assert.match(r.stderr, /pg_compress = "lz4" needs pg_dump 16 or newer/);
      }
    } finally {
      await d.dir.cleanup();
      await pgService.dropDatabase(new URL(dbUrl).pathname.slice(1));
    }
  });
});
