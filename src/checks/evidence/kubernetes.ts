import { readFile } from 'node:fs/promises';
import type { CheckContext, Lookup } from '../types.js';

// The manifest shapes and the workload finder live in config/ (backups read the container's env too).
import type {
  Container,
  K8sManifests,
  K8sObject,
  PodSpec,
  SecurityContext,
  Workload,
} from '../../config/kubernetes-manifests.js';
import { findWorkload, parseManifests } from '../../config/kubernetes-manifests.js';

export {
  findWorkload,
  parseManifests,
  type Container,
  type K8sManifests,
  type K8sObject,
  type PodSpec,
  type SecurityContext,
  type Workload,
} from '../../config/kubernetes-manifests.js';

export async function loadKubernetes(ctx: CheckContext): Promise<Lookup<K8sManifests>> {
  return ctx.memo('kubernetes-manifests', async () => {
    const files = ctx.config.checks.kubernetes_manifests;
    if (files.length === 0) return { ok: false, reason: 'checks.kubernetes_manifests lists no file' };
    const objects: K8sObject[] = [];
    const fileOf = new Map<K8sObject, string>();
    for (const f of files) {
      try {
        for (const o of parseManifests(await readFile(f, 'utf8'), f)) {
          objects.push(o);
          fileOf.set(o, f);
        }
      } catch (e) {
        return { ok: false, reason: `cannot read Kubernetes manifest ${f}: ${(e as Error).message}` };
      }
    }
    const name = ctx.config.checks.kubernetes_container;
    const workload = findWorkload(objects, fileOf, name);
    if (!workload)
      return {
        ok: false,
        reason: `no Deployment/StatefulSet/Pod running ${name ? `a container named ${name}` : 'a barycenter container'} in ${files.join(', ')}`,
      };
    return { ok: true, value: { files, objects, workload, fileOf }, source: files.join(', ') };
  });
}

type LabelSelector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
};

/** metav1.LabelSelector semantics; an empty selector selects everything. */
export function selectorMatches(sel: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!sel) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = e.key in labels;
    const inValues = has && (e.values ?? []).includes(labels[e.key]!);
    if (e.operator === 'In' && !inValues) return false;
    if (e.operator === 'NotIn' && inValues) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

const sameNamespace = (o: K8sObject, w: Workload) => (o.metadata?.namespace ?? w.namespace) === w.namespace;

export function servicesFor(m: K8sManifests): K8sObject[] {
  const w = m.workload;
  return m.objects.filter(
    (o) =>
      o.kind === 'Service' &&
      sameNamespace(o, w) &&
      o.spec?.selector &&
      Object.keys(o.spec.selector).length > 0 &&
      Object.entries(o.spec.selector as Record<string, string>).every(([k, v]) => w.podLabels[k] === v),
  );
}

/** NetworkPolicies that select the Barycenter pods and govern ingress. */
export function ingressPoliciesFor(m: K8sManifests): K8sObject[] {
  const w = m.workload;
  return m.objects.filter(
    (o) =>
      o.kind === 'NetworkPolicy' &&
      sameNamespace(o, w) &&
      selectorMatches(o.spec?.podSelector ?? {}, w.podLabels) &&
      (o.spec?.policyTypes ? (o.spec.policyTypes as string[]).includes('Ingress') : true),
  );
}

/** A Service/NetworkPolicy port (number or container port name) as a container port number. */
export function resolvePort(p: number | string | undefined, c: Container): number | undefined {
  if (p === undefined) return undefined;
  if (typeof p === 'number') return p;
  if (/^\d+$/.test(p)) return Number(p);
  return c.ports?.find((x) => x.name === p)?.containerPort;
}

/** Whether the ingress rules of the selecting policies let anyone reach a container port. */
export function portAllowedBy(policies: K8sObject[], port: number, c: Container): { allowed: boolean; from: string } {
  if (policies.length === 0) return { allowed: true, from: 'no NetworkPolicy selects the pods (all ingress allowed)' };
  for (const p of policies) {
    for (const rule of (p.spec?.ingress ?? []) as { ports?: { port?: number | string }[]; from?: unknown[] }[]) {
      const ports = rule.ports ?? [];
      const covers = ports.length === 0 || ports.some((x) => x.port === undefined || resolvePort(x.port, c) === port);
      if (!covers) continue;
      const from = rule.from && rule.from.length ? JSON.stringify(rule.from) : 'anywhere';
      return { allowed: true, from: `NetworkPolicy/${p.metadata?.name} allows it from ${from}` };
    }
  }
  return {
    allowed: false,
    from: `denied by NetworkPolicy ${policies.map((p) => p.metadata?.name).join(', ')} (no ingress rule covers it)`,
  };
}

/** Effective security context of the container: container fields override the pod's. */
export function effectiveSecurity(pod: PodSpec, c: Container): SecurityContext {
  return { ...(pod.securityContext ?? {}), ...(c.securityContext ?? {}) };
}

/**
 * How many Barycenter pods can run at once: the workload's spec.replicas (1 when unset; a
 * DaemonSet or Pod counts as its own kind), raised by a HorizontalPodAutoscaler that targets it.
 */
export function replicasOf(m: K8sManifests): { replicas: number; source: string } {
  const w = m.workload.object;
  let found = {
    replicas:
      w.kind === 'Deployment' || w.kind === 'StatefulSet' || w.kind === 'ReplicaSet'
        ? Number(w.spec?.replicas ?? 1)
        : 1,
    source: `${m.workload.ref}: spec.replicas`,
  };
  for (const hpa of m.objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
    const target = hpa.spec?.scaleTargetRef as { kind?: string; name?: string } | undefined;
    if (target && (target.kind !== w.kind || target.name !== w.metadata?.name)) continue;
    if (Number(hpa.spec?.maxReplicas) > found.replicas)
      found = {
        replicas: Number(hpa.spec.maxReplicas),
        source: `${m.fileOf.get(hpa) ?? 'manifest'}: HorizontalPodAutoscaler ${hpa.metadata?.name ?? ''} spec.maxReplicas`,
      };
  }
  return found;
}
