import net from 'node:net';
import ipaddr from 'ipaddr.js';

/** Where a bound or announced address can be reached from. */
export type AddressScope = 'loopback' | 'wildcard' | 'private' | 'public';

const PRIVATE_RANGES = new Set(['private', 'linkLocal', 'carrierGradeNat', 'uniqueLocal']);

export function addressScope(address: string): AddressScope {
  if (!ipaddr.isValid(address)) return 'public'; // a name: assume the worst
  const range = ipaddr.process(address).range();
  if (range === 'unspecified') return 'wildcard';
  if (range === 'loopback') return 'loopback';
  return PRIVATE_RANGES.has(range) ? 'private' : 'public';
}

/** The address to reach a listener bound to `host` from this machine: a wildcard means loopback. */
export function reachableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host.replace(/^\[(.*)\]$/, '$1');
}

/** `host` as it goes into a URL's authority (IPv6 bracketed). */
export function urlHost(host: string): string {
  return net.isIPv6(host) ? `[${host}]` : host;
}

/** Tries a TCP connection; resolves true when something accepts it. */
export function tcpReachable(host: string, port: number, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
