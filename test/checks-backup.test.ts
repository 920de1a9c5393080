import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogue } from '../src/checks/catalogue.js';
import { runOne } from '../src/checks/engine.js';
import type { CheckContext } from '../src/checks/types.js';
import { contextFor, makeDeployment, otherSigner, putDrill, putSnapshot, writeConfigs } from './checks-fixture.js';

const run = (id: string, ctx: CheckContext) =>
  runOne(
    catalogue().find((d) => d.id === id)!,
    ctx,
  );
const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);

test('backup.* pass with a fresh signed snapshot holding key, database and config', async () => {
  const d = await makeDeployment({});
  await putSnapshot(d, hoursAgo(2), ['key', 'jwks', 'database', 'config']);
  const ctx = await contextFor(d.barysafeToml);
  for (const id of ['backup.private-key', 'backup.database', 'backup.config']) {
    const r = await run(id, ctx);
    assert.equal(r.status, 'pass', `${id}: ${r.summary}`);
    assert.match(r.summary, /signature verified/);
  }
});

test('backup.* fail when the newest snapshot is older than the RPO or the repository is empty', async () => {
  const d = await makeDeployment({});
  const ctxEmpty = await contextFor(d.barysafeToml);
  assert.equal((await run('backup.database', ctxEmpty)).status, 'fail');
  await putSnapshot(d, hoursAgo(30), ['key', 'database', 'config']);
  const ctx = await contextFor(d.barysafeToml);
  for (const id of ['backup.private-key', 'backup.database', 'backup.config']) {
    const r = await run(id, ctx);
    assert.equal(r.status, 'fail', id);
    assert.match(r.summary, /older than the RPO 26h/);
  }
});

test('a snapshot whose manifest another key signed does not count', async () => {
  const d = await makeDeployment({});
  await putSnapshot(d, hoursAgo(1), ['key', 'database', 'config'], { signer: otherSigner() });
  const r = await run('backup.database', await contextFor(d.barysafeToml));
  assert.equal(r.status, 'fail');
  assert.match(r.summary, /no verified snapshot/);
  assert.ok(r.evidence.some((e) => e.observed === 'signature does not verify'));
});

test('backup.private-key fails when the snapshot holds another key than the one in use', async () => {
  const d = await makeDeployment({});
  await putSnapshot(d, hoursAgo(1), ['key', 'jwks'], { thumbprint: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
  const r = await run('backup.private-key', await contextFor(d.barysafeToml));
  assert.equal(r.status, 'fail');
  assert.match(r.summary, /different key/);
});

test('without a verify key a fresh snapshot only warns', async () => {
  const d = await makeDeployment({});
  await putSnapshot(d, hoursAgo(1), ['database']);
  const toml = (await import('node:fs')).readFileSync(d.barysafeToml, 'utf8').replace(/signing_key_file = .*\n/, '');
  (await import('node:fs')).writeFileSync(d.barysafeToml, toml);
  const r = await run('backup.database', await contextFor(d.barysafeToml));
  assert.equal(r.status, 'warn');
  assert.match(r.summary, /not verified/);
});

test('backup.restore-tested: a recent passing signed drill passes; none, old or failing ones fail', async () => {
  const d = await makeDeployment({});
  assert.equal((await run('backup.restore-tested', await contextFor(d.barysafeToml))).status, 'fail');
  await putDrill(d, hoursAgo(24 * 40), 'pass');
  const old = await run('backup.restore-tested', await contextFor(d.barysafeToml));
  assert.equal(old.status, 'fail');
  assert.match(old.summary, /older than 30d/);
  await putDrill(d, hoursAgo(24), 'pass');
  const ok = await run('backup.restore-tested', await contextFor(d.barysafeToml));
  assert.equal(ok.status, 'pass', ok.summary);
  assert.ok(ok.evidence.some((e) => (e.observed as { rto_ms?: number } | undefined)?.rto_ms === 42_000));
  await putDrill(d, hoursAgo(1), 'fail');
  assert.equal((await run('backup.restore-tested', await contextFor(d.barysafeToml))).status, 'warn');

  const forged = await makeDeployment({});
  await putDrill(forged, hoursAgo(1), 'pass', { signer: otherSigner() });
  assert.equal((await run('backup.restore-tested', await contextFor(forged.barysafeToml))).status, 'fail');
});

test('backup.config looks for the service environment when Barycenter has no config file', async () => {
  const d = await makeDeployment({});
  writeConfigs(d.dir, {});
  (await import('node:fs')).rmSync(d.configToml);
  await putSnapshot(d, hoursAgo(1), ['env']);
  const r = await run('backup.config', await contextFor(d.barysafeToml));
  assert.equal(r.status, 'pass', r.summary);
  assert.match(r.summary, /service environment/);
});
