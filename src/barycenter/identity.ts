import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { errorText } from '../errors.js';
import type { ServiceDefinition } from '../config/service.js';

/**
 * Which Barycenter build a process is. Every build prints `barycenter 0.2.0-beta.1` for `-V` (the
 * Cargo version was never bumped), so the build is named by content: the binary's SHA-256, or the
 * image's ID / digest.
 */
export type BuildIdentity =
  | { kind: 'binary'; path: string; sha256: string; source: string }
  | { kind: 'image'; ref: string; id?: string; digest?: string; source: string };

// Types, not interfaces: they are stored in manifests and drill records, whose schema types carry an index signature.
export type IdentityLookup = {
  identity: BuildIdentity | null;
  /** Why there is none, or what could not be read on the way. */
  reason?: string;
};

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Production's build, in the order of trust: the running process's /proc/<pid>/exe (what really
 * runs, even if the file on disk was replaced since; pid from checks.pid_file), the binary the
 * systemd unit's ExecStart= names, the image of the container or the pod spec.
 */
export async function productionIdentity(
  service: ServiceDefinition | undefined,
  pidFile: string | undefined,
): Promise<IdentityLookup> {
  const tried: string[] = [];
  if (pidFile) {
    try {
      const pid = Number((await readFile(pidFile, 'utf8')).trim());
      if (!Number.isInteger(pid) || pid <= 0) throw new Error('it holds no pid');
      const exe = `/proc/${pid}/exe`;
      return {
        identity: { kind: 'binary', path: exe, sha256: await sha256File(exe), source: `pid ${pid} from ${pidFile}` },
      };
    } catch (e) {
      tried.push(`the process of ${pidFile}: ${errorText(e)}`);
    }
  }
  if (service?.kind === 'systemd' && service.argv?.[0]) {
    const bin = service.argv[0];
    if (path.isAbsolute(bin)) {
      try {
        return {
          identity: {
            kind: 'binary',
            path: bin,
            sha256: await sha256File(bin),
            source: `ExecStart= of ${service.source}`,
          },
        };
      } catch (e) {
        tried.push(`${bin} (ExecStart=): ${errorText(e)}`);
      }
    } else tried.push(`ExecStart= names ${bin}, not an absolute path`);
  }
  if (service?.image) {
    const { ref, id, digest } = service.image;
    return {
      identity: { kind: 'image', ref, ...(id ? { id } : {}), ...(digest ? { digest } : {}), source: service.source },
      ...(id || digest ? {} : { reason: `${service.source} names the image by tag only (${ref}), not by digest` }),
    };
  }
  return {
    identity: null,
    reason: tried.length
      ? tried.join('; ')
      : 'no checks.pid_file, systemd unit, docker inspect or Kubernetes manifest names the production binary or image',
  };
}

export type IdentityComparison = 'same' | 'different' | 'not comparable';

/** Whether two identities are the same build: equal SHA-256, equal image ID, or a shared digest. */
export function compareIdentities(
  production: BuildIdentity | null | undefined,
  drill: BuildIdentity | null | undefined,
): { comparison: IdentityComparison; detail: string } {
  if (!production || !drill)
    return {
      comparison: 'not comparable',
      detail: `${production ? '' : "production's build is unknown"}${!production && !drill ? ' and ' : ''}${drill ? '' : "the drill's build is unknown"}`,
    };
  if (production.kind === 'binary' && drill.kind === 'binary')
    return production.sha256 === drill.sha256
      ? { comparison: 'same', detail: `both binaries have SHA-256 ${production.sha256}` }
      : {
          comparison: 'different',
          detail: `production runs ${production.path} (SHA-256 ${production.sha256}), the drill booted ${drill.path} (SHA-256 ${drill.sha256})`,
        };
  if (production.kind === 'image' && drill.kind === 'image') {
    if (production.id && drill.id)
      return production.id === drill.id
        ? { comparison: 'same', detail: `both run image ${production.id}` }
        : {
            comparison: 'different',
            detail: `production runs image ${production.ref} (${production.id}), the drill booted ${drill.ref} (${drill.id})`,
          };
    if (production.digest && drill.digest)
      return production.digest === drill.digest
        ? { comparison: 'same', detail: `both run ${production.digest}` }
        : {
            comparison: 'different',
            detail: `production runs ${production.ref} (${production.digest}), the drill booted ${drill.ref} (${drill.digest})`,
          };
    return {
      comparison: 'not comparable',
      detail: `production's image ${production.ref} is known by tag only; a tag can move, so it proves nothing about ${drill.ref}`,
    };
  }
  return {
    comparison: 'not comparable',
    detail: `production runs ${describeIdentity(production)}, the drill booted ${describeIdentity(drill)}: a binary and an image cannot be compared`,
  };
}

export function describeIdentity(i: BuildIdentity | null | undefined): string {
  if (!i) return 'an unknown build';
  if (i.kind === 'binary') return `binary ${i.path} (SHA-256 ${i.sha256.slice(0, 12)}…)`;
  return `image ${i.ref}${i.id ? ` (${i.id.slice(0, 19)}…)` : i.digest ? ` (${i.digest.slice(0, 19)}…)` : ''}`;
}
