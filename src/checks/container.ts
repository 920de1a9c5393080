import type { CheckContext, CheckDefinition, CheckOutcome, Lookup } from './types.js';
import { Findings, unreadable } from './evidence/combine.js';
import { type DockerContainer, loadDocker } from './evidence/docker.js';
import { usesDocker, usesKubernetes, usesUnit } from './evidence/environment.js';
import { mountOf, readMountinfo } from './evidence/filesystem.js';
import {
  type Container,
  effectiveSecurity,
  loadKubernetes,
  type PodSpec,
  type Workload,
} from './evidence/kubernetes.js';
import { capNames, findProcess, processEvidence, type ProcessFacts } from './evidence/process.js';
import { isTrue, lastValue, loadUnit, type SystemdUnit } from './evidence/systemd.js';

/** Sandboxing of the process: no_new_privs, read-only root, capabilities, Pod Security. */

const NOT_LINUX = (ctx: CheckContext) =>
  ctx.deployment === 'freebsd' || ctx.deployment === 'illumos'
    ? `${ctx.deployment} has no Linux ${'no_new_privs/capability'} model; use its own confinement (jails, zones, privileges)`
    : undefined;

/** Adds a source's findings when the source applies and could be read; records why it is missing otherwise. */
async function judgeSource<T>(
  applies: boolean,
  f: Findings,
  label: string,
  load: () => Promise<Lookup<T>>,
  judge: (value: T, source: string) => Promise<void> | void,
) {
  if (!applies) return;
  const l = await load();
  if (l.ok) await judge(l.value, l.source);
  else f.missing(`${label}: ${l.reason}`);
}

/** The live process is local evidence except on Kubernetes. */
const withProcess = (ctx: CheckContext, f: Findings, judge: (p: ProcessFacts) => Promise<void> | void) =>
  judgeSource(ctx.deployment !== 'kubernetes', f, 'live process', () => findProcess(ctx), judge);
const withUnit = (ctx: CheckContext, f: Findings, judge: (u: SystemdUnit, source: string) => void) =>
  judgeSource(usesUnit(ctx), f, 'systemd unit', () => loadUnit(ctx), judge);
const withDocker = (ctx: CheckContext, f: Findings, judge: (c: DockerContainer, source: string) => void) =>
  judgeSource(usesDocker(ctx), f, 'docker', () => loadDocker(ctx), judge);
const withPod = (ctx: CheckContext, f: Findings, judge: (w: Workload) => void) =>
  judgeSource(
    usesKubernetes(ctx),
    f,
    'kubernetes',
    () => loadKubernetes(ctx),
    (m) => judge(m.workload),
  );

function finish(ctx: CheckContext, f: Findings): CheckOutcome {
  const notLinux = NOT_LINUX(ctx);
  if (notLinux && f.findings.length === 0) return { status: 'skip', summary: notLinux, evidence: [] };
  return f.outcome();
}

// ---- container.no-new-privileges ---------------------------------------------------------

/** systemd.exec(5): these settings imply NoNewPrivileges=yes for the service. */
const IMPLIES_NNP = [
  'SystemCallFilter',
  'SystemCallArchitectures',
  'RestrictAddressFamilies',
  'RestrictNamespaces',
  'PrivateDevices',
  'ProtectKernelTunables',
  'ProtectKernelModules',
  'ProtectKernelLogs',
  'ProtectClock',
  'MemoryDenyWriteExecute',
  'RestrictRealtime',
  'RestrictSUIDSGID',
  'LockPersonality',
];

async function noNewPrivileges(ctx: CheckContext): Promise<CheckOutcome> {
  const f = new Findings();
  await withProcess(ctx, f, (p) => {
    if (p.noNewPrivs === undefined) f.missing(`proc:${p.pid}/status has no NoNewPrivs field (kernel older than 4.10)`);
    else
      f.add(
        p.noNewPrivs ? 'pass' : 'fail',
        p.noNewPrivs
          ? `process ${p.pid} has no_new_privs set`
          : `process ${p.pid} may gain privileges through setuid/file-capability executables`,
        processEvidence(p, 'NoNewPrivs', p.noNewPrivs ? 1 : 0, 1),
      );
  });
  await withUnit(ctx, f, (u, src) => {
    const explicit = lastValue(u, 'NoNewPrivileges');
    const implied = IMPLIES_NNP.filter((k) => {
      const v = lastValue(u, k);
      return v !== undefined && !/^(no|false|0|off)$/i.test(v);
    });
    const ev = {
      source: `${src} (NoNewPrivileges=)`,
      observed: explicit ?? '(unset)',
      expected: 'true',
      note: implied.length ? `implied by ${implied.join(', ')}` : undefined,
    };
    if (isTrue(explicit)) f.add('pass', 'unit sets NoNewPrivileges=true', ev);
    else if (explicit === undefined && implied.length) f.add('pass', `NoNewPrivileges implied by ${implied[0]}=`, ev);
    else f.add('fail', `unit does not set NoNewPrivileges=true`, ev);
  });
  await withDocker(ctx, f, (d, source) => {
    const opts = d.HostConfig?.SecurityOpt ?? [];
    const on = opts.some((o) => /^no-new-privileges([:=]true)?$/i.test(o));
    f.add(
      on ? 'pass' : 'fail',
      on ? 'container has no-new-privileges' : 'container lacks security-opt no-new-privileges',
      { source: `${source} (HostConfig.SecurityOpt)`, observed: opts, expected: 'contains "no-new-privileges:true"' },
    );
  });
  await withPod(ctx, f, (w) => {
    const bad = [...(w.pod.initContainers ?? []), w.pod.containers]
      .flat()
      .filter((c) => c.securityContext?.allowPrivilegeEscalation !== false);
    f.add(
      bad.length ? 'fail' : 'pass',
      bad.length
        ? `allowPrivilegeEscalation is not false for ${bad.map((c) => c.name).join(', ')}`
        : 'allowPrivilegeEscalation: false on every container',
      {
        source: `${w.ref} ${w.fieldPrefix}.containers[*].securityContext.allowPrivilegeEscalation`,
        observed: Object.fromEntries(
          [...(w.pod.initContainers ?? []), ...w.pod.containers].map((c) => [
            c.name,
            c.securityContext?.allowPrivilegeEscalation ?? '(unset: true)',
          ]),
        ),
        expected: false,
      },
    );
  });
  return finish(ctx, f);
}

// ---- container.read-only-rootfs ----------------------------------------------------------

async function readOnlyRootfs(ctx: CheckContext): Promise<CheckOutcome> {
  const f = new Findings();
  await withProcess(ctx, f, async (p) => {
    try {
      const root = mountOf(await readMountinfo(p.pid), '/');
      const ro = root?.options.includes('ro') ?? false;
      f.add(
        ro ? 'pass' : 'fail',
        ro ? `process ${p.pid} sees / mounted read-only` : `process ${p.pid} sees / mounted read-write`,
        {
          source: `proc:${p.pid}/mountinfo (mount "/"; found by ${p.foundBy})`,
          observed: root ? `${root.fsType} ${root.options.join(',')}` : '(no root mount)',
          expected: 'ro',
        },
      );
    } catch (e) {
      f.missing(`cannot read /proc/${p.pid}/mountinfo: ${(e as Error).message}`);
    }
  });
  await withUnit(ctx, f, (u, src) => {
    const v = lastValue(u, 'ProtectSystem');
    const ev = { source: `${src} (ProtectSystem=)`, observed: v ?? '(unset)', expected: 'strict' };
    if (v === 'strict')
      f.add('pass', 'ProtectSystem=strict mounts the whole file system read-only but ReadWritePaths=', ev);
    else if (v && /^(yes|true|full)$/i.test(v))
      f.add('warn', `ProtectSystem=${v} leaves parts of the file system writable; use strict`, ev);
    else f.add('fail', 'the unit does not make the file system read-only (ProtectSystem=strict)', ev);
  });
  await withDocker(ctx, f, (d, source) => {
    const ro = d.HostConfig?.ReadonlyRootfs === true;
    f.add(
      ro ? 'pass' : 'fail',
      ro ? 'container root file system is read-only' : 'container root file system is writable',
      {
        source: `${source} (HostConfig.ReadonlyRootfs)`,
        observed: d.HostConfig?.ReadonlyRootfs ?? false,
        expected: true,
      },
    );
  });
  await withPod(ctx, f, (w) => {
    const ro = w.container.securityContext?.readOnlyRootFilesystem === true;
    f.add(
      ro ? 'pass' : 'fail',
      ro ? 'readOnlyRootFilesystem: true' : 'readOnlyRootFilesystem is not true (the chart default is false)',
      {
        source: `${w.ref} containers[${w.container.name}].securityContext.readOnlyRootFilesystem`,
        observed: w.container.securityContext?.readOnlyRootFilesystem ?? '(unset: false)',
        expected: true,
      },
    );
  });
  return finish(ctx, f);
}

// ---- container.capabilities-dropped ------------------------------------------------------

function judgeCapLists(f: Findings, source: string, drop: string[], add: string[], privileged: boolean) {
  const norm = (c: string) => c.toUpperCase().replace(/^CAP_/, '');
  const dropsAll = drop.map(norm).includes('ALL');
  const added = add.map(norm);
  const ev = { source, observed: { drop, add, privileged }, expected: { drop: ['ALL'], add: [] } };
  if (privileged) f.add('fail', 'privileged: every capability is granted', ev);
  else if (!dropsAll) f.add('fail', 'capabilities are not dropped (drop ALL missing)', ev);
  else if (added.some((c) => c !== 'NET_BIND_SERVICE'))
    f.add('fail', `capabilities added back: ${added.join(', ')}`, ev);
  else if (added.length) f.add('warn', 'NET_BIND_SERVICE added back; not needed for ports ≥ 1024', ev);
  else f.add('pass', 'all capabilities dropped', ev);
}

async function capabilitiesDropped(ctx: CheckContext): Promise<CheckOutcome> {
  const f = new Findings();
  await withProcess(ctx, f, (p) => {
    const ev = processEvidence(
      p,
      'CapEff / CapPrm / CapBnd',
      { CapEff: capNames(p.capEff), CapPrm: capNames(p.capPrm), CapBnd: capNames(p.capBnd) },
      { CapEff: 'none', CapBnd: 'none' },
    );
    if (p.capEff !== 0n || p.capPrm !== 0n)
      f.add('fail', `process ${p.pid} holds capabilities (CapEff ${capNames(p.capEff)})`, ev);
    else if (p.capBnd !== 0n)
      f.add(
        'warn',
        `process ${p.pid} has no effective capabilities but its bounding set is not empty (CapBnd ${capNames(p.capBnd)})${p.noNewPrivs ? '' : '; without no_new_privs a setuid executable could regain them'}`,
        ev,
      );
    else f.add('pass', `process ${p.pid} has no capabilities and an empty bounding set`, ev);
  });
  await withUnit(ctx, f, (u, src) => {
    const has = u.service.has('CapabilityBoundingSet');
    const values = (u.service.get('CapabilityBoundingSet') ?? []).join(' ').trim();
    const ambient = (u.service.get('AmbientCapabilities') ?? []).join(' ').trim();
    const ev = {
      source: `${src} (CapabilityBoundingSet=, AmbientCapabilities=)`,
      observed: {
        CapabilityBoundingSet: has ? values || '(empty)' : '(unset: all)',
        AmbientCapabilities: ambient || '(unset)',
      },
      expected: { CapabilityBoundingSet: '(empty)' },
    };
    if (ambient) f.add('fail', `AmbientCapabilities=${ambient} grants capabilities to the service`, ev);
    else if (has && values === '') f.add('pass', 'CapabilityBoundingSet= is empty', ev);
    else if (has && !values.startsWith('~')) f.add('warn', `bounding set keeps ${values}`, ev);
    else f.add('fail', 'the unit does not empty the capability bounding set (CapabilityBoundingSet=)', ev);
  });
  await withDocker(ctx, f, (d, source) => {
    const h = d.HostConfig ?? {};
    judgeCapLists(
      f,
      `${source} (HostConfig.CapDrop, CapAdd, Privileged)`,
      h.CapDrop ?? [],
      h.CapAdd ?? [],
      h.Privileged === true,
    );
  });
  await withPod(ctx, f, (w) => {
    const sc = w.container.securityContext ?? {};
    judgeCapLists(
      f,
      `${w.ref} containers[${w.container.name}].securityContext.capabilities`,
      sc.capabilities?.drop ?? [],
      sc.capabilities?.add ?? [],
      sc.privileged === true,
    );
  });
  return finish(ctx, f);
}

// ---- container.pod-security-restricted ---------------------------------------------------

const RESTRICTED_VOLUME_TYPES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

/** The Pod Security Standard "restricted" profile (kubernetes.io/docs/concepts/security/pod-security-standards). */
export function restrictedViolations(pod: PodSpec): string[] {
  const v: string[] = [];
  if (pod.hostNetwork) v.push('hostNetwork: true');
  if (pod.hostPID) v.push('hostPID: true');
  if (pod.hostIPC) v.push('hostIPC: true');
  for (const vol of pod.volumes ?? []) {
    const type = Object.keys(vol).find((k) => k !== 'name');
    if (type && !RESTRICTED_VOLUME_TYPES.has(type)) v.push(`volume ${vol.name} uses ${type}`);
  }
  const all: Container[] = [...(pod.initContainers ?? []), ...pod.containers, ...(pod.ephemeralContainers ?? [])];
  for (const c of all) {
    const sc = effectiveSecurity(pod, c);
    const own = c.securityContext ?? {};
    if (own.privileged) v.push(`${c.name}: privileged`);
    if (own.allowPrivilegeEscalation !== false) v.push(`${c.name}: allowPrivilegeEscalation is not false`);
    if (sc.runAsNonRoot !== true) v.push(`${c.name}: runAsNonRoot is not true`);
    if (sc.runAsUser === 0) v.push(`${c.name}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
      v.push(`${c.name}: seccompProfile.type is ${seccomp ?? 'unset'} (RuntimeDefault or Localhost required)`);
    const drop = (own.capabilities?.drop ?? []).map((x) => x.toUpperCase());
    if (!drop.includes('ALL')) v.push(`${c.name}: capabilities.drop lacks ALL`);
    const add = (own.capabilities?.add ?? [])
      .map((x) => x.toUpperCase().replace(/^CAP_/, ''))
      .filter((x) => x !== 'NET_BIND_SERVICE');
    if (add.length) v.push(`${c.name}: capabilities.add ${add.join(', ')}`);
    if (own.procMount && own.procMount !== 'Default') v.push(`${c.name}: procMount ${own.procMount}`);
    if (own.windowsOptions?.hostProcess) v.push(`${c.name}: windowsOptions.hostProcess`);
    for (const p of c.ports ?? []) if (p.hostPort) v.push(`${c.name}: hostPort ${p.hostPort}`);
  }
  return v;
}

async function podSecurityRestricted(ctx: CheckContext): Promise<CheckOutcome> {
  if (ctx.deployment !== 'kubernetes')
    return {
      status: 'skip',
      summary: `Pod Security Standards apply to Kubernetes only (deployment: ${ctx.deployment})`,
      evidence: [],
    };
  const k = await loadKubernetes(ctx);
  if (!k.ok) return unreadable(k);
  const w = k.value.workload;
  const v = restrictedViolations(w.pod);
  const ev = {
    source: `${w.ref} ${w.fieldPrefix}`,
    observed: v.length ? v : 'no violation',
    expected: 'the restricted Pod Security Standard',
    note: 'checked: host namespaces, volume types, privileged, privilege escalation, runAsNonRoot/runAsUser, seccomp, capabilities, procMount, hostPort',
  };
  return v.length
    ? {
        status: 'fail',
        summary: `${v.length} restricted-profile violation(s): ${v.slice(0, 3).join('; ')}${v.length > 3 ? '; …' : ''}`,
        evidence: [ev],
      }
    : { status: 'pass', summary: 'the pod meets the restricted Pod Security Standard', evidence: [ev] };
}

export const checks: CheckDefinition[] = [
  {
    id: 'container.no-new-privileges',
    section: 'container',
    title: 'no-new-privileges is set',
    rationale:
      'With no_new_privs the process cannot gain privileges through setuid or file-capability executables after a compromise.',
    severity: 'medium',
    remediation: {
      systemd: 'Keep NoNewPrivileges=true in the unit (the shipped unit sets it).',
      docker: 'Run with --security-opt no-new-privileges:true (compose: security_opt: [no-new-privileges:true]).',
      kubernetes: 'Set securityContext.allowPrivilegeEscalation: false on every container.',
      default:
        'Start Barycenter with no_new_privs (setpriv --no-new-privs, or a systemd unit with NoNewPrivileges=true).',
    },
    run: noNewPrivileges,
  },
  {
    id: 'container.read-only-rootfs',
    section: 'container',
    title: 'The root file system is read-only',
    rationale:
      'A read-only root keeps an attacker from modifying the binary or dropping tools; only the data directory needs writes.',
    severity: 'low',
    remediation: {
      systemd: 'Set ProtectSystem=strict with ReadWritePaths=/var/lib/barycenter.',
      docker: 'Run with --read-only (compose: read_only: true) and keep /app/data on a volume.',
      kubernetes: 'Set readOnlyRootFilesystem: true (the chart defaults to false) and keep /app/data on the PVC.',
      default: 'Run Barycenter with a read-only root file system and a writable data directory.',
    },
    run: readOnlyRootfs,
  },
  {
    id: 'container.capabilities-dropped',
    section: 'container',
    title: 'All capabilities are dropped',
    rationale:
      'Barycenter listens on unprivileged ports and needs no Linux capability; any it holds widens a compromise.',
    severity: 'medium',
    remediation: {
      systemd: 'Add CapabilityBoundingSet= (empty) and no AmbientCapabilities= to the unit.',
      docker: 'Run with --cap-drop ALL (compose: cap_drop: [ALL]) and no cap_add.',
      kubernetes: 'Set securityContext.capabilities.drop: [ALL] and no add.',
      default: 'Start Barycenter without capabilities (setpriv --inh-caps=-all --bounding-set=-all).',
    },
    run: capabilitiesDropped,
  },
  {
    id: 'container.pod-security-restricted',
    section: 'container',
    title: 'The pod meets the restricted Pod Security Standard',
    rationale:
      'The restricted profile is the Kubernetes baseline for hardened workloads; the namespace can then enforce it.',
    severity: 'medium',
    remediation: {
      kubernetes:
        "Keep the chart's podSecurityContext/securityContext (runAsNonRoot, seccomp RuntimeDefault, drop ALL, no privilege escalation) and label the namespace pod-security.kubernetes.io/enforce=restricted.",
      default: 'Not applicable outside Kubernetes.',
    },
    run: podSecurityRestricted,
  },
];
