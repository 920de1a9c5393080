/**
 * Where does barysafe's backup and restore time go? Times each stage of the artifact pipeline in
 * isolation, in this process, over one file (default: a fresh file of random bytes):
 *
 *   node dist/bench/stages.js [file] [--mib N]
 *
 * Stages, each over the whole file: plain read; SHA-256; node:crypto's chacha20-poly1305 alone;
 * the age payload (PayloadEncryptor / PayloadDecryptor, no streams); encryptStream and
 * decryptStream (barysafe's seam, as streams); storeArtifact's stream (encrypt → SHA-256) drained
 * and into a FileStorage (the whole path of `barysafe backup`); typage's pure-JS cipher and the
 * age CLI for reference. Prints MiB/s of wall time, MiB/s of this process's CPU time (steadier on
 * a shared machine), the peak RSS seen during each stage, and the load average.
 */
import { spawn } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { decryptStream, encryptStream, newIdentity } from '../src/crypto/age.js';
import { PayloadDecryptor, PayloadEncryptor, payloadKey } from '../src/crypto/age-payload.js';
import { storeArtifact } from '../src/backup/store-artifact.js';
import { FileStorage } from '../src/repository/file-storage.js';

const MiB = 1024 * 1024;

export interface StageResult {
  name: string;
  ms: number;
  mibps: number;
  cpuMibps: number;
  peakRssMiB: number;
}

async function timed(name: string, bytes: number, fn: () => Promise<void>): Promise<StageResult> {
  global.gc?.();
  let peak = process.memoryUsage().rss;
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(t);
  peak = Math.max(peak, process.memoryUsage().rss);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const r = { name, ms, mibps: bytes / MiB / (ms / 1000), cpuMibps: bytes / MiB / cpuS, peakRssMiB: peak / MiB };
  process.stdout.write(
    `${name.padEnd(62)} ${(ms / 1000).toFixed(2).padStart(6)} s ${r.mibps.toFixed(0).padStart(6)} MiB/s ${r.cpuMibps.toFixed(0).padStart(6)} MiB/s CPU   peak RSS ${r.peakRssMiB.toFixed(0)} MiB\n`,
  );
  return r;
}

async function drain(s: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of s) void _;
}

const discard = () =>
  new Writable({
    highWaterMark: MiB,
    write: (_c, _e, cb) => cb(),
    writev: (_c, cb) => cb(),
  });

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
    const { identity, recipient } = await newIdentity();
    const read = (f = file!) => createReadStream(f, { highWaterMark: MiB });
    const cipherFile = path.join(dir, 'cipher.age');
    process.stdout.write(
      `stages over ${file} (${(bytes / MiB).toFixed(0)} MiB), node ${process.version}, ${os.cpus().length} CPUs, load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}\n`,
    );
    const results: StageResult[] = [];
    results.push(await timed('read file (1 MiB chunks)', bytes, () => drain(read())));
    results.push(
      await timed('SHA-256 (node:crypto)', bytes, async () => {
        const h = createHash('sha256');
        for await (const c of read()) h.update(c as Buffer);
        h.digest();
      }),
    );
    const chunk = Buffer.alloc(64 * 1024);
    const n64k = Math.ceil(bytes / chunk.length);
    results.push(
      await timed('node:crypto chacha20-poly1305 alone (64 KiB, in memory)', bytes, async () => {
        const key = randomBytes(32);
        const nonce = Buffer.alloc(12);
        for (let i = 0; i < n64k; i++) {
          const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
          c.update(chunk);
          c.final();
          c.getAuthTag();
        }
      }),
    );
    const key = payloadKey(randomBytes(16), randomBytes(16));
    const mib1 = randomBytes(MiB);
    const sealed: Buffer[] = [];
    results.push(
      await timed('age payload encrypt (PayloadEncryptor, 1 MiB pushes, in memory)', bytes, async () => {
        const enc = new PayloadEncryptor(key);
        for (let off = 0; off < bytes; off += MiB)
          sealed.push(...enc.push(mib1.subarray(0, Math.min(MiB, bytes - off))));
        sealed.push(...enc.end());
      }),
    );
    const sealedAll = Buffer.concat(sealed);
    sealed.length = 0;
    results.push(
      await timed('age payload decrypt (PayloadDecryptor, 1 MiB pushes, in memory)', bytes, async () => {
        const dec = new PayloadDecryptor(key);
        for (let off = 0; off < sealedAll.length; off += MiB) dec.push(sealedAll.subarray(off, off + MiB));
        dec.end();
      }),
    );
    results.push(
      await timed('encryptStream: file → age → file', bytes, async () =>
        pipeline(await encryptStream([recipient], read()), createWriteStream(cipherFile, { highWaterMark: MiB })),
      ),
    );
    results.push(
      await timed('decryptStream: file → age → discard', bytes, async () =>
        pipeline(await decryptStream([identity], read(cipherFile)), discard()),
      ),
    );
    results.push(
      await timed('storeArtifact stream: encrypt → SHA-256 (no storage)', bytes, async () => {
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
        const storage = new FileStorage(pathToFileURL(path.join(dir, 'repo')).href);
        await storeArtifact(storage, [recipient], 'snap/x.age', read());
      }),
    );
    const typageMiB = Math.min(bytes, 64 * MiB);
    results.push(
      await timed(`typage's pure-JS cipher alone (64 KiB, ${typageMiB / MiB} MiB, reference)`, typageMiB, async () => {
        const k = randomBytes(32);
        const nonce = new Uint8Array(12);
        for (let off = 0; off < typageMiB; off += chunk.length) chacha20poly1305(k, nonce).encrypt(chunk);
      }),
    );
    const identityFile = path.join(dir, 'identity.txt');
    await writeFile(identityFile, identity + '\n', { mode: 0o600 });
    for (const [label, argv] of [
      ['age CLI encrypt (child process, wall time only)', ['-r', recipient, '-o', '/dev/null', file]],
      ['age CLI decrypt (child process, wall time only)', ['-d', '-i', identityFile, '-o', '/dev/null', cipherFile]],
    ] as const) {
      results.push(
        await timed(label, bytes, async () => {
          const c = spawn('age', [...argv], { stdio: 'inherit' });
          await new Promise((r) => c.once('close', r));
        }),
      );
    }
    if (process.env.BENCH_STAGES_JSON) process.stdout.write(JSON.stringify(results) + '\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
