// The deployment files barysafe ships (deploy/systemd, deploy/docker, deploy/kubernetes) judged by
// barysafe's own checks, through the same evidence readers `barysafe check` uses for Barycenter:
// non-root, no-new-privileges, read-only root, capabilities dropped (and the restricted Pod
// Security Standard for the pods). Each check is also shown to fail on a weakened copy, so a pass
// here is a finding, not a check that cannot fail. The example barysafe.toml files load.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { schedulesOf } from '../src/agent/schedule.js';
import { loadConfig } from '../src/config/load.js';
import { checkContext, expectStatus, runCheck, testConfig } from './support/check-context.js';
import { REPO_ROOT } from './support/deployments.js';
import { makeTempDir, type TempDir } from './support/services.js';

const DEPLOY = path.join(REPO_ROOT, 'deploy');
const HARDENING = [
  'process.non-root',
  'container.no-new-privileges',
  'container.read-only-rootfs',
  'container.capabilities-dropped',
];

let tmp: TempDir;
before(async () => {
  tmp = await makeTempDir('barysafe-deploy-checks-');
});
after(async () => {
  await tmp?.cleanup();
});

type Checks = Parameters<typeof testConfig>[0]['checks'];

/** A check context over one deployment file; the pid file that does not exist keeps live processes of this host out. */
function contextFor(checks: Checks) {
  return checkContext(
    testConfig({
      barycenter: { config: path.join(tmp.path, 'absent-config.toml'), workdir: tmp.path },
      checks: { pid_file: path.join(tmp.path, 'no-such.pid'), ...checks },
    }),
  );
}

async function statuses(checks: Checks, ids: string[]) {
  const ctx = contextFor(checks);
  const out = new Map<string, Awaited<ReturnType<typeof runCheck>>>();
  for (const id of ids) out.set(id, await runCheck(ctx, id));
  return out;
}

/** A copy of a shipped file with one edit; the edit must apply, or the negative control proves nothing. */
async function weakened(file: string, from: string | RegExp, to: string): Promise<string> {
  const text = await readFile(file, 'utf8');
  const changed = text.replace(from, to);
  assert.notEqual(changed, text, `${path.basename(file)}: ${String(from)} not found`);
  const out = path.join(tmp.path, `${Math.random().toString(36).slice(2)}-${path.basename(file)}`);
  await writeFile(out, changed);
  return out;
}

describe('systemd units', () => {
  const units = ['barysafe-agent.service', 'barysafe-agent-once.service'].map((u) => path.join(DEPLOY, 'systemd', u));

  for (const unit of units)
    it(`${path.basename(unit)} passes the hardening checks`, async () => {
      const r = await statuses({ deployment: 'systemd', systemd_unit: unit }, HARDENING);
      for (const [id, res] of r) {
        expectStatus(res, 'pass', id);
        assert.ok(
          res.evidence.some((e) => String(e.source).includes(path.basename(unit))),
          `${id} judged the unit file itself`,
        );
      }
      const text = await readFile(unit, 'utf8');
      assert.match(text, /^User=barysafe$/m);
      assert.match(text, /^ExecStart=\S+ --config \/etc\/barysafe\/barysafe\.toml agent( --once)?$/m);
      // Writable: the state directory (StateDirectory=) and the file:// repository, nothing else.
      assert.deepEqual(text.match(/^ReadWritePaths=.*$/gm), ['ReadWritePaths=/var/backups/barysafe']);
      assert.match(text, /^StateDirectory=barysafe$/m);
    });

  it('each hardening check fails on a weakened unit', async () => {
    const unit = units[0]!;
    const cases: [string, string | RegExp, string][] = [
      ['process.non-root', /^User=barysafe\n/m, ''],
      ['container.no-new-privileges', /^NoNewPrivileges=true\n/m, 'NoNewPrivileges=false\n'],
      ['container.read-only-rootfs', /^ProtectSystem=strict$/m, 'ProtectSystem=false'],
      ['container.capabilities-dropped', /^CapabilityBoundingSet=\n/m, ''],
    ];
    for (const [id, from, to] of cases) {
      const r = await statuses({ deployment: 'systemd', systemd_unit: await weakened(unit, from, to) }, [id]);
      expectStatus(r.get(id)!, 'fail', id);
    }
  });

  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' }).status === 0;
  it(
    'systemd-analyze knows every directive and rates the sandbox exposure at most 3.0 of 10',
    { skip: analyze ? false : 'systemd-analyze is not installed' },
    () => {
      const files = [...units, path.join(DEPLOY, 'systemd', 'barysafe-agent-once.timer')];
      const v = spawnSync('systemd-analyze', ['verify', ...files], { encoding: 'utf8' });
      // The binary is not installed on the test machine; anything else is a mistake in the files.
      const other = `${v.stdout}${v.stderr}`
        .split('\n')
        .filter((l) => l.trim() && !/Command \/usr\/local\/bin\/barysafe is not executable/.test(l));
      assert.deepEqual(other, []);
      for (const unit of units) {
        const s = spawnSync(
          'systemd-analyze',
          ['security', '--offline=true', '--threshold=30', '--no-pager', path.basename(unit)],
          { cwd: path.dirname(unit), encoding: 'utf8' },
        );
        const level = /Overall exposure level for \S+: ([\d.]+)/.exec(s.stdout)?.[1];
        assert.ok(level, s.stdout + s.stderr);
        assert.equal(s.status, 0, `${path.basename(unit)}: exposure ${level}`);
        assert.ok(Number(level) <= 3, `${path.basename(unit)}: exposure ${level}`);
      }
    },
  );
});

describe('Docker', () => {
  const compose = path.join(DEPLOY, 'docker', 'compose.yml');
  const dockerChecks = (file: string): Checks => ({
    deployment: 'docker',
    compose_file: file,
    compose_service: 'barysafe',
  });

  it('the compose service beside Barycenter passes the hardening checks', async () => {
    const r = await statuses(dockerChecks(compose), HARDENING);
    for (const [id, res] of r) {
      expectStatus(res, 'pass', id);
      assert.ok(
        res.evidence.some((e) => String(e.source).includes('compose file')),
        id,
      );
    }
    const svc = (parseAllDocuments(await readFile(compose, 'utf8'))[0]!.toJS() as { services: Record<string, any> })
      .services.barysafe;
    // Barycenter's volume, read-only, is how barysafe sees the key, jwks.json and the database.
    assert.deepEqual(svc.volumes_from, ['barycenter:ro']);
    // The metrics port is published on the host's loopback only.
    for (const p of svc.ports) assert.match(String(p), /^127\.0\.0\.1:/);
  });

  it('each hardening check fails on a weakened compose file', async () => {
    const cases: [string, string | RegExp, string][] = [
      ['process.non-root', 'user: "1000:1000"', 'user: "0"'],
      ['container.no-new-privileges', '      - no-new-privileges:true\n', '      - seccomp:unconfined\n'],
      ['container.read-only-rootfs', 'read_only: true', 'read_only: false'],
      ['container.capabilities-dropped', '      - ALL\n', '      - NET_RAW\n'],
    ];
    for (const [id, from, to] of cases) {
      const r = await statuses(dockerChecks(await weakened(compose, from, to)), [id]);
      expectStatus(r.get(id)!, 'fail', id);
    }
  });

  it('the Dockerfile runs as a non-root user, through no shell, in a shell-less default image', async () => {
    const text = await readFile(path.join(DEPLOY, 'docker', 'Dockerfile'), 'utf8');
    const stages = text.split(/^FROM /m).slice(1);
    const last = stages[stages.length - 1]!;
    // The default target (the last stage) is distroless: no shell, no package manager.
    assert.match(last, /^gcr\.io\/distroless\/nodejs20-debian12:nonroot AS sqlite/);
    for (const stage of stages.slice(1)) {
      const user = [...stage.matchAll(/^USER (\S+)$/gm)].map((m) => m[1]!).pop();
      assert.ok(user && !/^(0|root)(:|$)/.test(user), `stage ${stage.split('\n')[0]}: USER ${user}`);
      // Exec form only: a shell form ENTRYPOINT/CMD would need /bin/sh.
      for (const m of stage.matchAll(/^(ENTRYPOINT|CMD) (.*)$/gm)) assert.ok(Array.isArray(JSON.parse(m[2]!)), m[0]);
      assert.doesNotMatch(stage, /^(HEALTHCHECK|SHELL) /m);
    }
  });
});

describe('Kubernetes', () => {
  const manifests = ['cronjob.yaml', 'sidecar.yaml'].map((f) => path.join(DEPLOY, 'kubernetes', f));
  const k8sChecks = (file: string): Checks => ({
    deployment: 'kubernetes',
    kubernetes_manifests: [file],
    kubernetes_container: 'barysafe',
  });
  const ALL = [...HARDENING, 'container.pod-security-restricted'];

  for (const file of manifests)
    it(`${path.basename(file)} passes the hardening checks and the restricted profile`, async () => {
      const r = await statuses(k8sChecks(file), ALL);
      for (const [id, res] of r) {
        expectStatus(res, 'pass', id);
        assert.ok(
          res.evidence.some((e) => String(e.source).includes(path.basename(file))),
          id,
        );
      }
      // The IdP's PVC is mounted read-only into the barysafe container.
      const docs = parseAllDocuments(await readFile(file, 'utf8')).map((d) => d.toJS() as any);
      const workload = docs.find((d) => ['CronJob', 'Deployment'].includes(d.kind));
      const pod =
        workload.kind === 'CronJob' ? workload.spec.jobTemplate.spec.template.spec : workload.spec.template.spec;
      const idpVolume = pod.volumes.find((v: any) => v.persistentVolumeClaim?.claimName === 'barycenter-data');
      const c = pod.containers.find((x: any) => x.name === 'barysafe');
      const mount = c.volumeMounts.find((m: any) => m.name === idpVolume.name);
      assert.equal(mount.readOnly, true, 'the IdP volume is read-only for barysafe');
      assert.deepEqual(c.args, workload.kind === 'CronJob' ? ['agent', '--once'] : ['agent']);
    });

  it('each check fails on a weakened pod', async () => {
    const file = manifests[0]!;
    const cases: [string, string | RegExp, string][] = [
      ['process.non-root', /runAsNonRoot: true/g, 'runAsNonRoot: false'],
      ['container.no-new-privileges', 'allowPrivilegeEscalation: false', 'allowPrivilegeEscalation: true'],
      ['container.read-only-rootfs', 'readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: false'],
      ['container.capabilities-dropped', 'drop: [ALL]', 'drop: [NET_RAW]'],
      ['container.pod-security-restricted', 'type: RuntimeDefault', 'type: Unconfined'],
    ];
    for (const [id, from, to] of cases) {
      const r = await statuses(k8sChecks(await weakened(file, from, to)), [id]);
      expectStatus(r.get(id)!, 'fail', id);
    }
  });

  it('without checks.kubernetes_container the checks look for Barycenter, not barysafe', async () => {
    // The CronJob runs no Barycenter container: the checks say so instead of judging barysafe.
    const r = await statuses({ deployment: 'kubernetes', kubernetes_manifests: [manifests[0]!] }, [
      'container.read-only-rootfs',
    ]);
    const res = r.get('container.read-only-rootfs')!;
    assert.equal(res.status, 'error', res.summary);
    assert.match(res.summary, /no Deployment\/StatefulSet\/Pod running a barycenter container/);
  });
});

describe('example barysafe.toml files', () => {
  for (const [file, deployment] of [
    ['barysafe-systemd.toml', 'systemd'],
    ['barysafe-docker.toml', 'docker'],
    ['barysafe-kubernetes.toml', 'kubernetes'],
  ] as const)
    it(`${file} loads, names its deployment and schedules the agent`, async () => {
      const { config } = await loadConfig(path.join(DEPLOY, 'examples', file));
      assert.equal(config.checks.deployment, deployment);
      const jobs = schedulesOf(config).map((s) => s.job);
      assert.ok(jobs.includes('backup') && jobs.includes('verify') && jobs.includes('check'), jobs.join());
      assert.equal(config.state.dir, '/var/lib/barysafe');
      // A host that reads data back must hold the identity.
      if (config.schedule.read_data_subset) assert.ok(config.encryption.identity_file, file);
      if (config.schedule.drill) assert.ok(config.drill.barycenter_bin ?? config.drill.image, file);
    });
});

describe('docs/AGENT.md', () => {
  it('names every exported metric, every shipped alert and every config key of the agent', async () => {
    const doc = await readFile(path.join(REPO_ROOT, 'docs', 'AGENT.md'), 'utf8');
    const { METRIC_NAMES } = await import('../src/agent/metrics.js');
    const { configSchema } = await import('../src/config/schema.js');
    const missing: string[] = [];
    for (const m of METRIC_NAMES) if (!doc.includes(m)) missing.push(m);
    const rules = await readFile(path.join(DEPLOY, 'prometheus', 'barysafe-alerts.yml'), 'utf8');
    const alerts = [...rules.matchAll(/^\s*- alert: (\S+)$/gm)].map((m) => m[1]!);
    assert.ok(alerts.length >= 10, alerts.join());
    for (const a of alerts) if (!doc.includes(`\`${a}\``)) missing.push(a);
    for (const section of ['schedule', 'agent', 'notify'] as const) {
      const shape = configSchema.shape[section];
      const keys = Object.keys(
        (shape as any).removeDefault().innerType?.().shape ?? (shape as any).removeDefault().shape,
      );
      assert.ok(keys.length > 2, section);
      for (const k of keys) if (!doc.includes(`\`${k}\``)) missing.push(`[${section}] ${k}`);
    }
    assert.deepEqual(missing, []);
  });
});
