import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import type { Socket } from 'node:net';
import * as path from 'node:path';

/**
 * s3rver as a separate process on loopback: the S3 stand-in when there is neither TEST_S3_ENDPOINT
 * nor a Docker engine. A separate process, because s3rver needs --openssl-legacy-provider on
 * Node 20 (paginated ListObjectsV2 answers 500 otherwise) and must not share the test's event loop.
 */
export interface S3rverProcess {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

// The child exits (removing its directory) when its stdin closes, so it goes with us even if we
// are SIGKILLed.
const CHILD = `
const S3rver = require(process.env.S3RVER_MAIN);
new S3rver({ directory: process.env.S3RVER_DIR, address: '127.0.0.1', port: 0, silent: true })
  .run()
  .then(({ port }) => console.log('S3RVER_PORT=' + port))
  .catch((e) => { console.error(e); process.exit(1); });
process.stdin.on('end', () => {
  require('fs').rmSync(process.env.S3RVER_DIR, { recursive: true, force: true });
  process.exit(0);
}).resume();
`;

export async function startS3rver(opts: { timeoutMs?: number } = {}): Promise<S3rverProcess> {
  const dir = await mkdtemp(path.join(tmpdir(), 'barysafe-s3rver-'));
  const main = createRequire(import.meta.url).resolve('s3rver');
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD], {
    env: { ...process.env, S3RVER_MAIN: main, S3RVER_DIR: dir, NODE_OPTIONS: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error(`s3rver did not start within ${opts.timeoutMs ?? 15000} ms`)),
        opts.timeoutMs ?? 15000,
      );
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /S3RVER_PORT=(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`s3rver exited during startup (${code ?? sig}): ${stderr.trim()}`));
      });
    });
    child.stdout!.resume();
    detach(child);
    return {
      endpoint: `http://127.0.0.1:${port}`,
      accessKeyId: 'S3RVER', // s3rver's built-in account
      secretAccessKey: 'S3RVER',
      stop: async () => {
        await stopChild(child);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.ref();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.stdin?.end();
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

/** A forgotten stop() must not keep the test process alive; when it exits, stdin closes and the child follows. */
export function detach(child: ChildProcess): void {
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) (s as Socket | null)?.unref?.();
}
