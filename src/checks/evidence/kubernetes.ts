import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import type { CheckContext, Lookup } from '../types.js';

/**
 * Kubernetes objects from manifest files: multi-document YAML as Helm renders it, or the `List`
 * that `kubectl get -o yaml` prints. Only the fields the checks read are typed.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
export type K8sObject = {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  items?: K8sObject[];
};

export interface Container {
  name: string;
  image?: string;
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number; hostPort?: number; protocol?: string }[];
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
}
export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  fsGroup?: number;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string };
  procMount?: string;
  windowsOptions?: { hostProcess?: boolean };
}
export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
  securityContext?: SecurityContext;
  volumes?: ({ name: string } & Record<string, any>)[];
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
}

export interface Workload {
  object: K8sObject;
  ref: string; // "Deployment/barycenter (file)"
  namespace?: string;
  podLabels: Record<string, string>;
  pod: PodSpec;
  container: Container;
  fieldPrefix: string; // "spec.template.spec"
}

export interface K8sManifests {
  files: string[];
  objects: K8sObject[];
  /** The workload running Barycenter (a lookup without one fails). */
  workload: Workload;
}

export function parseManifests(text: string, source: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`${source}: ${doc.errors[0]!.message}`);
    const obj = doc.toJS() as K8sObject | null;
    if (!obj || typeof obj !== 'object') continue;
    if (obj.kind === 'List' || (obj.kind?.endsWith('List') && Array.isArray(obj.items))) out.push(...(obj.items ?? []));
    else out.push(obj);
  }
  return out;
}

const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Pod', 'Job', 'CronJob'];

function podTemplateOf(o: K8sObject): { pod?: PodSpec; labels?: Record<string, string>; prefix: string } {
  if (o.kind === 'Pod') return { pod: o.spec, labels: o.metadata?.labels, prefix: 'spec' };
  if (o.kind === 'CronJob') {
    const t = o.spec?.jobTemplate?.spec?.template;
    return { pod: t?.spec, labels: t?.metadata?.labels, prefix: 'spec.jobTemplate.spec.template.spec' };
  }
  return { pod: o.spec?.template?.spec, labels: o.spec?.template?.metadata?.labels, prefix: 'spec.template.spec' };
}

const isBarycenter = (c: Container) => c.name === 'barycenter' || /(^|\/)barycenter(:|@|$)/.test(c.image ?? '');

/** The long-running workload whose container runs Barycenter (Jobs and CronJobs only as a last resort). */
export function findWorkload(objects: K8sObject[], fileOf: Map<K8sObject, string>): Workload | undefined {
  const candidates = objects.filter((o) => WORKLOAD_KINDS.includes(o.kind ?? ''));
  candidates.sort(
    (a, b) => Number(['Job', 'CronJob'].includes(a.kind!)) - Number(['Job', 'CronJob'].includes(b.kind!)),
  );
  for (const o of candidates) {
    const { pod, labels, prefix } = podTemplateOf(o);
    const container = pod?.containers?.find(isBarycenter);
    if (pod && container) {
      return {
        object: o,
        ref: `${o.kind}/${o.metadata?.name ?? '?'} (${fileOf.get(o) ?? 'manifest'})`,
        namespace: o.metadata?.namespace,
        podLabels: labels ?? {},
        pod,
        container,
        fieldPrefix: prefix,
      };
    }
  }
  return undefined;
}

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
    const workload = findWorkload(objects, fileOf);
    if (!workload)
      return {
        ok: false,
        reason: `no Deployment/StatefulSet/Pod running a barycenter container in ${files.join(', ')}`,
      };
    return { ok: true, value: { files, objects, workload }, source: files.join(', ') };
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
