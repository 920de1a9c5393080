// Host checks against a real stand-in process: uid, no_new_privs, capabilities, read-only root,
// environment, sockets and firewall are read from /proc of the live process (no mocked probes).
import assert from 'node:assert/strict';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CheckContext } from '../src/checks/types.js';
import { freePortPair } from './support/barycenter/launch.js';
import { checkContext, expectStatus, runCheck as run } from './support/check-context.js';
import {
  type HostProcess,
  startHostProcess,
  testServiceUser,
  toolAvailable,
  writeHostConfig,
} from './support/host-process.js';

const svc = testServiceUser();
const haveNft = toolAvailable('nft');
const haveFirewallTool = haveNft || toolAvailable('iptables-save');

interface Deployment {
  dir: string;
  port: number;
  proc: HostProcess;
  ctx(extra?: { pidFile?: boolean; service_user?: string }): CheckContext;
}

async function deploy(opts: {
  host: string;
  publicBaseUrl: string;
  env?: Record<string, string>;
  asService: boolean;
  noNewPrivs?: boolean;
  dropCaps?: boolean;
  readOnlyRoot?: boolean;
  netnsRuleset?: (port: number) => string;
  stdoutNull?: boolean;
}): Promise<Deployment> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'barysafe-host-'));
  const port = await freePortPair();
  const configPath = writeHostConfig(dir, { host: opts.host, port, publicBaseUrl: opts.publicBaseUrl });
  if (opts.asService) chownSync(dir, svc.uid, svc.gid);
  const proc = await startHostProcess({
    cwd: dir,
    configPath,
    port,
    env: opts.env ?? {},
    uid: opts.asService ? svc.uid : undefined,
    gid: opts.asService ? svc.gid : undefined,
    noNewPrivs: opts.noNewPrivs,
    dropCaps: opts.dropCaps,
    readOnlyRoot: opts.readOnlyRoot,
    netnsRuleset: opts.netnsRuleset?.(port),
    stdoutNull: opts.stdoutNull,
  });
  const pidFile = path.join(dir, 'barycenter.pid');
  writeFileSync(pidFile, `${proc.pid}\n`);
  return {
    dir,
    port,
    proc,
    ctx: (extra = {}) =>
      checkContext({
        barycenter: {
          config: configPath,
          workdir: dir,
          ...(extra.service_user ? { service_user: extra.service_user } : {}),
        },
        checks: { deployment: 'plain', ...(extra.pidFile === false ? {} : { pid_file: pidFile }) },
      }),
  };
}

async function teardown(d: Deployment | undefined) {
  if (!d) return;
  await d.proc.stop();
  rmSync(d.dir, { recursive: true, force: true });
}

describe('hardened stand-in: non-root, no_new_privs, no capabilities, read-only root, loopback', () => {
  let d: Deployment | undefined;
  before(async () => {
    d = await deploy({
      host: '127.0.0.1',
      publicBaseUrl: 'https://idp.example.com',
      env: { RUST_LOG: 'info' },
      asService: true,
      noNewPrivs: true,
      dropCaps: true,
      readOnlyRoot: true,
    });
  });
  after(() => teardown(d));

  for (const id of [
    'process.non-root',
    'container.no-new-privileges',
    'container.capabilities-dropped',
    'container.read-only-rootfs',
    'logging.level',
    'security.skip-consent',
    'network.public-ports',
    'security.admin-api-exposure',
    'config.tls-terminated',
    'storage.data-dir-writable',
  ]) {
    it(`${id} passes`, async () => expectStatus(await run(d!.ctx(), id), 'pass', id));
  }

  it('evidence names the pid and the fields read', async () => {
    const o = await run(d!.ctx(), 'process.non-root');
    assert.match(o.evidence[0]!.source, new RegExp(`proc:${d!.proc.pid}/status`));
    assert.equal(o.evidence[0]!.observed, `${svc.uid} ${svc.uid} ${svc.uid} ${svc.uid}`);
  });

  it('logging.forwarded is manual: stdout is a pipe, where it goes needs a person', async () => {
    const o = await run(d!.ctx(), 'logging.forwarded');
    expectStatus(o, 'manual', 'logging.forwarded');
    assert.match(String(o.evidence[0]!.observed), /^(pipe|socket):\[/);
  });

  it('the process is found by its listening port without a pid file', async () => {
    const o = await run(d!.ctx({ pidFile: false }), 'container.no-new-privileges');
    expectStatus(o, 'pass', 'container.no-new-privileges');
    assert.match(o.evidence[0]!.source, new RegExp(`listening on port ${d!.port}`));
  });

  it('pod-security and authz-network-policy skip outside Kubernetes', async () => {
    expectStatus(await run(d!.ctx(), 'container.pod-security-restricted'), 'skip', 'container.pod-security-restricted');
    expectStatus(await run(d!.ctx(), 'network.authz-network-policy'), 'skip', 'network.authz-network-policy');
  });
});

describe('weak stand-in: root with capabilities, wildcard bind, debug logging, skip-consent, no firewall', () => {
  let d: Deployment | undefined;
  before(async () => {
    // Its own network namespace with no ruleset: the wildcard bind never touches the real network,
    // and the firewall evidence is deterministic.
    d = await deploy({
      host: '0.0.0.0',
      publicBaseUrl: 'http://localhost:1',
      env: { RUST_LOG: 'info,barycenter=debug', BARYCENTER_SKIP_CONSENT: 'false' },
      asService: false,
      netnsRuleset: () => '',
      stdoutNull: true,
    });
  });
  after(() => teardown(d));

  for (const id of [
    'process.non-root',
    'container.no-new-privileges',
    'container.capabilities-dropped',
    'container.read-only-rootfs',
    'logging.level',
    'security.skip-consent',
    'network.public-ports',
    'security.admin-api-exposure',
    'config.tls-terminated',
    'logging.forwarded',
  ]) {
    it(`${id} fails`, async () => expectStatus(await run(d!.ctx(), id), 'fail', id));
  }

  it('skip-consent evidence shows the variable is set even to "false", without other environment values', async () => {
    const o = await run(d!.ctx(), 'security.skip-consent');
    const text = JSON.stringify(o.evidence);
    assert.match(text, /set \(\\"false\\"\)/);
    assert.doesNotMatch(text, /PATH|NO_COLOR/);
  });

  it('network.firewall fails on an empty ruleset (or errors without nft/iptables)', async () => {
    const o = await run(d!.ctx(), 'network.firewall');
    expectStatus(o, haveFirewallTool ? 'fail' : 'error', 'network.firewall');
    if (haveFirewallTool) assert.match(o.evidence[0]!.source, /network namespace/);
  });

  it('storage.data-dir-writable: root writes anywhere (stated in the evidence)', async () => {
    const o = await run(d!.ctx(), 'storage.data-dir-writable');
    expectStatus(o, 'pass', 'storage.data-dir-writable');
    assert.match(JSON.stringify(o.evidence), /CAP_DAC_OVERRIDE/);
  });
});

describe('service user without an emptied bounding set', () => {
  let d: Deployment | undefined;
  before(async () => {
    d = await deploy({
      host: '127.0.0.1',
      publicBaseUrl: 'https://idp.example.com',
      asService: true,
      noNewPrivs: false,
    });
  });
  after(() => teardown(d));

  it('container.capabilities-dropped warns: no effective capabilities, full bounding set', async () => {
    const o = await run(d!.ctx(), 'container.capabilities-dropped');
    expectStatus(o, 'warn', 'container.capabilities-dropped');
    assert.match(o.summary, /bounding set/);
  });
  it('logging.level passes with RUST_LOG unset and says info is the default', async () => {
    const o = await run(d!.ctx(), 'logging.level');
    expectStatus(o, 'pass', 'logging.level');
    assert.match(o.summary, /defaults to info/);
  });
  it('storage.data-dir-writable fails for a configured service user that cannot write the directory', async () => {
    expectStatus(
      await run(d!.ctx({ service_user: 'nobody' }), 'storage.data-dir-writable'),
      svc.name === 'nobody' ? 'pass' : 'fail',
      'storage.data-dir-writable',
    );
  });
});

describe(
  'firewalled stand-in: wildcard bind, nftables drops everything but the public port',
  { skip: haveNft ? false : 'nft is not installed' },
  () => {
    let d: Deployment | undefined;
    before(async () => {
      d = await deploy({
        host: '0.0.0.0',
        publicBaseUrl: 'https://idp.example.com',
        asService: true,
        noNewPrivs: true,
        dropCaps: true,
        netnsRuleset: (port) =>
          `table inet filter {\n chain input {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  iifname "lo" accept\n  tcp dport ${port} accept\n }\n}\n`,
      });
    });
    after(() => teardown(d));

    for (const id of ['network.public-ports', 'network.firewall', 'security.admin-api-exposure']) {
      it(`${id} passes`, async () => expectStatus(await run(d!.ctx(), id), 'pass', id));
    }
    it('config.tls-terminated fails: the plain HTTP port is open on every interface', async () => {
      expectStatus(await run(d!.ctx(), 'config.tls-terminated'), 'fail', 'config.tls-terminated');
    });
  },
);
