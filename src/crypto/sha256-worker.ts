/**
 * The worker of offloaded-sha256.ts (run as a worker thread, never imported): hashes the slabs it
 * is sent, in order, and hands each back for reuse; `digest` answers with the hex digest.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

const hash = createHash('sha256');
parentPort!.on('message', (m: { slab: ArrayBuffer; length: number } | 'digest') => {
  if (m === 'digest') {
    parentPort!.postMessage({ digest: hash.digest('hex') });
    return;
  }
  hash.update(new Uint8Array(m.slab, 0, m.length));
  parentPort!.postMessage({ slab: m.slab }, [m.slab]);
});
