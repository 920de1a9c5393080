// Attacks by whoever can write the repository (or answer as its endpoint): symlinks in a file://
// repository (review V3), resource exhaustion (V11) and stored bytes that are not what was
// signed (V16). Each reproduces the review's attack and shows it fails and nothing is lost.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readdirSync, truncateSync, utimesSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { ATTACKER_GID, ATTACKER_UID, attackerSh, canImpersonate } from './support/attacker.js';
import { CLI, makeDeployment, runCli, setupBarysafe, type Deployment } from './support/deployments.js';
import { ExitCode } from '../src/errors.js';
import { FileStorage } from '../src/repository/file-storage.js';
import { Repository } from '../src/repository/repository.js';
import { acquireWriterLock } from '../src/repository/lock.js';
import type { Storage } from '../src/repository/storage.js';

async function backedUp(d: Deployment, times = 1) {
  const repoRoot = path.join(d.dir.path, 'repository');
  const s = await setupBarysafe(d, { url: `file://${repoRoot}` });
  const ids: string[] = [];
  for (let i = 0; i < times; i++) {
    const b = await runCli(['--config', s.configPath, '--json', 'backup']);
    assert.equal(b.code, 0, b.stderr);
    ids.push((JSON.parse(b.stdout) as { snapshot: { id: string } }).snapshot.id);
  }
  return { ...s, repoRoot, ids };
}

/** Hands the whole repository to the attacker, as a shared mount another account writes to. */
function giveRepositoryToAttacker(d: Deployment, repoRoot: string) {
  chmodSync(d.dir.path, 0o755); // so the attacker can reach it
  const walk = (p: string) => {
    chownSync(p, ATTACKER_UID, ATTACKER_GID);
    for (const e of readdirSync(p, { withFileTypes: true })) {
      const c = path.join(p, e.name);
      if (e.isDirectory()) walk(c);
      else chownSync(c, ATTACKER_UID, ATTACKER_GID);
    }
  };
  walk(repoRoot);
}

const threeDaysAgo = () => new Date(Date.now() - 3 * 86400_000);

describe('a file:// repository is walked without following links', { skip: !canImpersonate && 'needs root' }, () => {
  test('V3: a .barysafe-tmp symlink planted by a repository writer makes the backup refuse; the victim directory keeps every file', async () => {
    const d = await makeDeployment();
    try {
      const s = await backedUp(d);
      const victim = path.join(d.dir.path, 'victim');
      await mkdir(victim);
      for (const f of ['private_key.pem', 'jwks.json'])
        await writeFile(path.join(victim, f), await readFile(path.join(d.workdir, 'data', f)));
      await writeFile(path.join(victim, '0123456789abcdef.tmp'), 'named like a barysafe temp file');
      for (const f of readdirSync(victim)) utimesSync(path.join(victim, f), threeDaysAgo(), threeDaysAgo());
      await writeFile(path.join(victim, 'fresh.txt'), 'new\n');
      giveRepositoryToAttacker(d, s.repoRoot);
      const tmp = path.join(s.repoRoot, '.barysafe-tmp');
      const planted = await attackerSh(
        `rm -rf ${JSON.stringify(tmp)} && ln -s ${JSON.stringify(victim)} ${JSON.stringify(tmp)}`,
      );
      assert.equal(planted.code, 0, planted.stderr);

      const b = await runCli(['--config', s.configPath, 'backup']);
      assert.equal(b.code, ExitCode.REPOSITORY, b.stderr);
      assert.match(b.stderr, /refusing to follow the symlink .*\.barysafe-tmp/);
      assert.deepEqual(
        readdirSync(victim).sort(),
        ['0123456789abcdef.tmp', 'fresh.txt', 'jwks.json', 'private_key.pem'],
        'every victim file is still there, even the one with a temp-like name',
      );
    } finally {
      await d.dir.cleanup();
    }
  });

  test('V3: symlinked snapshots/ and drills/ are refused for writing and for listing alike; nothing lands in their targets', async () => {
    const d = await makeDeployment();
    try {
      const s = await backedUp(d);
      const elsewhere = path.join(d.dir.path, 'elsewhere');
      await mkdir(elsewhere);
      giveRepositoryToAttacker(d, s.repoRoot);
      const snaps = path.join(s.repoRoot, 'snapshots');
      const moved = await attackerSh(
        `mv ${JSON.stringify(snaps)} ${JSON.stringify(snaps + '.real')} && ln -s ${JSON.stringify(elsewhere)} ${JSON.stringify(snaps)}`,
      );
      assert.equal(moved.code, 0, moved.stderr);
      const list = await runCli(['--config', s.configPath, 'snapshots']);
      assert.equal(list.code, ExitCode.REPOSITORY, 'the listing does not say "no snapshots"');
      assert.match(list.stderr, /refusing to follow the symlink .*snapshots/);
      const b = await runCli(['--config', s.configPath, 'backup']);
      assert.equal(b.code, ExitCode.REPOSITORY, b.stderr);
      assert.match(b.stderr, /refusing to follow the symlink .*snapshots/);
      assert.deepEqual(await readdir(elsewhere), [], 'the backup wrote nothing through the link');

      // drills/ -> a victim directory: the drill record (written by `restore --verify`) is refused the same way.
      const drills = path.join(s.repoRoot, 'drills');
      await attackerSh(
        `rm -rf ${JSON.stringify(drills)}; ln -s ${JSON.stringify(elsewhere)} ${JSON.stringify(drills)}`,
      );
      const repo = new Repository(new FileStorage(pathToFileURL(s.repoRoot).href));
      await assert.rejects(repo.putDocument('drills/x.json', { a: 1 }), /refusing to follow the symlink .*drills/);
      assert.deepEqual(await readdir(elsewhere), []);

      // A manifest that is a symlink (to a file the attacker wants root to read) is not read.
      await attackerSh(`rm ${JSON.stringify(snaps)} && mv ${JSON.stringify(snaps + '.real')} ${JSON.stringify(snaps)}`);
      const m = path.join(snaps, s.ids[0]!, 'manifest.json');
      await attackerSh(`rm ${JSON.stringify(m)} && ln -s /etc/shadow ${JSON.stringify(m)}`);
      const r = await runCli(['--config', s.configPath, 'restore', s.ids[0]!, '--to', path.join(d.dir.path, 'r')]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /refusing to follow the symlink .*manifest\.json/);
    } finally {
      await d.dir.cleanup();
    }
  });

  test('clean-up removes only barysafe’s own temp files: a dead writer’s at once, others after a day, anything else never', async () => {
    const d = await makeDeployment();
    try {
      const s = await backedUp(d);
      const tmp = path.join(s.repoRoot, '.barysafe-tmp');
      const { createHash } = await import('node:crypto');
      const tag = createHash('sha256')
        .update((await import('node:os')).hostname())
        .digest('hex')
        .slice(0, 8);
      const dead = `w-${tag}-999999999-0123456789abcdef.tmp`;
      await writeFile(path.join(tmp, dead), 'partial ciphertext of a killed backup');
      await writeFile(path.join(tmp, 'fedcba9876543210.tmp'), 'old-style leftover');
      utimesSync(path.join(tmp, 'fedcba9876543210.tmp'), threeDaysAgo(), threeDaysAgo());
      await writeFile(path.join(tmp, 'notes.txt'), 'not ours');
      utimesSync(path.join(tmp, 'notes.txt'), threeDaysAgo(), threeDaysAgo());
      await symlink('/etc/passwd', path.join(tmp, 'aaaaaaaaaaaaaaaa.tmp'));
      const b = await runCli(['--config', s.configPath, 'backup']);
      assert.equal(b.code, 0, b.stderr);
      assert.deepEqual((await readdir(tmp)).sort(), ['aaaaaaaaaaaaaaaa.tmp', 'notes.txt']);
      assert.ok(existsSync('/etc/passwd'));
    } finally {
      await d.dir.cleanup();
    }
  });
});

/** Runs the CLI under GNU time; returns its exit code, output and peak RSS in MiB. */
function runCliMeasured(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stderr: string; stdout: string; rssMiB: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn('/usr/bin/time', ['-f', 'MAXRSS %M', process.execPath, CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BARYSAFE_LOG_LEVEL: 'info', ...env },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.once('error', reject);
    p.once('close', (code) => {
      const kib = Number(/MAXRSS (\d+)/.exec(stderr)?.[1] ?? NaN);
      resolve({ code, stdout, stderr, rssMiB: kib / 1024 });
    });
  });
}

describe('bounded by the manifest, not by the bucket', () => {
  test('V11: an artifact swapped for a 1 GiB file is refused as soon as it passes the recorded size', async () => {
    const d = await makeDeployment();
    try {
      const s = await backedUp(d);
      const obj = path.join(s.repoRoot, 'snapshots', s.ids[0]!, 'private_key.pem.age');
      truncateSync(obj, 1024 ** 3);
      const to = path.join(d.dir.path, 'r');
      const r = await runCli(['--config', s.configPath, 'restore', 'latest', '--to', to]);
      assert.equal(r.code, ExitCode.INTEGRITY, r.stderr);
      assert.match(
        r.stderr,
        /private_key\.pem\.age \(private_key\.pem\) is corrupt: larger than the \d+ bytes .*download stopped/,
      );
      assert.ok(!existsSync(path.join(to, 'private_key.pem')));
    } finally {
      await d.dir.cleanup();
    }
  });

  test('V11: a 1.5 GB lock file is not read into memory; the backup takes the lock over', async () => {
    const d = await makeDeployment();
    try {
      const s = await backedUp(d);
      const lock = path.join(s.repoRoot, 'locks', 'writer.json');
      await mkdir(path.dirname(lock), { recursive: true });
      await writeFile(lock, '');
      truncateSync(lock, 1.5 * 1024 ** 3);
      const r = await runCliMeasured(['--config', s.configPath, 'backup']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.rssMiB < 400, `peak RSS ${r.rssMiB.toFixed(0)} MiB`);
    } finally {
      await d.dir.cleanup();
    }
  });

  test('V11: the lock reader stops after 64 KiB of an endless lock object', async () => {
    let served = 0;
    const storage: Storage = {
      displayUrl: 'mem://',
      put: async () => {
        if (served === 0) {
          served = -1;
          const { StorageExistsError } = await import('../src/repository/storage.js');
          throw new StorageExistsError('locks/writer.json');
        }
        return { key: 'locks/writer.json', size: 1 };
      },
      get: async () =>
        Readable.from(
          (function* () {
            served = 0;
            for (;;) {
              served += 16384;
              yield Buffer.alloc(16384, 0x20);
            }
          })(),
        ),
      getRange: async () => Buffer.alloc(0),
      head: async () => null,
      list: async function* () {},
      delete: async () => {},
      probeWritable: async () => {},
    };
    const lock = await acquireWriterLock(storage, 'test');
    await lock.release();
    assert.ok(served <= 128 * 1024, `read ${served} bytes of the lock`);
  });

  test('V11: an S3 endpoint that never ends its listing gets a clear error, with memory bounded', async () => {
    let pages = 0;
    const server = createServer((req, res) => {
      pages++;
      const keys = Array.from(
        { length: 1000 },
        (_, i) => `<Contents><Key>snapshots/junk-${pages}-${i}/x</Key><Size>1</Size></Contents>`,
      ).join('');
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>snapshots/</Prefix><KeyCount>1000</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated><NextContinuationToken>t${pages}</NextContinuationToken>${keys}</ListBucketResult>`,
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const d = await makeDeployment();
    try {
      const s = await setupBarysafe(d, {
        url: 's3://b/prefix',
        extra: `endpoint = "http://127.0.0.1:${port}"\nregion = "us-east-1"\nforce_path_style = true`,
      });
      const r = await runCliMeasured(['--config', s.configPath, 'snapshots'], {
        AWS_ACCESS_KEY_ID: 'x',
        AWS_SECRET_ACCESS_KEY: 'y',
      });
      assert.equal(r.code, ExitCode.REPOSITORY, r.stderr);
      assert.match(r.stderr, /exceeds 1100 pages/);
      assert.ok(r.rssMiB < 600, `peak RSS ${r.rssMiB.toFixed(0)} MiB`);
    } finally {
      server.close();
      await d.dir.cleanup();
    }
  });

  test('V11: a manifest with 1e400 or 100 000 levels of nesting is listed as invalid (exit 0), never a crash', async () => {
    const d = await makeDeployment();
    try {
      const s = await backedUp(d, 3);
      const mf = (id: string) => path.join(s.repoRoot, 'snapshots', id, 'manifest.json');
      const text = await readFile(mf(s.ids[1]!), 'utf8');
      await writeFile(mf(s.ids[1]!), text.replace(/"plaintext_size": \d+/, '"plaintext_size": 1e400'));
      await writeFile(
        mf(s.ids[2]!),
        text.replace('"warnings": []', `"warnings": ${'['.repeat(100_000)}${']'.repeat(100_000)}`),
      );
      const list = await runCli(['--config', s.configPath, '--json', 'snapshots']);
      assert.equal(list.code, 0, list.stderr);
      const rows = (JSON.parse(list.stdout) as { snapshots: Array<{ id: string; signature: string; error?: string }> })
        .snapshots;
      assert.deepEqual(
        rows.map((r) => r.signature),
        ['verified', 'INVALID', 'INVALID'],
      );
      assert.match(rows[1]!.error!, /not finite/);
      assert.match(rows[2]!.error!, /nested deeper than 32/);
      const chk = await runCli(['--config', s.configPath, 'check', '--deployment', 'plain', '--only', 'backup']);
      assert.notEqual(chk.code, ExitCode.INTERNAL, chk.stderr);
      assert.doesNotMatch(chk.stdout + chk.stderr, /internal error|Maximum call stack|Infinity is not allowed/);
      const r = await runCli(['--config', s.configPath, 'restore', s.ids[0]!, '--to', path.join(d.dir.path, 'r')]);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await d.dir.cleanup();
    }
  });
});

describe('what is verified is exactly what is stored', () => {
  test('V16: a duplicate "artifacts" key before the real one, escapes or other number forms are refused, though JSON.parse would see signed values', async () => {
    const d = await makeDeployment();
    try {
      const s = await backedUp(d);
      const mf = path.join(s.repoRoot, 'snapshots', s.ids[0]!, 'manifest.json');
      const original = await readFile(mf, 'utf8');
      const evil = `{\n  "artifacts": [{"name": "../../../etc/evil", "kind": "config", "object": "x", "source": "x", "size": 1, "sha256": "x", "plaintext_size": 1}],${original.slice(1)}`;
      const variants = {
        'duplicate key': evil,
        escape: original.replace('"signature"', '"\\u0073ignature"'),
        'number form': original.replace(/"size": (\d+)/, (_m, n: string) => `"size": ${Number(n) / 10}e1`),
      };
      for (const [what, text] of Object.entries(variants)) {
        await writeFile(mf, text);
        const to = path.join(d.dir.path, `r-${what.replace(/\s/g, '-')}`);
        const r = await runCli(['--config', s.configPath, 'restore', 'latest', '--to', to]);
        assert.equal(r.code, ExitCode.INTEGRITY, `${what}: ${r.stderr}`);
        assert.match(r.stderr, /not byte for byte the document barysafe signed/, what);
        assert.ok(!existsSync(path.join(d.dir.path, 'etc')), `${what}: nothing escaped`);
      }
      await writeFile(mf, original);
      const ok = await runCli(['--config', s.configPath, 'restore', 'latest', '--to', path.join(d.dir.path, 'good')]);
      assert.equal(ok.code, 0, ok.stderr);
    } finally {
      await d.dir.cleanup();
      await rm(path.join(d.dir.path, 'etc'), { recursive: true, force: true });
    }
  });
});
