import { readdir, readFile, readlink } from 'node:fs/promises';

/**
 * Listening TCP sockets from /proc/net/tcp{,6} (proc(5)); read per process
 * (/proc/<pid>/net/…) so a process in its own network namespace is seen as it is.
 * Hand-written because no maintained npm package parses these tables without shelling out to ss.
 */

export interface ListeningSocket {
  address: string;
  port: number;
  inode: number;
  family: 4 | 6;
}

const TCP_LISTEN = '0A';

/** /proc/net/tcp stores an IPv4 address as one little-endian 32-bit hex word. */
function decodeV4(hex: string): string {
  const b = Buffer.from(hex, 'hex');
  return [b[3], b[2], b[1], b[0]].join('.');
}

/** IPv6: four 32-bit words, each little-endian. */
function decodeV6(hex: string): string {
  const out = Buffer.alloc(16);
  for (let w = 0; w < 4; w++) {
    const word = Buffer.from(hex.slice(w * 8, w * 8 + 8), 'hex');
    for (let i = 0; i < 4; i++) out[w * 4 + i] = word[3 - i]!;
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(out.readUInt16BE(i).toString(16));
  const text = groups.join(':');
  // Canonical short form via the URL parser (collapses zero runs, renders ::ffff:a.b.c.d).
  try {
    return new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return text;
  }
}

export function parseProcNetTcp(text: string, family: 4 | 6): ListeningSocket[] {
  const out: ListeningSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== TCP_LISTEN) continue;
    const [addrHex, portHex] = f[1]!.split(':');
    out.push({
      address: family === 4 ? decodeV4(addrHex!) : decodeV6(addrHex!),
      port: parseInt(portHex!, 16),
      inode: Number(f[9]),
      family,
    });
  }
  return out;
}

/** All listening sockets in the network namespace of pid (or of barysafe itself). */
export async function listeningSockets(pid: number | 'self' = 'self'): Promise<ListeningSocket[]> {
  const out: ListeningSocket[] = [];
  for (const [file, family] of [
    ['tcp', 4],
    ['tcp6', 6],
  ] as const) {
    try {
      out.push(...parseProcNetTcp(await readFile(`/proc/${pid}/net/${file}`, 'utf8'), family));
    } catch {
      // tcp6 is absent when IPv6 is disabled.
    }
  }
  return out;
}

/** The socket inodes a process holds open (needs the same uid or CAP_SYS_PTRACE to read its fds). */
export async function socketInodes(pid: number): Promise<Set<number>> {
  const inodes = new Set<number>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(Number(m[1]));
    } catch {
      // fd closed while we looked.
    }
  }
  return inodes;
}

/** The process holding a listening socket on port (scans every /proc/PID/fd), or undefined. */
export async function pidListeningOn(port: number): Promise<number | undefined> {
  const wanted = new Set((await listeningSockets()).filter((s) => s.port === port).map((s) => s.inode));
  if (wanted.size === 0) return undefined;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      for (const inode of await socketInodes(Number(entry))) if (wanted.has(inode)) return Number(entry);
    } catch {
      // gone, or not ours to read.
    }
  }
  return undefined;
}
