// Restore drills of a PostgreSQL deployment: into a database created (and dropped) on
// drill.postgres_url's server, and into a throwaway local cluster when no server is configured.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { getPostgres, type TestPostgres } from './support/services.js';
import { assertAllPass, assertNoSecret, drillSetup, secretsOf, step, type DrillSetup } from './drill-fixtures.js';

describe('restore --verify on a PostgreSQL deployment', () => {
  let service: TestPostgres;
  let s: DrillSetup;
  let password: string;
  before(async () => {
    service = await getPostgres();
    password = decodeURIComponent(new URL(service.url).password);
    const prodUrl = await service.createDatabase();
    const binDir = service.binDir ? `pg_bin_dir = "${service.binDir}"\n` : '';
    s = await drillSetup({ databaseUrl: prodUrl, backupToml: binDir, drillToml: `postgres_url = "${service.url}"\n` });
    await s.backup();
  });
  after(async () => {
    await s?.close();
    await service?.stop();
  });

  test('drill.postgres_url: a scratch database is restored with pg_restore, every step passes, the database is dropped', async () => {
    const { result, text, json, record } = await s.drill();
    assertAllPass(result);
    assert.match(
      step(result, 'database').detail,
      /pg_restore into postgres:\/\/.*:\*\*\*@.*\/barysafe_drill_[0-9a-f]+ succeeded/,
    );
    assert.match(step(result, 'teardown').detail, /database barysafe_drill_[0-9a-f]+ dropped/);
    const c = new pg.Client({ connectionString: service.url });
    await c.connect();
    try {
      const left = await c.query("SELECT datname FROM pg_database WHERE datname LIKE 'barysafe_drill_%'");
      assert.deepEqual(left.rows, [], 'no scratch database left on the server');
    } finally {
      await c.end();
    }
    assertNoSecret([text, json, record], await secretsOf(s, [password]));
    process.stderr.write(
      `# healthy PostgreSQL drill (server database): RTO ${result.rto_ms} ms, startup ${String(step(result, 'boot').evidence!.startup_ms)} ms\n`,
    );
  });

  test('no drill.postgres_url: a throwaway local cluster is started and removed', async () => {
    const { postgres_url: _unset, ...drill } = s.config.drill;
    const { result, text, json, record } = await s.drill({ ...s.config, drill });
    assertAllPass(result);
    assert.match(step(result, 'teardown').detail, /local cluster on 127\.0\.0\.1:\d+ stopped and .* removed/);
    const left = readdirSync(tmpdir()).filter((n) => n.startsWith('barysafe-drill-pg-'));
    assert.deepEqual(left, [], 'no scratch cluster directory left');
    assert.ok(!existsSync(String(step(result, 'teardown').detail.match(/removed (\S+)/)?.[1] ?? '/nonexistent-x')));
    assertNoSecret([text, json, record], await secretsOf(s, [password]));
    process.stderr.write(
      `# healthy PostgreSQL drill (local cluster): RTO ${result.rto_ms} ms, database step ${step(result, 'database').duration_ms} ms\n`,
    );
  });
});
