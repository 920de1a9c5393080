// Permission, storage and disk checks against temporary deployments with real modes and owners
// (chown to a real non-root account), real mounts (/proc/self/mountinfo) and real statfs.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { mountOf, parseMountinfo } from '../src/checks/evidence/filesystem.js';
import { checkContext, expectStatus, runCheck as run } from './support/check-context.js';
import { testServiceUser } from './support/host-process.js';

const svc = testServiceUser();
const created: string[] = [];
after(() => created.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A systemd-style layout: <root>/etc/config.toml and <root>/lib/{data/private_key.pem, barycenter.db}. */
function layout(base: string, good: boolean) {
  const root = mkdtempSync(path.join(base, 'barysafe-files-'));
  created.push(root);
  const etc = path.join(root, 'etc');
  const lib = path.join(root, 'lib');
  const data = path.join(lib, 'data');
  mkdirSync(data, { recursive: true });
  const config = path.join(etc, 'config.toml');
  mkdirSync(etc);
  writeFileSync(
    config,
    `[database]\nurl = "sqlite://${lib}/barycenter.db?mode=rwc"\n[keys]\nprivate_key_path = "${data}/private_key.pem"\njwks_path = "${data}/jwks.json"\n`,
  );
  writeFileSync(path.join(data, 'private_key.pem'), '{"kty":"RSA"}');
  writeFileSync(path.join(lib, 'barycenter.db'), '');
  chmodSync(root, 0o755);
  chmodSync(etc, 0o755);
  if (good) {
    chownSync(config, 0, svc.gid);
    chmodSync(config, 0o640);
    for (const p of [lib, data, path.join(data, 'private_key.pem'), path.join(lib, 'barycenter.db')])
      chownSync(p, svc.uid, svc.gid);
    chmodSync(lib, 0o750);
    chmodSync(data, 0o750);
    chmodSync(path.join(data, 'private_key.pem'), 0o600);
    chmodSync(path.join(lib, 'barycenter.db'), 0o600);
  } else {
    chownSync(config, svc.uid, svc.gid); // the service could rewrite its own config
    chmodSync(config, 0o644);
    chmodSync(lib, 0o755); // root-owned: the service user cannot create files
    chmodSync(data, 0o777);
    chmodSync(path.join(data, 'private_key.pem'), 0o644);
  }
  return { root, config, lib, data };
}

const ctxOf = (l: ReturnType<typeof layout>, checks: Record<string, unknown> = {}) =>
  checkContext({
    barycenter: { config: l.config, workdir: l.lib, service_user: svc.name, service_group: svc.group },
    checks: { deployment: 'plain', pid_file: '/nonexistent.pid', ...checks },
  });

/** Where a disk-backed directory is: /var/tmp normally; skip the pass case if this host made it a tmpfs. */
function diskDir(): string | undefined {
  const m = mountOf(parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')), '/var/tmp');
  return m && !['tmpfs', 'ramfs', 'overlay'].includes(m.fsType) ? '/var/tmp' : undefined;
}
const disk = diskDir();

describe('compliant layout on disk', { skip: disk ? false : '/var/tmp is not disk-backed on this host' }, () => {
  const l = layout(disk ?? '/tmp', true);
  for (const id of [
    'permissions.private-key',
    'permissions.config',
    'permissions.data-dir',
    'storage.data-dir-writable',
    'storage.data-dir-persistent',
  ]) {
    it(`${id} passes`, async () => expectStatus(await run(ctxOf(l), id), 'pass', id));
  }
  it('monitoring.disk-usage passes above the threshold (real statfs)', async () => {
    const o = await run(ctxOf(l, { disk_free_min_percent: 0 }), 'monitoring.disk-usage');
    expectStatus(o, 'pass', 'monitoring.disk-usage');
    assert.match(o.evidence[0]!.source, /^statfs\(/);
  });
  it('evidence carries mode and owner names', async () => {
    const o = await run(ctxOf(l), 'permissions.private-key');
    assert.equal(o.evidence[0]!.observed, `0600 ${svc.name}(${svc.uid}):${svc.group}(${svc.gid})`);
  });
});

describe('non-compliant layout', () => {
  const l = layout('/tmp', false);
  for (const id of [
    'permissions.private-key',
    'permissions.config',
    'permissions.data-dir',
    'storage.data-dir-writable',
  ]) {
    it(`${id} fails`, async () => expectStatus(await run(ctxOf(l), id), 'fail', id));
  }
  it('monitoring.disk-usage fails when the threshold is above the free space', async () => {
    expectStatus(
      await run(ctxOf(l, { disk_free_min_percent: 100 }), 'monitoring.disk-usage'),
      'fail',
      'monitoring.disk-usage',
    );
  });
  it('a missing key file is an error, not a pass', async () => {
    rmSync(path.join(l.data, 'private_key.pem'));
    expectStatus(await run(ctxOf(l), 'permissions.private-key'), 'error', 'permissions.private-key');
  });
});

describe('data directory on tmpfs (/dev/shm)', () => {
  const l = layout('/dev/shm', true);
  it('storage.data-dir-persistent fails', async () => {
    const o = await run(ctxOf(l), 'storage.data-dir-persistent');
    expectStatus(o, 'fail', 'storage.data-dir-persistent');
    assert.match(o.summary, /tmpfs/);
  });
  it('an in-memory SQLite database fails', async () => {
    writeFileSync(
      l.config,
      `[database]\nurl = "sqlite::memory:"\n[keys]\nprivate_key_path = "${l.data}/private_key.pem"\n`,
    );
    expectStatus(await run(ctxOf(l), 'storage.data-dir-persistent'), 'fail', 'storage.data-dir-persistent');
  });
});
