import { parseAllDocuments } from 'yaml';

/**
 * Kubernetes objects from manifest files: multi-document YAML as Helm renders it, or the `List`
 * that `kubectl get -o yaml` prints. Only the fields barysafe reads are typed. Read by the checks
 * (pod security, services, policies) and by backups (the container's env, args and image), so it
 * lives below both.
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
  command?: string[];
  args?: string[];
  workingDir?: string;
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
  /** The file each object came from. */
  fileOf: Map<K8sObject, string>;
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

/**
 * The long-running workload whose container runs Barycenter (Jobs and CronJobs only as a last
 * resort); with `containerName` (checks.kubernetes_container), the container of that name.
 */
export function findWorkload(
  objects: K8sObject[],
  fileOf: Map<K8sObject, string>,
  containerName?: string,
): Workload | undefined {
  const wanted = containerName ? (c: Container) => c.name === containerName : isBarycenter;
  const candidates = objects.filter((o) => WORKLOAD_KINDS.includes(o.kind ?? ''));
  candidates.sort(
    (a, b) => Number(['Job', 'CronJob'].includes(a.kind!)) - Number(['Job', 'CronJob'].includes(b.kind!)),
  );
  for (const o of candidates) {
    const { pod, labels, prefix } = podTemplateOf(o);
    const container = pod?.containers?.find(wanted);
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
