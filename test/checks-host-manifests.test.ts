// Host checks from saved evidence: `docker inspect` output, Helm-rendered / `kubectl get -o yaml`
// manifests, systemd unit files with drop-ins, and firewall listings captured from nft/iptables-save.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { parseIptablesSave, parseNftJson, verdictFor } from '../src/checks/evidence/firewall.js';
import type { CheckContext, DeploymentType } from '../src/checks/types.js';
import { checkContext, expectStatus, runCheck as run } from './support/check-context.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/checks');
const fixture = (name: string) => path.join(FIXTURES, name);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'barysafe-manifests-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Barycenter's config as the container sees it (paths under /app, facts §6.1/§6.6); it need not exist on this host. */
function barycenterConfig(name: string, toml: string): string {
  const p = path.join(tmp, name);
  writeFileSync(p, toml);
  return p;
}
const containerGood = barycenterConfig(
  'container-good.toml',
  '[server]\nhost = "0.0.0.0"\npublic_base_url = "https://idp.example.com"\n[database]\nurl = "sqlite:///app/data/barycenter.db?mode=rwc"\n[keys]\nprivate_key_path = "/app/data/private_key.pem"\njwks_path = "/app/data/jwks.json"\n[authz]\nenabled = true\n',
);
const containerBad = barycenterConfig(
  'container-bad.toml',
  '[server]\nhost = "0.0.0.0"\npublic_base_url = "http://idp.example.com"\n',
);

function ctxFor(deployment: DeploymentType, configPath: string, checks: Record<string, unknown>): CheckContext {
  return checkContext({ barycenter: { config: configPath, workdir: '/app' }, checks: { deployment, ...checks } });
}

describe('docker inspect: compliant container', () => {
  const ctx = () => ctxFor('docker', containerGood, { docker_inspect: fixture('docker-inspect-compliant.json') });
  for (const id of [
    'process.non-root',
    'container.no-new-privileges',
    'container.read-only-rootfs',
    'container.capabilities-dropped',
    'logging.level',
    'logging.forwarded',
    'security.skip-consent',
    'storage.data-dir-persistent',
    'network.public-ports',
    'config.tls-terminated',
    'security.admin-api-exposure',
  ]) {
    it(`${id} passes`, async () => expectStatus(await run(ctx(), id), 'pass', id));
  }
  it('storage.data-dir-writable is manual: ownership inside the volume is not in the inspect output', async () => {
    expectStatus(await run(ctx(), 'storage.data-dir-writable'), 'manual', 'storage.data-dir-writable');
  });
  it('environment values other than the judged variable stay out of the evidence', async () => {
    const o = await run(ctx(), 'logging.level');
    assert.doesNotMatch(JSON.stringify(o), /sqlite:\/\/\/app|PATH=/);
  });
});

describe('docker inspect: non-compliant container', () => {
  const ctx = () => ctxFor('docker', containerBad, { docker_inspect: fixture('docker-inspect-noncompliant.json') });
  for (const id of [
    'process.non-root',
    'container.no-new-privileges',
    'container.read-only-rootfs',
    'container.capabilities-dropped',
    'logging.level',
    'security.skip-consent',
    'storage.data-dir-persistent',
    'network.public-ports',
    'config.tls-terminated',
    'security.admin-api-exposure',
  ]) {
    it(`${id} fails`, async () => expectStatus(await run(ctx(), id), 'fail', id));
  }
  it('logging.forwarded warns for json-file', async () =>
    expectStatus(await run(ctx(), 'logging.forwarded'), 'warn', 'logging.forwarded'));
  it('the default DB path /app/barycenter.db is reported outside the volume', async () => {
    const o = await run(ctx(), 'storage.data-dir-persistent');
    assert.match(o.summary, /\/app\/barycenter\.db is in the container layer/);
  });
  it('an empty BARYCENTER_SKIP_CONSENT still fails', async () => {
    assert.match(JSON.stringify((await run(ctx(), 'security.skip-consent')).evidence), /set \(\\"\\"\)/);
  });
  it('a missing inspect file is an error, never a pass', async () => {
    const o = await run(
      ctxFor('docker', containerBad, { docker_inspect: path.join(tmp, 'missing.json') }),
      'container.read-only-rootfs',
    );
    expectStatus(o, 'error', 'container.read-only-rootfs');
  });
});

describe('Kubernetes: Helm-rendered compliant release (authz enabled)', () => {
  const ctx = () => ctxFor('kubernetes', containerGood, { kubernetes_manifests: [fixture('helm-compliant.yaml')] });
  for (const id of [
    'process.non-root',
    'container.no-new-privileges',
    'container.read-only-rootfs',
    'container.capabilities-dropped',
    'container.pod-security-restricted',
    'logging.level',
    'security.skip-consent',
    'storage.data-dir-persistent',
    'storage.data-dir-writable',
    'network.public-ports',
    'network.firewall',
    'network.authz-network-policy',
    'config.tls-terminated',
    'security.admin-api-exposure',
  ]) {
    it(`${id} passes`, async () => expectStatus(await run(ctx(), id), 'pass', id));
  }
  it('logging.forwarded is manual (cluster aggregation)', async () =>
    expectStatus(await run(ctx(), 'logging.forwarded'), 'manual', 'logging.forwarded'));
  it('the admin port is denied by the authz NetworkPolicy', async () => {
    assert.match(
      JSON.stringify((await run(ctx(), 'security.admin-api-exposure')).evidence),
      /denied by NetworkPolicy barycenter-authz/,
    );
  });
  it('network.authz-network-policy skips when authz is disabled', async () => {
    const o = await run(
      ctxFor('kubernetes', containerBad, { kubernetes_manifests: [fixture('helm-compliant.yaml')] }),
      'network.authz-network-policy',
    );
    expectStatus(o, 'skip', 'network.authz-network-policy');
  });
});

describe('Kubernetes: non-compliant List (kubectl get -o yaml)', () => {
  const ctx = () => ctxFor('kubernetes', containerGood, { kubernetes_manifests: [fixture('helm-noncompliant.yaml')] });
  for (const id of [
    'process.non-root',
    'container.no-new-privileges',
    'container.read-only-rootfs',
    'container.capabilities-dropped',
    'container.pod-security-restricted',
    'logging.level',
    'security.skip-consent',
    'storage.data-dir-persistent',
    'network.public-ports',
    'network.firewall',
    'network.authz-network-policy',
    'config.tls-terminated',
    'security.admin-api-exposure',
  ]) {
    it(`${id} fails`, async () => expectStatus(await run(ctx(), id), 'fail', id));
  }
  it('pod security lists each violation', async () => {
    const v = JSON.stringify((await run(ctx(), 'container.pod-security-restricted')).evidence);
    for (const s of [
      'hostNetwork',
      'hostPath',
      'allowPrivilegeEscalation',
      'runAsNonRoot',
      'seccompProfile',
      'NET_ADMIN',
      'hostPort 8081',
    ])
      assert.match(v, new RegExp(s));
  });
});

describe('systemd unit files', () => {
  const bare = barycenterConfig(
    'host.toml',
    '[server]\nhost = "127.0.0.1"\npublic_base_url = "https://idp.example.com"\n',
  );
  const good = () =>
    ctxFor('systemd', bare, {
      systemd_unit: fixture('barycenter-hardened.service'),
      pid_file: path.join(tmp, 'no-such.pid'),
    });
  const weak = () =>
    ctxFor('systemd', bare, {
      systemd_unit: fixture('barycenter-weak.service'),
      pid_file: path.join(tmp, 'no-such.pid'),
    });
  // The pid file names no process, so the unit is the only readable source.
  for (const id of [
    'process.non-root',
    'container.no-new-privileges',
    'container.read-only-rootfs',
    'container.capabilities-dropped',
    'logging.level',
    'logging.forwarded',
    'security.skip-consent',
  ]) {
    it(`${id} passes for the shipped unit plus drop-in`, async () => expectStatus(await run(good(), id), 'pass', id));
    it(`${id} fails for the weak unit`, async () => expectStatus(await run(weak(), id), 'fail', id));
  }
  it('the drop-in is read and named in the evidence', async () => {
    assert.match(
      JSON.stringify((await run(good(), 'container.capabilities-dropped')).evidence),
      /10-capabilities\.conf/,
    );
  });
  it('an unreadable unit and no process is an error', async () => {
    const o = await run(
      ctxFor('systemd', bare, {
        systemd_unit: path.join(tmp, 'nope.service'),
        pid_file: path.join(tmp, 'no-such.pid'),
      }),
      'process.non-root',
    );
    expectStatus(o, 'error', 'process.non-root');
  });
});

describe('FreeBSD', () => {
  it('logging.forwarded fails: the shipped rc.d script runs daemon -f (output to /dev/null)', async () => {
    expectStatus(await run(ctxFor('freebsd', containerBad, {}), 'logging.forwarded'), 'fail', 'logging.forwarded');
  });
  it('Linux-only sandboxing checks skip with a reason', async () => {
    const o = await run(
      ctxFor('freebsd', containerBad, { pid_file: path.join(tmp, 'no-such.pid') }),
      'container.capabilities-dropped',
    );
    expectStatus(o, 'skip', 'container.capabilities-dropped');
  });
});

describe('firewall listings (captured from nft -j and iptables-save)', () => {
  it('iptables-save: policy drop, 8081 source-restricted, 8082 dropped, 8080 open', () => {
    const facts = {
      tool: 'iptables-save' as const,
      source: 'fixture',
      chains: parseIptablesSave(readFileSync(fixture('iptables-save.txt'), 'utf8')),
    };
    assert.equal(verdictFor(facts, 8080).verdict, 'open');
    assert.equal(verdictFor(facts, 8081).verdict, 'restricted');
    assert.equal(verdictFor(facts, 8082).verdict, 'blocked');
    assert.equal(verdictFor(facts, 8083).verdict, 'blocked');
  });
  it('nft -j: accept policy leaves unlisted ports open; reject and saddr rules are honoured', () => {
    const facts = {
      tool: 'nft' as const,
      source: 'fixture',
      chains: parseNftJson(readFileSync(fixture('nft-ruleset.json'), 'utf8')),
    };
    assert.equal(verdictFor(facts, 8080).verdict, 'open');
    assert.equal(verdictFor(facts, 8081).verdict, 'restricted');
    assert.equal(verdictFor(facts, 8082).verdict, 'blocked');
    assert.equal(verdictFor(facts, 8083).verdict, 'open');
  });
});
