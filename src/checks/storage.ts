import path from 'node:path';
import type { CheckContext, CheckDefinition, CheckOutcome } from './types.js';
import { Findings, unreadable } from './evidence/combine.js';
import { dockerMountOf, loadDocker } from './evidence/docker.js';
import {
  canWriteDir,
  canWriteFile,
  type Mount,
  mountOf,
  nearestExisting,
  octal,
  readMountinfo,
  statFile,
  VOLATILE_FS,
} from './evidence/filesystem.js';
import { loadKubernetes, type Workload } from './evidence/kubernetes.js';
import { findProcess } from './evidence/process.js';
import { dataDirOf, serviceIdentity } from './evidence/identity.js';

/** Where the data directory and SQLite file live, and whether the service can write there. */

interface Target {
  label: string;
  path: string;
  /** Where the setting that names the path came from (the config file, the container's env, …). */
  from: string;
}

/** The data directory (dirname of the key) and, for SQLite, the database file. */
function targets(ctx: CheckContext): Target[] | { memory: true } {
  const db = ctx.barycenter.database;
  if (db.engine === 'sqlite' && db.memory) return { memory: true };
  const from = (dotted: string) =>
    `${dotted} from ${ctx.barycenter.sourceDetail[dotted] ?? 'the default'}${ctx.barycenter.unknown[dotted] ? ` (unknown: ${ctx.barycenter.unknown[dotted]})` : ''}`;
  const t: Target[] = [{ label: 'data directory', path: dataDirOf(ctx), from: from('keys.private_key_path') }];
  if (db.engine === 'sqlite' && db.path)
    t.push({ label: 'SQLite database', path: db.path, from: from('database.url') });
  return t;
}

function k8sVolumeFor(w: Workload, p: string) {
  let best: { mountPath: string; name: string; readOnly?: boolean } | undefined;
  for (const m of w.container.volumeMounts ?? []) {
    const inside = p === m.mountPath || p.startsWith(m.mountPath.endsWith('/') ? m.mountPath : m.mountPath + '/');
    if (inside && (!best || m.mountPath.length > best.mountPath.length)) best = m;
  }
  if (!best) return undefined;
  const vol = (w.pod.volumes ?? []).find((v) => v.name === best!.name);
  const type = vol ? (Object.keys(vol).find((k) => k !== 'name') ?? 'unknown') : 'undefined volume';
  return { mount: best, volume: vol, type };
}

/** Host mounts as the Barycenter process sees them (its mount namespace), else as barysafe sees them. */
async function hostMounts(ctx: CheckContext): Promise<{ mounts: Mount[]; source: string }> {
  return ctx.memo('host-mounts', async () => {
    const p = ctx.deployment === 'kubernetes' ? undefined : await findProcess(ctx);
    if (p?.ok) {
      try {
        return { mounts: await readMountinfo(p.value.pid), source: `proc:${p.value.pid}/mountinfo` };
      } catch {
        // fall back to our own view
      }
    }
    return { mounts: await readMountinfo('self'), source: 'proc:self/mountinfo' };
  });
}

// ---- storage.data-dir-persistent ---------------------------------------------------------

async function persistent(ctx: CheckContext): Promise<CheckOutcome> {
  const t = targets(ctx);
  if ('memory' in t)
    return {
      status: 'fail',
      summary: 'the database is SQLite in memory: every restart loses all data',
      evidence: [
        { source: 'database.url', observed: 'sqlite::memory:', expected: 'a file on persistent storage or PostgreSQL' },
      ],
    };
  const f = new Findings();
  if (ctx.deployment === 'docker') {
    const d = await loadDocker(ctx);
    if (!d.ok) return unreadable(d);
    for (const x of t) {
      const m = dockerMountOf(d.value, x.path);
      const ev = {
        source: `${d.source} (Mounts, HostConfig.Tmpfs) for ${x.path}`,
        observed: m ? `${m.type} ${m.name ?? ''} at ${m.destination}`.trim() : 'no mount: container writable layer',
        expected: 'a named volume or bind mount',
        note: x.from,
      };
      if (!m)
        f.add(
          'fail',
          `${x.label} ${x.path} is in the container layer: lost when the container is recreated${x.label === 'SQLite database' ? ' (the shipped compose file puts the DB at /app/barycenter.db, outside the volume)' : ''}`,
          ev,
        );
      else if (m.type === 'tmpfs') f.add('fail', `${x.label} ${x.path} is on a tmpfs`, ev);
      else f.add('pass', `${x.label} ${x.path} is on ${m.type} ${m.name ?? m.destination}`, ev);
    }
    return f.outcome();
  }
  if (ctx.deployment === 'kubernetes') {
    const k = await loadKubernetes(ctx);
    if (!k.ok) return unreadable(k);
    const w = k.value.workload;
    for (const x of t) {
      const v = k8sVolumeFor(w, x.path);
      const claim = v?.volume?.persistentVolumeClaim?.claimName as string | undefined;
      const pvcFound =
        claim !== undefined &&
        k.value.objects.some((o) => o.kind === 'PersistentVolumeClaim' && o.metadata?.name === claim);
      const ev = {
        source: `${w.ref} containers[${w.container.name}].volumeMounts / volumes for ${x.path}`,
        observed: v
          ? `${v.type}${claim ? ` ${claim}` : ''} at ${v.mount.mountPath}`
          : 'no volume mount: container layer',
        expected: 'persistentVolumeClaim',
        note: [
          x.from,
          claim
            ? pvcFound
              ? `PersistentVolumeClaim ${claim} is in the manifests`
              : `PersistentVolumeClaim ${claim} is not in the manifests given`
            : undefined,
        ]
          .filter(Boolean)
          .join('; '),
      };
      if (!v) f.add('fail', `${x.label} ${x.path} is in the container layer: lost with the pod`, ev);
      else if (v.type === 'persistentVolumeClaim') f.add('pass', `${x.label} ${x.path} is on PVC ${claim}`, ev);
      else if (v.type === 'hostPath') f.add('warn', `${x.label} ${x.path} is on a hostPath: tied to one node`, ev);
      else if (
        ['nfs', 'csi', 'iscsi', 'cephfs', 'rbd', 'azureDisk', 'awsElasticBlockStore', 'gcePersistentDisk'].includes(
          v.type,
        )
      )
        f.add('pass', `${x.label} ${x.path} is on a ${v.type} volume`, ev);
      else
        f.add(
          'fail',
          `${x.label} ${x.path} is on ${v.type}: lost when the pod goes${v.type === 'emptyDir' ? ' (the chart uses emptyDir when persistence.enabled=false)' : ''}`,
          ev,
        );
    }
    return f.outcome();
  }
  const { mounts, source } = await hostMounts(ctx);
  for (const x of t) {
    const existing = await nearestExisting(x.path);
    const m = mountOf(mounts, existing);
    const ev = {
      source: `${source} for ${x.path}${existing !== x.path ? ` (nearest existing: ${existing})` : ''}`,
      observed: m ? `${m.fsType} ${m.source} at ${m.mountPoint}` : '(no mount)',
      expected: 'a disk-backed file system (ext4, xfs, btrfs, zfs, nfs, …)',
      note: x.from,
    };
    if (!m) f.missing(`no mount holds ${x.path}`);
    else if (VOLATILE_FS.has(m.fsType))
      f.add('fail', `${x.label} ${x.path} is on ${m.fsType} (${m.mountPoint}): lost at reboot or recreation`, ev);
    else f.add('pass', `${x.label} ${x.path} is on ${m.fsType} ${m.source}`, ev);
  }
  return f.outcome();
}

// ---- storage.data-dir-writable -----------------------------------------------------------

async function writable(ctx: CheckContext): Promise<CheckOutcome> {
  const t = targets(ctx);
  if ('memory' in t)
    return {
      status: 'skip',
      summary: 'SQLite in memory: no database file; the key directory is judged by storage.data-dir-persistent',
      evidence: [],
    };
  const f = new Findings();
  if (ctx.deployment === 'docker') {
    const d = await loadDocker(ctx);
    if (!d.ok) return unreadable(d);
    const m = dockerMountOf(d.value, dataDirOf(ctx));
    const ev = {
      source: `${d.source} (Mounts RW, Config.User)`,
      observed: m ? { mount: m.destination, type: m.type, RW: m.rw } : 'container layer',
      expected: 'RW true, owned by the container user',
    };
    if (m && m.rw === false) f.add('fail', `${m.destination} is mounted read-only`, ev);
    else
      f.add(
        'manual',
        `mount is writable; ownership inside it is not visible from docker inspect (a named volume inherits the image's barycenter-owned /app/data, a bind mount keeps host ownership)`,
        ev,
      );
    return f.outcome();
  }
  if (ctx.deployment === 'kubernetes') {
    const k = await loadKubernetes(ctx);
    if (!k.ok) return unreadable(k);
    const w = k.value.workload;
    const v = k8sVolumeFor(w, dataDirOf(ctx));
    const fsGroup = w.pod.securityContext?.fsGroup;
    const ev = {
      source: `${w.ref} volumeMounts / securityContext.fsGroup`,
      observed: {
        mount: v?.mount.mountPath ?? '(none)',
        readOnly: v?.mount.readOnly ?? false,
        volume: v?.type,
        fsGroup,
      },
      expected: 'a writable mount; fsGroup set so the kubelet grants the group write access',
    };
    if (v?.mount.readOnly) f.add('fail', `${v.mount.mountPath} is mounted readOnly`, ev);
    else if (v && fsGroup !== undefined)
      f.add('pass', `${v.type} at ${v.mount.mountPath} is writable through fsGroup ${fsGroup}`, ev);
    else
      f.add(
        'manual',
        'no fsGroup: whether the volume is writable by the container user depends on the storage class',
        ev,
      );
    return f.outcome();
  }
  const id = await serviceIdentity(ctx);
  if (!id.ok) return unreadable(id);
  const who = id.value;
  const { mounts, source } = await hostMounts(ctx);
  const dirs = [...new Set(t.map((x) => (x.label === 'data directory' ? x.path : path.dirname(x.path))))];
  for (const dir of dirs) {
    const existing = await nearestExisting(dir);
    const stat = await statFile(existing);
    if (!stat.ok) {
      f.missing(`cannot stat ${existing}: ${stat.reason}`);
      continue;
    }
    const st = stat.value;
    const w = canWriteDir(st, who);
    const ro = mountOf(mounts, existing)?.options.includes('ro');
    const ev = {
      source: `file:${existing} (stat) for uid ${who.uid} gids ${who.gids.join(',')} (${who.source})${existing !== dir ? `; ${dir} does not exist yet` : ''}`,
      observed: { mode: octal(st.mode), uid: st.uid, gid: st.gid, decidedBy: w.via, readOnlyMount: ro ?? false },
      expected: 'write + search permission for the service user',
    };
    if (ro) f.add('fail', `${existing} is on a read-only mount as the service sees it (${source})`, ev);
    else if (!w.writable) f.add('fail', `${existing} is not writable by ${who.name ?? who.uid} (${w.via})`, ev);
    else f.add('pass', `${existing} is writable by ${who.name ?? who.uid} (${w.via})`, ev);
  }
  for (const x of t.filter((x) => x.label === 'SQLite database')) {
    const stat = await statFile(x.path);
    if (!stat.ok) continue; // created on first start (mode=rwc) when the directory is writable
    const st = stat.value;
    const w = canWriteFile(st, who);
    f.add(
      w.writable ? 'pass' : 'fail',
      `${x.path} is ${w.writable ? '' : 'not '}writable by ${who.name ?? who.uid} (${w.via})`,
      {
        source: `file:${x.path} (stat)`,
        observed: { mode: octal(st.mode), uid: st.uid, gid: st.gid },
        expected: 'writable by the service user',
      },
    );
  }
  return f.outcome();
}

export const checks: CheckDefinition[] = [
  {
    id: 'storage.data-dir-persistent',
    section: 'storage',
    title: 'Data directory and database are on persistent storage',
    rationale:
      'Losing the key invalidates every issued token and forces clients to re-validate; losing the SQLite file loses every client and user.',
    severity: 'critical',
    remediation: {
      systemd: 'Keep /var/lib/barycenter (data/ and barycenter.db) on a real disk, not tmpfs.',
      docker:
        'Mount a named volume at /app/data and point BARYCENTER__DATABASE__URL at sqlite:///app/data/barycenter.db?mode=rwc (the default DB path /app/barycenter.db is outside the volume).',
      kubernetes: 'Keep persistence.enabled=true so /app/data is a PVC (emptyDir loses everything with the pod).',
      default: 'Put the data directory and SQLite file on a disk-backed file system that survives reboots.',
    },
    run: persistent,
  },
  {
    id: 'storage.data-dir-writable',
    section: 'storage',
    title: 'Data directory is writable by the service user',
    rationale:
      'Barycenter creates the key and SQLite journal files at start; an unwritable directory makes startup fail after migrations.',
    severity: 'high',
    remediation: {
      systemd:
        'chown barycenter:barycenter /var/lib/barycenter /var/lib/barycenter/data and keep ReadWritePaths=/var/lib/barycenter.',
      docker: "Make the volume writable by uid 1000 (the image's barycenter user).",
      kubernetes: 'Set podSecurityContext.fsGroup (1000 in the chart) and do not mount /app/data readOnly.',
      default: "Give the service user write access to the data directory (and the SQLite file's directory).",
    },
    run: writable,
  },
];
