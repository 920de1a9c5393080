import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { readEnviron } from '../../platform/proc.js';
import type { CheckContext, Evidence, Lookup } from '../types.js';
import { pidListeningOn } from './sockets.js';

const run = promisify(execFile);

/**
 * The live Barycenter process, found by (1) checks.pid_file, (2) the systemd unit's MainPID when
 * systemd is the running init, (3) the process listening on server.port. Its /proc entries are
 * the strongest evidence there is: they show what the kernel enforces, not what a file asks for.
 */
export interface ProcessFacts {
  pid: number;
  foundBy: string;
  /** real, effective, saved, filesystem */
  uids: number[];
  gids: number[];
  groups: number[];
  noNewPrivs: boolean | undefined;
  capEff: bigint;
  capPrm: bigint;
  capBnd: bigint;
  statusSource: string;
}

export function parseStatus(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

export async function readProcessFacts(pid: number, foundBy: string): Promise<ProcessFacts> {
  const s = parseStatus(await readFile(`/proc/${pid}/status`, 'utf8'));
  const nums = (v: string | undefined) => (v ?? '').split(/\s+/).filter(Boolean).map(Number);
  return {
    pid,
    foundBy,
    uids: nums(s.Uid),
    gids: nums(s.Gid),
    groups: nums(s.Groups),
    // NoNewPrivs: appeared in Linux 4.10; undefined on older kernels.
    noNewPrivs: s.NoNewPrivs === undefined ? undefined : s.NoNewPrivs === '1',
    capEff: BigInt('0x' + (s.CapEff ?? '0')),
    capPrm: BigInt('0x' + (s.CapPrm ?? '0')),
    capBnd: BigInt('0x' + (s.CapBnd ?? '0')),
    statusSource: `proc:${pid}/status`,
  };
}

export async function pidFromFile(file: string): Promise<number> {
  const text = (await readFile(file, 'utf8')).trim();
  if (!/^\d+$/.test(text)) throw new Error(`${file} does not hold a pid`);
  return Number(text);
}

/** systemd is the running init only when /run/systemd/system exists (sd_booted(3)). */
async function systemdMainPid(unit: string): Promise<number | undefined> {
  if (!existsSync('/run/systemd/system')) return undefined;
  const { stdout } = await run('systemctl', ['show', '-p', 'MainPID', '--value', path.basename(unit)], {
    timeout: 5000,
  });
  const pid = Number(stdout.trim());
  return pid > 0 ? pid : undefined;
}

export async function findProcess(ctx: CheckContext): Promise<Lookup<ProcessFacts>> {
  return ctx.memo('process', async () => {
    const tried: string[] = [];
    const c = ctx.config.checks;
    if (ctx.deployment === 'kubernetes')
      return { ok: false, reason: 'Kubernetes: the pod process is not on this host; manifests are the evidence' };
    if (c.pid_file) {
      tried.push(`pid file ${c.pid_file}`);
      try {
        const pid = await pidFromFile(c.pid_file);
        if (!existsSync(`/proc/${pid}`)) return { ok: false, reason: `pid ${pid} from ${c.pid_file} is not running` };
        return found(await readProcessFacts(pid, `pid file ${c.pid_file}`));
      } catch (e) {
        return { ok: false, reason: `cannot use pid file ${c.pid_file}: ${(e as Error).message}` };
      }
    }
    // A saved docker inspect file describes a container elsewhere (or earlier); only a pid file ties it to a live process.
    if (ctx.deployment === 'docker')
      return { ok: false, reason: 'Docker: no checks.pid_file names the container process' };
    if (c.systemd_unit) {
      tried.push(`systemctl show ${path.basename(c.systemd_unit)}`);
      try {
        const pid = await systemdMainPid(c.systemd_unit);
        if (pid) return found(await readProcessFacts(pid, `systemd MainPID of ${path.basename(c.systemd_unit)}`));
      } catch {
        // systemctl absent or failing: fall through to the port scan.
      }
    }
    const port = ctx.barycenter.settings.server.port;
    tried.push(`listener on port ${port}`);
    try {
      const pid = await pidListeningOn(port);
      if (pid) return found(await readProcessFacts(pid, `listening on port ${port}`));
    } catch (e) {
      return { ok: false, reason: `cannot scan /proc for port ${port}: ${(e as Error).message}` };
    }
    return { ok: false, reason: `no Barycenter process found (tried ${tried.join(', ')})` };
  });
}

const found = (p: ProcessFacts): Lookup<ProcessFacts> => ({
  ok: true,
  value: p,
  source: `${p.statusSource} (found by ${p.foundBy})`,
});

/** The process environment (/proc/<pid>/environ: NUL-separated, as it was at exec). */
export async function processEnviron(ctx: CheckContext, pid: number): Promise<Lookup<Record<string, string>>> {
  return ctx.memo(`process-environ:${pid}`, async () => {
    try {
      return { ok: true, value: await readEnviron(pid), source: `proc:${pid}/environ` };
    } catch (e) {
      return {
        ok: false,
        reason: `cannot read /proc/${pid}/environ: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      };
    }
  });
}

/** Where fd 1 (stdout) of the process points: a path, "pipe:[…]", "socket:[…]", "/dev/null". */
export async function stdoutTarget(pid: number): Promise<Lookup<string>> {
  const source = `proc:${pid}/fd/1`;
  try {
    return { ok: true, value: await readlink(`/proc/${pid}/fd/1`), source };
  } catch (e) {
    return {
      ok: false,
      reason: `cannot read /proc/${pid}/fd/1: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      source,
    };
  }
}

export function processEvidence(
  p: ProcessFacts,
  field: string,
  observed: unknown,
  expected?: unknown,
  note?: string,
): Evidence {
  return { source: `${p.statusSource} (${field}; found by ${p.foundBy})`, observed, expected, note };
}

export function capNames(mask: bigint): string {
  return mask === 0n ? 'none' : `0x${mask.toString(16).padStart(16, '0')}`;
}
