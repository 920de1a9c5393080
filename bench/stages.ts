/**
 * Where does barysafe's backup time go? Times each stage of the artifact pipeline in isolation,
 * in this process, over one file (default: a fresh file of random bytes):
 *
 *   node dist/bench/stages.js [file] [--mib N]
 *
 * Stages, each on the whole file: plain read; read → Readable.toWeb → Readable.fromWeb (the bridge
 * only); typage's payload cipher on 64 KiB chunks (no streams); encryptStream (barysafe's seam);
 * storeArtifact's stream (count → encrypt → SHA-256) drained; storeArtifact into a FileStorage
 * (the whole path of `barysafe backup`); and node:crypto's chacha20-poly1305 for reference.
 * Prints MiB/s and the peak RSS seen during each stage.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { encryptStream, newIdentity } from '../src/crypto/age.js';
import { storeArtifact } from '../src/backup/store-artifact.js';
import { FileStorage } from '../src/repository/file-storage.js';

const MiB = 1024 * 1024;

async function timed(
  name: string,
  bytes: number,
  fn: () => Promise<void>,
): Promise<{ name: string; ms: number; mibps: number; peakRssMiB: number }> {
  global.gc?.();
  let peak = process.memoryUsage().rss;
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  clearInterval(t);
  peak = Math.max(peak, process.memoryUsage().rss);
  const r = { name, ms, mibps: bytes / MiB / (ms / 1000), peakRssMiB: peak / MiB };
  process.stdout.write(
    `${name.padEnd(58)} ${(ms / 1000).toFixed(2).padStart(7)} s ${r.mibps.toFixed(1).padStart(8)} MiB/s   peak RSS ${r.peakRssMiB.toFixed(0)} MiB\n`,
  );
  return r;
}

async function drain(s: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of s) void _;
}

async function main() {
  const args = process.argv.slice(2);
  const mibArg = args.indexOf('--mib');
  const sizeMiB = mibArg >= 0 ? Number(args[mibArg + 1]) : 256;
  const positional = args.filter((a, i) => !a.startsWith('--') && (mibArg < 0 || i !== mibArg + 1));
  const dir = await mkdtemp(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'barysafe-stages-'));
  try {
    let file = positional[0];
    if (!file) {
      file = path.join(dir, 'random.bin');
      const out = createWriteStream(file);
      for (let i = 0; i < sizeMiB; i++)
        if (!out.write(randomBytes(MiB))) await new Promise<void>((r) => out.once('drain', () => r()));
      await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
    }
    const bytes = statSync(file).size;
    const { recipient } = await newIdentity();
    const read = () => createReadStream(file!, { highWaterMark: MiB });
    process.stdout.write(`stages over ${file} (${(bytes / MiB).toFixed(0)} MiB), node ${process.version}\n`);
    const results = [];
    results.push(await timed('read file (1 MiB chunks)', bytes, () => drain(read())));
    results.push(
      await timed('read → Readable.toWeb → Readable.fromWeb', bytes, () =>
        drain(Readable.fromWeb(Readable.toWeb(read()) as never)),
      ),
    );
    results.push(
      await timed('typage cipher alone (@noble chacha20poly1305, 64 KiB)', bytes, async () => {
        const key = randomBytes(32);
        const nonce = new Uint8Array(12);
        const buf = new Uint8Array(64 * 1024);
        for (let off = 0; off < bytes; off += buf.length) chacha20poly1305(key, nonce).encrypt(buf);
      }),
    );
    results.push(
      await timed('node:crypto chacha20-poly1305 alone (64 KiB)', bytes, async () => {
        const key = randomBytes(32);
        const buf = Buffer.alloc(64 * 1024);
        for (let off = 0; off < bytes; off += buf.length) {
          const c = createCipheriv('chacha20-poly1305', key, randomBytes(12), { authTagLength: 16 });
          c.update(buf);
          c.final();
          c.getAuthTag();
        }
      }),
    );
    results.push(
      await timed('encryptStream (barysafe seam: toWeb → typage → fromWeb)', bytes, async () =>
        drain(await encryptStream([recipient], read())),
      ),
    );
    results.push(
      await timed('storeArtifact stream: count → encrypt → sha256 (no storage)', bytes, async () => {
        // A storage that only counts: storeArtifact checks the size it reports afterwards.
        let size = 0;
        const counting = {
          put: async (k: string, body: Readable) => {
            for await (const c of body) size += (c as Buffer).length;
            return { key: k, size };
          },
          head: async (k: string) => ({ key: k, size }),
          delete: async () => undefined,
        };
        await storeArtifact(counting as never, [recipient], 'x.age', read());
      }),
    );
    results.push(
      await timed('storeArtifact into FileStorage (the whole backup path)', bytes, async () => {
        const repo = path.join(dir, 'repo');
        const storage = new FileStorage(pathToFileURL(repo).href);
        await storeArtifact(storage, [recipient], 'snap/x.age', read());
      }),
    );
    results.push(
      await timed('age CLI for reference (child process)', bytes, async () => {
        const { spawn } = await import('node:child_process');
        const c = spawn('age', ['-r', recipient, '-o', '/dev/null', file!], { stdio: 'inherit' });
        await new Promise((r) => c.once('close', r));
      }),
    );
    if (process.env.BENCH_STAGES_JSON) process.stdout.write(JSON.stringify(results) + '\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
