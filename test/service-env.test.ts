// Barycenter's effective settings include the deployment's own environment: systemd Environment=
// and EnvironmentFile= (drop-ins too), docker Config.Env, the Kubernetes container env (valueFrom
// unknown), each value with its source; --config and the working directory are cross-checked.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveBarycenter } from '../src/config/barycenter.js';
import { configArgument, loadServiceDefinition, type ServiceDefinition } from '../src/config/service.js';
import { deploymentContext, expectStatus, runCheck, testConfig } from './support/check-context.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/checks');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'barysafe-service-env-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function service(checks: Record<string, unknown>): Promise<ServiceDefinition> {
  const lookup = await loadServiceDefinition(
    testConfig({ barycenter: { config: '/etc/barycenter/config.toml', workdir: '/var/lib/barycenter' }, checks }),
  );
  assert.ok(lookup?.ok, lookup && !lookup.ok ? lookup.reason : 'no definition');
  return lookup.service;
}

describe('systemd: Environment=, EnvironmentFile= and drop-ins', () => {
  const dir = path.join(tmp, 'systemd');
  mkdirSync(path.join(dir, 'barycenter.service.d'), { recursive: true });
  const unit = path.join(dir, 'barycenter.service');
  const envFile = path.join(dir, 'barycenter.env');
  writeFileSync(
    unit,
    '[Service]\nUser=barycenter\nWorkingDirectory=/srv/idp\nExecStart=/usr/local/bin/barycenter --config /etc/idp/config.toml\n' +
      'Environment="RUST_LOG=info" barycenter__Database__URL=sqlite:///srv/idp/idp.db?mode=rwc\n',
  );
  writeFileSync(
    path.join(dir, 'barycenter.service.d', '10-env.conf'),
    `[Service]\nEnvironmentFile=${envFile}\nEnvironmentFile=-${dir}/optional-missing.env\n`,
  );
  writeFileSync(envFile, 'BARYCENTER__SERVER__PUBLIC_BASE_URL=https://id.example.org\nBARYCENTER__SERVER__PORT=9000\n');

  test('the unit env is merged with its source; the prefix in any case; files after Environment=', async () => {
    const s = await service({ systemd_unit: unit });
    assert.equal(s.kind, 'systemd');
    assert.deepEqual(s.argv, ['/usr/local/bin/barycenter', '--config', '/etc/idp/config.toml']);
    const bc = resolveBarycenter({ config: '/etc/idp/config.toml', workdir: '/srv/idp', extra_files: [] }, {}, s);
    assert.deepEqual(bc.database, { engine: 'sqlite', path: '/srv/idp/idp.db', memory: false, createIfMissing: true });
    assert.equal(bc.sources['database.url'], 'service');
    assert.match(bc.sourceDetail['database.url']!, /^Environment= in .*barycenter\.service/);
    assert.equal(bc.issuer, 'https://id.example.org');
    assert.equal(bc.sourceDetail['server.public_base_url'], `EnvironmentFile=${envFile}`);
    assert.equal(bc.settings.server.port, 9000);
    assert.equal(bc.serviceEnv.RUST_LOG, 'info');
    assert.deepEqual(bc.serviceMismatches, []);
  });

  test("env_file and barysafe's own environment still come after the unit", async () => {
    const s = await service({ systemd_unit: unit });
    const bc = resolveBarycenter(
      { config: '/etc/idp/config.toml', workdir: '/srv/idp', extra_files: [] },
      { BARYCENTER__SERVER__PORT: '9100' },
      s,
    );
    assert.equal(bc.settings.server.port, 9100);
    assert.equal(bc.sources['server.port'], 'env');
  });

  test('--config and WorkingDirectory= are cross-checked against barycenter.config and barycenter.workdir', async () => {
    const s = await service({ systemd_unit: unit });
    const bc = resolveBarycenter(
      { config: '/etc/barycenter/config.toml', workdir: '/var/lib/barycenter', extra_files: [] },
      {},
      s,
    );
    assert.equal(bc.serviceMismatches.length, 2);
    assert.match(bc.serviceMismatches.join('\n'), /runs in \/srv\/idp \(WorkingDirectory= of systemd unit/);
    assert.match(bc.serviceMismatches.join('\n'), /reads \/etc\/idp\/config\.toml \(--config in ExecStart=/);
  });
});

describe('docker Config.Env, Cmd and WorkingDir', () => {
  const barycenterToml = path.join(tmp, 'container.toml');
  // The config the container reads sets no database.url: the compose file's environment does.
  writeFileSync(barycenterToml, '[server]\nhost = "0.0.0.0"\npublic_base_url = "https://idp.example.com"\n');
  const inspect = path.join(FIXTURES, 'docker-inspect-compliant.json');

  test('a compose file that sets BARYCENTER__DATABASE__URL puts the database on the volume; the source is in evidence', async () => {
    const ctx = await deploymentContext({
      barycenter: { config: barycenterToml, workdir: '/app' },
      checks: { deployment: 'docker', docker_inspect: inspect },
    });
    assert.equal(
      ctx.barycenter.database.engine === 'sqlite' && ctx.barycenter.database.path,
      '/app/data/barycenter.db',
    );
    const o = await runCheck(ctx, 'storage.data-dir-persistent');
    expectStatus(o, 'pass', 'storage.data-dir-persistent');
    const db = o.evidence.find((e) => e.source.includes('/app/data/barycenter.db'))!;
    assert.equal(db.note, `database.url from docker inspect file ${inspect} Config.Env`);
  });

  test('barysafe check (the use case) reads the compose env too; an unreadable definition is a report warning', async () => {
    const { runCheckReport, selectFromCatalogue } = await import('../src/checks/run.js');
    const selection = selectFromCatalogue(['storage.data-dir-persistent']);
    const loaded = (docker_inspect: string) => ({
      path: path.join(tmp, 'barysafe.toml'),
      config: testConfig({
        barycenter: { config: barycenterToml, workdir: '/app' },
        checks: { deployment: 'docker', docker_inspect },
      }),
    });
    const report = await runCheckReport(loaded(inspect), { selection });
    const r = report.results.find((x) => x.id === 'storage.data-dir-persistent')!;
    assert.equal(r.status, 'pass', JSON.stringify(r.evidence));
    assert.ok(r.evidence.some((e) => e.note === `database.url from docker inspect file ${inspect} Config.Env`));
    // The container's --config is not barycenter.config: the report says so.
    assert.match(
      report.warnings.join('\n'),
      /the service reads \/app\/config\/config\.toml \(--config in Entrypoint\/Cmd/,
    );

    const missing = path.join(tmp, 'no-such-inspect.json');
    const without = await runCheckReport(loaded(missing), { selection });
    assert.match(
      without.warnings.join('\n'),
      new RegExp(
        `the deployment's own definition could not be read \\(.*${missing}.*\\); its environment is not part of the settings`,
      ),
    );
  });

  test('without the deployment env the same config puts it in the container layer (the old false finding)', async () => {
    const { checkContext } = await import('./support/check-context.js');
    const o = await runCheck(
      checkContext({
        barycenter: { config: barycenterToml, workdir: '/app' },
        checks: { deployment: 'docker', docker_inspect: inspect },
      }),
      'storage.data-dir-persistent',
    );
    expectStatus(o, 'fail', 'storage.data-dir-persistent');
  });

  test('Entrypoint + Cmd give --config, WorkingDir the working directory; the image is recorded', async () => {
    const s = await service({ docker_inspect: inspect });
    assert.equal(configArgument(s), '/app/config/config.toml');
    assert.equal(s.workdir, '/app');
    assert.equal(s.image?.ref, 'ghcr.io/cloudnebulaproject/barycenter:0.2.0-beta.5');
    const bc = resolveBarycenter({ config: '/etc/barycenter/config.toml', workdir: '/app', extra_files: [] }, {}, s);
    assert.match(bc.serviceMismatches.join('\n'), /reads \/app\/config\/config\.toml \(--config in Entrypoint\/Cmd/);
  });
});

describe('Kubernetes container env', () => {
  test('values merge, valueFrom is unknown (never guessed), Helm args give --config', async () => {
    const file = path.join(tmp, 'helm.yaml');
    const helm = readFileSync(path.join(FIXTURES, 'helm-compliant.yaml'), 'utf8').replace(
      /          env:\n            - name: RUST_LOG\n              value: "info"\n/,
      '          env:\n            - name: RUST_LOG\n              value: "info"\n            - name: BARYCENTER__SERVER__PUBLIC_BASE_URL\n              value: "https://id.example.org"\n            - name: BARYCENTER__DATABASE__URL\n              valueFrom:\n                secretKeyRef:\n                  name: barycenter-db\n                  key: url\n',
    );
    assert.notEqual(helm, readFileSync(path.join(FIXTURES, 'helm-compliant.yaml'), 'utf8'), 'fixture edited');
    writeFileSync(file, helm);
    const s = await service({ kubernetes_manifests: [file] });
    assert.equal(s.kind, 'kubernetes');
    assert.equal(configArgument(s), '/app/config/config.toml');
    const bc = resolveBarycenter({ config: '/app/config/config.toml', workdir: '/app', extra_files: [] }, {}, s);
    assert.equal(bc.issuer, 'https://id.example.org');
    assert.match(bc.sourceDetail['server.public_base_url']!, /container barycenter env$/);
    assert.equal(bc.sources['database.url'], 'unknown');
    assert.match(bc.unknown['database.url']!, /valueFrom secret barycenter-db key url/);
  });
});
