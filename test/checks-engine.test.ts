import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContext, detectDeployment, findWaiver, runChecks } from '../src/checks/engine.js';
import { catalogue, CATALOGUE_ORDER, selectChecks } from '../src/checks/catalogue.js';
import type { BarysafeConfig } from '../src/config/schema.js';
import { testConfig } from './support/check-context.js';
import { resolveBarycenter } from '../src/config/barycenter.js';
import type { CheckDefinition } from '../src/checks/types.js';
import { exitCodeFor } from '../src/checks/report.js';

const config = (checks: Partial<BarysafeConfig['checks']> = {}) =>
  testConfig({ barycenter: { config: '/nonexistent/config.toml', workdir: '/nonexistent' }, checks });

const fixed = (id: string, status: 'pass' | 'fail' | 'warn'): CheckDefinition => ({
  id,
  section: id.split('.')[0]!,
  title: id,
  rationale: 'r',
  severity: 'high',
  remediation: { default: 'fix it', docker: 'fix the container' },
  run: async () => ({ status, summary: status, evidence: [{ source: 'test' }] }),
});

const input = (cfg: ReturnType<typeof config>, now = new Date('2026-05-01T12:00:00Z')) => ({
  config: cfg,
  configPath: '/x/barysafe.toml',
  barycenter: resolveBarycenter(cfg.barycenter, {}),
  deployment: { type: 'docker' as const, reason: 'test' },
  now,
});

test('waivers apply through their expiry day, keep the raw status, and stop applying once expired', async () => {
  const cfg = config({
    waivers: [
      { id: 'a.fail', reason: 'accepted until the migration', expires: '2026-05-01' },
      { id: 'b.fail', reason: 'old', expires: '2026-04-30' },
      { id: 'c.pass', reason: 'x', expires: '2030-01-01' },
    ],
  });
  const [a, b, c] = await runChecks(
    [fixed('a.fail', 'fail'), fixed('b.fail', 'fail'), fixed('c.pass', 'pass')],
    input(cfg),
  );
  assert.equal(a!.status, 'waived');
  assert.equal(a!.raw_status, 'fail');
  assert.equal(a!.waiver?.expired, false);
  assert.equal(b!.status, 'fail', 'expired waiver ignored');
  assert.equal(b!.waiver?.expired, true);
  assert.equal(c!.status, 'pass', 'a pass is never turned into waived');
  assert.equal(exitCodeFor([a!], false), 0);
  assert.equal(exitCodeFor([b!], false), 3);
  assert.equal(findWaiver(cfg.checks.waivers, 'a.fail', new Date('2026-05-02T00:00:00Z'))?.expired, true);
});

test('a throwing check is an error with a redacted reason; remediation fits the deployment', async () => {
  const boom: CheckDefinition = {
    ...fixed('x.boom', 'pass'),
    run: async () => {
      throw new Error('connect postgres://u:hunter2@db/x failed');
    },
  };
  const [r, w] = await runChecks([boom, fixed('y.warn', 'warn')], input(config()));
  assert.equal(r!.status, 'error');
  assert.doesNotMatch(r!.summary, /hunter2/);
  assert.equal(r!.remediation, 'fix the container');
  assert.equal(exitCodeFor([w!], false), 0, 'warn passes by default');
  assert.equal(exitCodeFor([w!], true), 3, 'warn fails with warn_exit_nonzero');
});

test('memo loads each evidence source once per run', async () => {
  const ctx = createContext(input(config()));
  let loads = 0;
  const load = async () => ++loads;
  assert.equal(await ctx.memo('k', load), 1);
  assert.equal(await ctx.memo('k', load), 1);
  assert.equal(loads, 1);
});

test('deployment detection: flag, setting, configured evidence, then host signals; barysafe’s own container is only a hint', async () => {
  const none = {
    env: {},
    exists: (_p: string) => false,
    platform: 'linux' as NodeJS.Platform,
    findProcess: async () => undefined,
  };
  const detect = (c: ReturnType<typeof config>, probe: Partial<typeof none> = {}, flag?: 'docker') =>
    detectDeployment(c, flag, { probe: { ...none, ...probe } });
  assert.equal((await detect(config(), {}, 'docker')).type, 'docker');
  assert.equal((await detect(config({ deployment: 'illumos' }))).type, 'illumos');
  assert.equal((await detect(config({ kubernetes_manifests: ['/m.yaml'] }))).type, 'kubernetes');
  assert.equal((await detect(config({ docker_inspect: '/i.json' }))).type, 'docker');
  assert.equal((await detect(config({ systemd_unit: '/u.service' }))).type, 'systemd');
  // barysafe's own pod or container says nothing about Barycenter: named as a hint, not decided on.
  const pod = await detect(config(), { env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' } });
  assert.equal(pod.type, 'plain');
  assert.match(pod.reason, /hint only: barysafe itself runs in a container or pod — KUBERNETES_SERVICE_HOST is set/);
  const container = await detect(config(), { exists: (p) => p === '/.dockerenv' });
  assert.equal(container.type, 'plain');
  assert.match(container.reason, /hint only: .*\/\.dockerenv exists .*says nothing about where Barycenter runs/);
  const sd = await detect(config(), { exists: (p) => p === '/etc/systemd/system/barycenter.service' });
  assert.equal(sd.type, 'systemd');
  assert.match(sd.reason, /barycenter\.service/);
  assert.equal((await detect(config(), { platform: 'freebsd' })).type, 'freebsd');
  assert.equal((await detect(config())).type, 'plain');
});

test('the catalogue keeps checklist order and unique ids; --only takes ids and sections', () => {
  const all = catalogue();
  const ids = all.map((d) => d.id);
  assert.equal(new Set(ids).size, ids.length);
  const known = ids.filter((i) => (CATALOGUE_ORDER as readonly string[]).includes(i));
  assert.deepEqual(
    known,
    CATALOGUE_ORDER.filter((i) => ids.includes(i)),
  );
  for (const mine of [
    'config.public-base-url-https',
    'backup.restore-tested',
    'monitoring.background-jobs',
    'security.demo-users',
  ])
    assert.ok(ids.includes(mine));
  assert.deepEqual(
    selectChecks(all, ['backup']).selected.map((d) => d.id),
    [
      'backup.private-key',
      'backup.database',
      'backup.config',
      'backup.restore-tested',
      'backup.key-age',
      'backup.object-lock',
      'backup.rollback',
    ],
  );
  assert.deepEqual(selectChecks(all, ['nope.x']).unknown, ['nope.x']);
});

test('each check is defined in the file (or folder) named after its id prefix, and check modules never import each other', () => {
  const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'checks');
  const modules = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.startsWith(`evidence${path.sep}`))
    .map((f) => ({ rel: f, text: readFileSync(path.join(dir, f), 'utf8') }));
  const where = new Map<string, string>();
  for (const m of modules)
    for (const [, id] of m.text.matchAll(/^\s*id: '([a-z]+\.[a-z0-9-]+)'/gm)) where.set(id!, m.rel);
  const misplaced = catalogue()
    .map((d) => ({ id: d.id, file: where.get(d.id) }))
    .filter(({ id, file }) => file === undefined || file.split(/[/.]/)[0] !== id.split('.')[0])
    .map(({ id, file }) => `${id} in ${file ?? '(not found)'}`);
  assert.deepEqual(misplaced, []);
  // A check module is a file that exports `checks`; only the catalogue and a section's index.ts may import one.
  const checkModules = new Set(modules.filter((m) => /^export const checks\b/m.test(m.text)).map((m) => m.rel));
  const sideways = modules
    .filter((m) => m.rel !== 'catalogue.ts' && path.basename(m.rel) !== 'index.ts')
    .flatMap((m) =>
      [...m.text.matchAll(/from '(\.\.?\/[^']+)\.js'/g)]
        .map((x) => path.relative(dir, path.resolve(dir, path.dirname(m.rel), x[1]!)) + '.ts')
        .filter((t) => checkModules.has(t))
        .map((t) => `${m.rel} imports ${t}`),
    );
  assert.deepEqual(sideways, []);
});
