import { existsSync, readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';

/**
 * What the scratch instance really did, read from /proc after it booted — not what its config
 * was meant to make it do: which addresses its processes listen on (every TCP listener and bound
 * UDP socket must be loopback) and which files they hold open (all inside the scratch directory).
 * An instance that took production's database, key or address from somewhere the drill did not
 * foresee shows up here, and the drill fails.
 */
export interface ScratchAudit {
  pids: number[];
  /** e.g. "127.0.0.1:40123 (tcp)". */
  listeners: string[];
  /** Open files outside the scratch directory. */
  outside: string[];
  problems: string[];
}

/** Devices any program may hold open; nothing of production. */
const HARMLESS = /^\/dev\/(null|zero|full|random|urandom|tty|ptmx|pts\/\d+)$/;

export function auditScratch(sessionLeader: number, scratchDir: string): ScratchAudit | { unavailable: string } {
  if (!existsSync('/proc/self/stat')) return { unavailable: 'no /proc on this system' };
  const real = realpathSync(scratchDir);
  const pids = sessionOf(sessionLeader);
  if (pids.length === 0) return { unavailable: `no process of session ${sessionLeader} is left to inspect` };
  const sockets = new Set<string>();
  const outside = new Set<string>();
  const netnsSeen = new Map<string, number>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // exited meanwhile
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const sock = /^socket:\[(\d+)\]$/.exec(target);
      if (sock) sockets.add(sock[1]!);
      if (!target.startsWith('/')) continue; // pipe:, anon_inode:, socket:
      const file = target.replace(/ \(deleted\)$/, '');
      if (HARMLESS.test(file) || file === real || file.startsWith(real + path.sep)) continue;
      outside.add(file);
    }
    try {
      netnsSeen.set(readlinkSync(`/proc/${pid}/ns/net`), pid);
    } catch {
      /* exited */
    }
  }
  const listeners: string[] = [];
  const problems: string[] = [];
  for (const pid of netnsSeen.values()) {
    for (const [table, listening] of [
      ['tcp', '0A'],
      ['tcp6', '0A'],
      ['udp', '07'],
      ['udp6', '07'],
    ] as const) {
      let text = '';
      try {
        text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length < 10 || f[3] !== listening || !sockets.has(f[9]!)) continue;
        const { address, port, loopback } = decodeAddress(f[1]!);
        if (port === 0) continue;
        const shown = `${address}:${port} (${table.replace('6', '')})`;
        listeners.push(shown);
        if (!loopback) problems.push(`it listens on ${shown}, not on loopback only`);
      }
    }
  }
  for (const f of outside) problems.push(`it holds ${f} open, outside its scratch directory`);
  return { pids, listeners: [...new Set(listeners)].sort(), outside: [...outside].sort(), problems };
}

/** Every process whose session is `leader` (launchers start the instance as a session leader). */
function sessionOf(leader: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(name) === leader || Number(rest[3]) === leader) out.push(Number(name));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** /proc/net/tcp's "0100007F:1F90" (IPv4) or 32-hex (IPv6) local address, in words. */
export function decodeAddress(hexAddr: string): { address: string; port: number; loopback: boolean } {
  const [hex, portHex] = hexAddr.split(':') as [string, string];
  const port = parseInt(portHex, 16);
  const words = (hex.match(/.{8}/g) ?? []).map((w) => (w.match(/../g) ?? []).reverse().join(''));
  if (hex.length === 8) {
    const b = words[0]!.match(/../g)!.map((x) => parseInt(x, 16));
    const address = b.join('.');
    return { address, port, loopback: b[0] === 127 };
  }
  const full = words.join('');
  const groups = (full.match(/.{4}/g) ?? []).map((g) => g.replace(/^0+(?=.)/, '').toLowerCase());
  const address = `[${groups.join(':')}]`;
  const loopback = /^0{31}1$/.test(full) || /^0{20}ffff7f/i.test(full);
  return { address, port, loopback };
}
