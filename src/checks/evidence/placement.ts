import { readFile, readlink } from 'node:fs/promises';
import type { DeploymentType } from '../types.js';
import { parseMountinfo } from './filesystem.js';
import { readEnviron } from '../../platform/proc.js';
import { parseStatus } from './process.js';

/**
 * Where a live process runs, read from its own /proc entries: its environment (a pod's
 * KUBERNETES_SERVICE_HOST), its cgroup (a container runtime's or a systemd unit's), its parent (a
 * container shim, systemd) and its root mount. This is about Barycenter's process; barysafe's own
 * container (/.dockerenv) says nothing about it. `type` is undefined when nothing names a service
 * manager, container or cluster; `evidence` lists what was read either way.
 */
export interface Placement {
  type: DeploymentType | undefined;
  evidence: string[];
}

/** Cgroup paths container runtimes create (cgroup v1 and v2, cgroupfs and systemd drivers). */
const CONTAINER_CGROUPS: Array<[RegExp, DeploymentType, string]> = [
  [/\/kubepods\b|kubepods[-.]/, 'kubernetes', 'a Kubernetes pod'],
  [/\/docker[-/][0-9a-f]{12,64}\b|\/docker\.service\//, 'docker', 'a Docker container'],
  [/\/libpod-[0-9a-f]{12,64}|\/libpod_parent\//, 'docker', 'a Podman container'],
  [/cri-containerd-[0-9a-f]{12,64}|\/containerd\/[^/]+/, 'docker', 'a containerd container'],
  [/\/lxc(\.payload)?[./]/, 'docker', 'an LXC container'],
];
/** Processes that start and watch containers: a container's first process is their child. */
const CONTAINER_PARENTS = /^(containerd-shim.*|dockerd|docker-proxy|conmon|runc|crun|lxc-start)$/;

export async function placementOf(pid: number, procRoot = '/proc'): Promise<Placement> {
  const evidence: string[] = [];
  const at = (f: string) => `${procRoot}/${pid}/${f}`;
  const src = (f: string) => `proc:${pid}/${f}`;

  try {
    const env = await readEnviron(pid, procRoot);
    if (env.KUBERNETES_SERVICE_HOST)
      return { type: 'kubernetes', evidence: [`${src('environ')} has KUBERNETES_SERVICE_HOST (it runs in a pod)`] };
    evidence.push(`${src('environ')}: no KUBERNETES_SERVICE_HOST`);
  } catch (e) {
    evidence.push(`${src('environ')} not readable (${code(e)})`);
  }

  let unit: string | undefined;
  try {
    const paths = (await readFile(at('cgroup'), 'utf8'))
      .split('\n')
      .map((l) => l.split(':').slice(2).join(':'))
      .filter(Boolean);
    for (const [re, type, what] of CONTAINER_CGROUPS) {
      const hit = paths.find((p) => re.test(p));
      if (hit) return { type, evidence: [`${src('cgroup')} ${hit}: ${what}`] };
    }
    unit = paths.map((p) => /\/([^/]+\.service)(\/|$)/.exec(p)?.[1]).find((u) => u && !/^user@/.test(u));
    evidence.push(`${src('cgroup')} ${[...new Set(paths)].join(', ') || '(empty)'}: no container runtime`);
  } catch (e) {
    evidence.push(`${src('cgroup')} not readable (${code(e)})`);
  }

  let parent: string | undefined;
  let ppid = 0;
  try {
    ppid = Number(parseStatus(await readFile(at('status'), 'utf8')).PPid);
    if (ppid > 0) {
      parent = (await readFile(`${procRoot}/${ppid}/comm`, 'utf8')).trim();
      if (CONTAINER_PARENTS.test(parent))
        return { type: 'docker', evidence: [`its parent (pid ${ppid}) is ${parent}: a container's process`] };
      evidence.push(`its parent (pid ${ppid}) is ${parent}`);
    }
  } catch (e) {
    evidence.push(`its parent is not readable (${code(e)})`);
  }

  if (unit) return { type: 'systemd', evidence: [`${src('cgroup')}: it runs in the systemd unit ${unit}`] };
  if (parent === 'systemd' && ppid === 1)
    return { type: 'systemd', evidence: [...evidence, 'started by systemd (pid 1)'] };

  // A root filesystem of its own (another mount namespace, an overlay root) is a container's.
  try {
    const [ns, own] = await Promise.all([readlink(at('ns/mnt')), readlink(`${procRoot}/self/ns/mnt`)]);
    if (ns !== own) {
      const root = parseMountinfo(await readFile(at('mountinfo'), 'utf8')).find((m) => m.mountPoint === '/');
      if (root?.fsType === 'overlay')
        return {
          type: 'docker',
          evidence: [`${src('mountinfo')}: its root is an overlay mount in a mount namespace of its own (a container)`],
        };
      evidence.push(`its own mount namespace, root ${root?.fsType ?? 'unknown'}`);
    } else evidence.push('same mount namespace as barysafe');
  } catch (e) {
    evidence.push(`${src('ns/mnt')} not readable (${code(e)})`);
  }
  return { type: undefined, evidence };
}

function code(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}
