import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { errorText } from '../errors.js';
import { containerEnv, parseInspect } from './docker-inspect.js';
import type { K8sObject } from './kubernetes-manifests.js';
import type { BarysafeConfig } from './schema.js';
import { execStartArgv, lastValue, readUnit, unitEnvironment } from './systemd-unit.js';

const run = promisify(execFile);

/**
 * How the deployment itself runs Barycenter, read from its own definition: the systemd unit
 * (checks.systemd_unit), the container (checks.docker_inspect, or the live container `barycenter`
 * when checks.deployment = "docker") or the Kubernetes manifests (checks.kubernetes_manifests).
 * Its environment is where the image and the chart are configured (BARYCENTER__*), so it is part
 * of Barycenter's effective settings; its command line and working directory say which config and
 * paths the service really uses.
 */
export interface ServiceDefinition {
  kind: 'systemd' | 'docker' | 'kubernetes';
  /** What was read, for evidence: "systemd unit /etc/systemd/system/barycenter.service + 10-env.conf". */
  source: string;
  /** Environment layers in the order they apply (a later one wins). */
  env: EnvLayer[];
  /** The command line: the binary (when known) and Barycenter's arguments. */
  argv?: string[];
  /** Whether argv[0] is the binary (systemd ExecStart, docker Entrypoint) or argv holds only arguments (Helm args). */
  argvHasBinary: boolean;
  workdir?: string;
  /** The image the container runs: its reference and, when the source says, its ID or digest. */
  image?: { ref: string; id?: string; digest?: string };
  notes: string[];
}

export interface EnvLayer {
  /** "Environment= in /etc/systemd/system/barycenter.service", "docker inspect barycenter Config.Env", … */
  source: string;
  vars: Record<string, string>;
  /** Variables whose value the definition does not hold (a Kubernetes valueFrom), with why. */
  unknown: Record<string, string>;
}

export type ServiceLookup = { ok: true; service: ServiceDefinition } | { ok: false; reason: string } | undefined;

/** The deployment's own definition, or undefined when barysafe.toml names none; never throws. */
export async function loadServiceDefinition(config: BarysafeConfig, docker = 'docker'): Promise<ServiceLookup> {
  const c = config.checks;
  try {
    if (c.systemd_unit) return { ok: true, service: await fromUnit(c.systemd_unit) };
    if (c.docker_inspect)
      return {
        ok: true,
        service: fromInspect(await readFile(c.docker_inspect, 'utf8'), `docker inspect file ${c.docker_inspect}`),
      };
    if (c.kubernetes_manifests.length)
      return { ok: true, service: await fromManifests(c.kubernetes_manifests, c.kubernetes_container) };
    if (c.deployment === 'docker') {
      const { stdout } = await run(docker, ['inspect', 'barycenter'], { timeout: 10_000 });
      return { ok: true, service: fromInspect(stdout, 'docker inspect barycenter (live)') };
    }
  } catch (e) {
    return { ok: false, reason: errorText(e).split('\n')[0]! };
  }
  return undefined;
}

async function fromUnit(file: string): Promise<ServiceDefinition> {
  const unit = await readUnit(file);
  const env = await unitEnvironment(unit);
  const layers = new Map<string, EnvLayer>();
  for (const [k, v] of Object.entries(env.vars)) {
    const source = env.origin[k]!;
    const layer = layers.get(source) ?? { source, vars: {}, unknown: {} };
    layer.vars[k] = v;
    layers.set(source, layer);
  }
  const argv = execStartArgv(unit);
  const workdir = lastValue(unit, 'WorkingDirectory')?.replace(/^-/, '');
  return {
    kind: 'systemd',
    source: `systemd unit ${unit.files.join(' + ')}`,
    env: [...layers.values()],
    ...(argv ? { argv } : {}),
    argvHasBinary: true,
    // "~" is the user's home: not a path barysafe can compare.
    ...(workdir && workdir !== '~' ? { workdir } : {}),
    notes: env.unreadable.map((f) => `EnvironmentFile ${f} cannot be read: its variables are unknown`),
  };
}

export function fromInspect(text: string, source: string): ServiceDefinition {
  const c = parseInspect(text, source);
  const cmd = [...(c.Config?.Entrypoint ?? []), ...(c.Config?.Cmd ?? [])];
  const ref = c.Config?.Image;
  return {
    kind: 'docker',
    source,
    env: [{ source: `${source} Config.Env`, vars: containerEnv(c), unknown: {} }],
    ...(cmd.length ? { argv: cmd } : {}),
    argvHasBinary: (c.Config?.Entrypoint ?? []).length > 0,
    ...(c.Config?.WorkingDir ? { workdir: c.Config.WorkingDir } : {}),
    ...(ref ? { image: { ref, ...(c.Image ? { id: c.Image } : {}), ...digestOf(ref) } } : {}),
    notes: [],
  };
}

async function fromManifests(files: string[], containerName?: string): Promise<ServiceDefinition> {
  // Loaded here, not with the module: its YAML parser costs every backup and restore ~50 ms of start-up.
  const { findWorkload, parseManifests } = await import('./kubernetes-manifests.js');
  const objects: K8sObject[] = [];
  const fileOf = new Map<K8sObject, string>();
  for (const f of files)
    for (const o of parseManifests(await readFile(f, 'utf8'), f)) {
      objects.push(o);
      fileOf.set(o, f);
    }
  const w = findWorkload(objects, fileOf, containerName);
  if (!w)
    throw new Error(
      `no workload running ${containerName ? `a container named ${containerName}` : 'a barycenter container'} in ${files.join(', ')}`,
    );
  const c = w.container;
  const layers: EnvLayer[] = [];
  const notes: string[] = [];
  for (const ref of c.envFrom ?? []) {
    const name = ref.configMapRef?.name ?? ref.secretRef?.name ?? '?';
    const cm = ref.configMapRef && objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === name);
    if (cm)
      layers.push({
        source: `ConfigMap/${name} (envFrom of ${w.ref})`,
        vars: { ...((cm as { data?: Record<string, string> }).data ?? {}) },
        unknown: {},
      });
    else
      notes.push(
        `envFrom ${ref.secretRef ? 'Secret' : 'ConfigMap'} ${name} is not in the manifests: its variables are unknown`,
      );
  }
  const own: EnvLayer = { source: `${w.ref} container ${c.name} env`, vars: {}, unknown: {} };
  for (const e of c.env ?? []) {
    if (e.value !== undefined) own.vars[e.name] = String(e.value);
    else if (e.valueFrom !== undefined) own.unknown[e.name] = `valueFrom ${describeValueFrom(e.valueFrom)}`;
    else own.vars[e.name] = '';
  }
  layers.push(own);
  // Kubernetes replaces the image's ENTRYPOINT with command and its CMD with args.
  const argv = c.command ? [...c.command, ...(c.args ?? [])] : c.args;
  return {
    kind: 'kubernetes',
    source: `${w.ref} container ${c.name}`,
    env: layers,
    ...(argv ? { argv } : {}),
    argvHasBinary: c.command !== undefined,
    ...(c.workingDir ? { workdir: c.workingDir } : {}),
    ...(c.image ? { image: { ref: c.image, ...digestOf(c.image) } } : {}),
    notes,
  };
}

function describeValueFrom(v: unknown): string {
  const o = (v ?? {}) as Record<string, { name?: string; key?: string; fieldPath?: string } | undefined>;
  if (o.secretKeyRef) return `secret ${o.secretKeyRef.name ?? '?'} key ${o.secretKeyRef.key ?? '?'}`;
  if (o.configMapKeyRef) return `ConfigMap ${o.configMapKeyRef.name ?? '?'} key ${o.configMapKeyRef.key ?? '?'}`;
  if (o.fieldRef) return `field ${o.fieldRef.fieldPath ?? '?'}`;
  return 'reference';
}

/** An image reference pinned by digest (name@sha256:…). */
function digestOf(ref: string): { digest?: string } {
  const m = /@(sha256:[0-9a-f]{64})$/.exec(ref);
  return m ? { digest: m[1] } : {};
}

/**
 * Barycenter's `-c/--config` value in a command line (clap: `-c X`, `-cX`, `--config X`,
 * `--config=X`; only before a subcommand), or its default `config.toml` when the command line is
 * known but names none.
 */
export function configArgument(service: ServiceDefinition): string | undefined {
  if (!service.argv) return undefined;
  const args = service.argvHasBinary ? service.argv.slice(1) : service.argv;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-c' || a === '--config') return args[i + 1];
    if (a.startsWith('--config=')) return a.slice('--config='.length);
    if (a.startsWith('-c') && a.length > 2 && !a.startsWith('--')) return a.slice(2).replace(/^=/, '');
    if (!a.startsWith('-')) break; // a subcommand: --config after it is not Barycenter's
  }
  return 'config.toml';
}

/** Where the deployment's own definition disagrees with barysafe's [barycenter] config and workdir. */
export function serviceMismatches(service: ServiceDefinition, cfg: { config: string; workdir: string }): string[] {
  const out: string[] = [];
  const where =
    service.kind === 'systemd' ? 'WorkingDirectory=' : service.kind === 'docker' ? 'WorkingDir' : 'workingDir';
  if (service.workdir && path.resolve(service.workdir) !== path.resolve(cfg.workdir))
    out.push(
      `the service runs in ${service.workdir} (${where} of ${service.source}) but barycenter.workdir is ${cfg.workdir}: relative key and database paths resolve differently`,
    );
  const arg = configArgument(service);
  if (arg !== undefined) {
    const base = service.workdir ?? cfg.workdir;
    const used = path.resolve(base, arg);
    const what =
      service.kind === 'systemd' ? 'ExecStart=' : service.kind === 'docker' ? 'Entrypoint/Cmd' : 'command/args';
    if (used !== path.resolve(cfg.config))
      out.push(
        `the service reads ${used} (--config in ${what} of ${service.source}) but barycenter.config is ${cfg.config}: barysafe backs up and checks a different file`,
      );
  }
  return out;
}
