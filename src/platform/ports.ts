import { createServer } from 'node:net';

/**
 * Free loopback ports for the scratch instance's public and admin listeners. Ports production
 * uses (from the manifest) are never handed out, even when they happen to be free here.
 */
export async function freeLoopbackPorts(count: number, avoid: readonly number[]): Promise<number[]> {
  const out: number[] = [];
  for (let tries = 0; out.length < count && tries < 100; tries++) {
    const p = await freeLoopbackPort();
    if (!avoid.includes(p) && !out.includes(p)) out.push(p);
  }
  if (out.length < count) throw new Error('no free port on 127.0.0.1 for the scratch instance');
  return out;
}

/** A port nothing listens on at 127.0.0.1 right now (the kernel's pick). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
