// `check` detects the deployment from Barycenter's own process — its environment, cgroup, parent
// and root mount — not from barysafe's container: fake /proc trees for each runtime, and a real
// stand-in process on this host while barysafe "runs in a container" (/.dockerenv).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { detectDeployment } from '../src/checks/engine.js';
import { placementOf } from '../src/checks/evidence/placement.js';
import type { BarysafeConfig } from '../src/config/schema.js';
import { testConfig } from './support/check-context.js';
import { freePortPair } from './support/barycenter/launch.js';
import { startHostProcess, writeHostConfig } from './support/host-process.js';

const config = (checks: Partial<BarysafeConfig['checks']> = {}) =>
  testConfig({ barycenter: { config: '/nonexistent/config.toml', workdir: '/nonexistent' }, checks });

interface FakeProcess {
  environ?: Record<string, string>;
  cgroup?: string;
  parent?: string;
  ppid?: number;
  /** Its mount namespace (barysafe's is mnt:[1]). */
  mntNs?: string;
  rootFs?: string;
}

const PID = 4242;
const HEX = 'a'.repeat(64);

/** A /proc tree with Barycenter's process (PID), its parent and barysafe's own `self`. */
function procTree(p: FakeProcess): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'barysafe-fakeproc-'));
  const dir = path.join(root, String(PID));
  mkdirSync(path.join(dir, 'ns'), { recursive: true });
  mkdirSync(path.join(root, 'self', 'ns'), { recursive: true });
  if (p.environ)
    writeFileSync(
      path.join(dir, 'environ'),
      Object.entries(p.environ)
        .map(([k, v]) => `${k}=${v}\0`)
        .join(''),
    );
  writeFileSync(path.join(dir, 'cgroup'), p.cgroup ?? '0::/\n');
  const ppid = p.ppid ?? 77;
  writeFileSync(path.join(dir, 'status'), `Name:\tbarycenter\nPid:\t${PID}\nPPid:\t${ppid}\n`);
  mkdirSync(path.join(root, String(ppid)), { recursive: true });
  writeFileSync(path.join(root, String(ppid), 'comm'), `${p.parent ?? 'bash'}\n`);
  symlinkSync(p.mntNs ?? 'mnt:[1]', path.join(dir, 'ns', 'mnt'));
  symlinkSync('mnt:[1]', path.join(root, 'self', 'ns', 'mnt'));
  writeFileSync(
    path.join(dir, 'mountinfo'),
    `27 1 254:0 / / rw,relatime - ${p.rootFs ?? 'ext4'} ${p.rootFs === 'overlay' ? 'overlay' : '/dev/vda'} rw\n`,
  );
  return root;
}

test('the deployment is read from Barycenter’s process: environ, cgroup, parent, root mount; barysafe’s /.dockerenv decides nothing', async () => {
  const rows: Array<{ name: string; proc: FakeProcess; type: string; reason: RegExp }> = [
    {
      name: 'cgroup v1 of a Docker container',
      proc: { cgroup: `12:memory:/docker/${HEX}\n1:name=systemd:/docker/${HEX}\n` },
      type: 'docker',
      reason: /proc:4242\/cgroup \/docker\/a{64}: a Docker container/,
    },
    {
      name: 'cgroup v2, systemd driver',
      proc: { cgroup: `0::/system.slice/docker-${HEX}.scope\n` },
      type: 'docker',
      reason: /a Docker container/,
    },
    {
      name: 'Podman',
      proc: { cgroup: `0::/machine.slice/libpod-${HEX}.scope/container\n` },
      type: 'docker',
      reason: /a Podman container/,
    },
    {
      name: 'a Kubernetes pod, by cgroup',
      proc: {
        cgroup: `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-${HEX}.scope\n`,
      },
      type: 'kubernetes',
      reason: /a Kubernetes pod/,
    },
    {
      name: 'a Kubernetes pod, by its environment',
      proc: { environ: { PATH: '/bin', KUBERNETES_SERVICE_HOST: '10.96.0.1' }, cgroup: '0::/\n' },
      type: 'kubernetes',
      reason: /proc:4242\/environ has KUBERNETES_SERVICE_HOST/,
    },
    {
      name: 'its parent is a container shim (cgroup namespace hides the path)',
      proc: { cgroup: '0::/\n', parent: 'containerd-shim-runc-v2' },
      type: 'docker',
      reason: /its parent \(pid 77\) is containerd-shim-runc-v2: a container's process/,
    },
    {
      name: 'its own mount namespace with an overlay root',
      proc: { cgroup: '0::/\n', mntNs: 'mnt:[9]', rootFs: 'overlay' },
      type: 'docker',
      reason: /its root is an overlay mount in a mount namespace of its own/,
    },
    {
      name: 'a systemd unit',
      proc: { environ: { PATH: '/bin' }, cgroup: '0::/system.slice/barycenter.service\n', parent: 'systemd', ppid: 1 },
      type: 'systemd',
      reason: /it runs in the systemd unit barycenter\.service/,
    },
    {
      name: 'a plain process beside barysafe, which runs in a container',
      proc: { environ: { PATH: '/bin' }, cgroup: '0::/user.slice/user-1000.slice/session-3.scope\n', parent: 'bash' },
      type: 'plain',
      reason:
        /Barycenter's process \(pid 4242, test\): .*no container runtime.*its parent \(pid 77\) is bash.*same mount namespace as barysafe; no service manager, container or cluster runs it \(hint only: barysafe itself runs in a container or pod — \/\.dockerenv exists/,
    },
    {
      name: 'an unreadable environment does not stop the other evidence',
      proc: { cgroup: `0::/system.slice/docker-${HEX}.scope\n` },
      type: 'docker',
      reason: /a Docker container/,
    },
  ];
  for (const row of rows) {
    const procRoot = procTree(row.proc);
    try {
      const r = await detectDeployment(config(), undefined, {
        probe: {
          env: {},
          exists: (p) => p === '/.dockerenv',
          platform: 'linux',
          findProcess: async () => ({ pid: PID, foundBy: 'test' }),
          procRoot,
        },
      });
      assert.equal(r.type, row.type, `${row.name}: ${r.reason}`);
      assert.match(r.reason, row.reason, row.name);
      if (row.type !== 'plain') assert.doesNotMatch(r.reason, /dockerenv/, `${row.name}: decided by the process`);
    } finally {
      rmSync(procRoot, { recursive: true, force: true });
    }
  }
});

test('a real Barycenter process on this host is judged by its own /proc, whatever barysafe’s /.dockerenv says', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'barysafe-detect-'));
  const port = await freePortPair();
  const configPath = writeHostConfig(dir, { host: '127.0.0.1', port, publicBaseUrl: `http://localhost:${port}` });
  const proc = await startHostProcess({ cwd: dir, configPath, port, env: {} });
  try {
    // The stand-in is a child of this test process: it runs where this process runs.
    const here = await placementOf(process.pid);
    const r = await detectDeployment(config(), undefined, {
      port,
      probe: { exists: (p) => p === '/.dockerenv' || existsSync(p), env: {} },
    });
    assert.match(r.reason, new RegExp(`^Barycenter's process \\(pid ${proc.pid}, listening on port ${port}\\): `));
    assert.match(r.reason, new RegExp(`proc:${proc.pid}/cgroup`));
    assert.equal(r.type, here.type ?? 'plain', r.reason);
    if (!here.type) assert.match(r.reason, /hint only: .*\/\.dockerenv exists/);

    // With a pid file the same process is found without a port scan.
    const pidFile = path.join(dir, 'barycenter.pid');
    writeFileSync(pidFile, `${proc.pid}\n`);
    const byFile = await detectDeployment(config({ pid_file: pidFile }), undefined, {
      probe: { exists: () => false, env: {} },
    });
    assert.match(byFile.reason, new RegExp(`^Barycenter's process \\(pid ${proc.pid}, pid file ${pidFile}\\)`));
    assert.equal(byFile.type, r.type);
  } finally {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  // Once it is gone, nothing is claimed about it.
  const gone = await detectDeployment(config(), undefined, { port, probe: { exists: () => false, env: {} } });
  assert.match(gone.reason, /Barycenter's process was not found/);
});
