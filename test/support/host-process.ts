// Starts the Barycenter stand-in as a real process under a chosen uid, with or without
// no_new_privs and capabilities (setpriv), optionally with a read-only root (private mount
// namespace) or in its own network namespace with an nftables ruleset, so the host checks read
// /proc of a real process. Readiness is read from /proc/<pid>/net/tcp, which works across namespaces.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BARYCENTER_BIN } from './barycenter/launch.js';

/**
 * Barycenter's config.toml for a stand-in on this host, all state under `dir`; returns its path.
 */
export function writeHostConfig(dir: string, o: { host: string; port: number; publicBaseUrl: string }): string {
  const configPath = path.join(dir, 'config.toml');
  writeFileSync(
    configPath,
    [
      '[server]',
      `host = "${o.host}"`,
      `port = ${o.port}`,
      `public_base_url = "${o.publicBaseUrl}"`,
      '[database]',
      `url = "sqlite://${dir}/barycenter.db?mode=rwc"`,
      '[keys]',
      `private_key_path = "${dir}/data/private_key.pem"`,
      `jwks_path = "${dir}/data/jwks.json"`,
      '',
    ].join('\n'),
  );
  return configPath;
}

export interface HostProcessOptions {
  cwd: string;
  configPath: string;
  env: Record<string, string>;
  port: number;
  /** Run as this uid/gid (setpriv --reuid/--regid --clear-groups); omit to stay root. */
  uid?: number;
  gid?: number;
  noNewPrivs?: boolean;
  /** Empty the inheritable and bounding sets (setpriv --inh-caps=-all --bounding-set=-all). */
  dropCaps?: boolean;
  /** Remount / read-only in a private mount namespace before exec (cwd stays writable through a bind mount). */
  readOnlyRoot?: boolean;
  /** Run in a fresh network namespace with this nft ruleset loaded ('' = no ruleset). */
  netnsRuleset?: string;
  /** Send stdout/stderr to /dev/null, as FreeBSD's daemon -f does. */
  stdoutNull?: boolean;
}

export interface HostProcess {
  pid: number;
  proc: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
}

export function toolAvailable(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function listening(pid: number, port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const f of ['tcp', 'tcp6']) {
    try {
      if (
        readFileSync(`/proc/${pid}/net/${f}`, 'utf8')
          .split('\n')
          .some((l) => l.includes(`:${hex} `) && l.trim().split(/\s+/)[3] === '0A')
      )
        return true;
    } catch {
      /* gone */
    }
  }
  return false;
}

export async function startHostProcess(o: HostProcessOptions): Promise<HostProcess> {
  const setpriv = ['setpriv'];
  if (o.uid !== undefined) setpriv.push(`--reuid=${o.uid}`, `--regid=${o.gid ?? o.uid}`, '--clear-groups');
  if (o.noNewPrivs) setpriv.push('--no-new-privs');
  if (o.dropCaps) setpriv.push('--inh-caps=-all', '--bounding-set=-all');
  const target = [...setpriv, BARYCENTER_BIN, '--config', o.configPath].map(shQuote).join(' ');
  // Every wrapper execs, so the spawned pid ends up being the stand-in's node process.
  const prep: string[] = [];
  const unshare: string[] = [];
  if (o.readOnlyRoot) {
    unshare.push('--mount', '--propagation', 'private');
    prep.push(`mount --bind ${shQuote(o.cwd)} ${shQuote(o.cwd)}`, 'mount -o remount,bind,ro /');
  }
  if (o.netnsRuleset !== undefined) {
    unshare.push('--net');
    prep.push('(ip link set lo up 2>/dev/null || true)');
    if (o.netnsRuleset) prep.push(`printf '%s' ${shQuote(o.netnsRuleset)} | nft -f -`);
  }
  const script = [...prep, `exec ${target}${o.stdoutNull ? ' >/dev/null 2>&1' : ''}`].join(' && ');
  const argv = unshare.length ? ['unshare', ...unshare, 'sh', '-c', script] : ['sh', '-c', script];
  const proc = spawn(argv[0]!, argv.slice(1), {
    cwd: o.cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const deadline = Date.now() + 20_000;
  while (!listening(proc.pid!, o.port)) {
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`stand-in exited before listening:\n${out}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`stand-in not listening on ${o.port} after 20s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: proc.pid!,
    proc,
    logs: () => out,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** A non-root account for tests: barycenter-test (created with useradd -r if absent), else nobody. */
export function testServiceUser(): { name: string; uid: number; gid: number; group: string } {
  const find = (name: string) =>
    readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((l) => l.split(':'))
      .find((f) => f[0] === name);
  let entry = find('barycenter-test');
  if (!entry) {
    try {
      execFileSync('useradd', ['-r', '-U', '-s', '/usr/sbin/nologin', '-d', '/nonexistent', '-M', 'barycenter-test'], {
        stdio: 'ignore',
      });
      entry = find('barycenter-test');
    } catch {
      /* fall back to nobody */
    }
  }
  entry ??= find('nobody')!;
  const gid = Number(entry[3]);
  const group =
    readFileSync('/etc/group', 'utf8')
      .split('\n')
      .map((l) => l.split(':'))
      .find((f) => Number(f[2]) === gid)?.[0] ?? String(gid);
  return { name: entry[0]!, uid: Number(entry[2]), gid, group };
}
