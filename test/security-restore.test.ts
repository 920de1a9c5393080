// Restore never touches a live deployment and is all-or-nothing: the review's attacks on
// `restore --to` (newcomer D1–D3, security V7, V13, V14, the key check of V1) and on credentials
// (V8), each reproduced and shown to fail with nothing lost.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { attackerSh, canImpersonate, sharedArea, startAttackerScript } from './support/attacker.js';
import { CLI, makeDeployment, run, runCli, setupBarysafe, type Deployment } from './support/deployments.js';
import { getPostgres, type TestPostgres } from './support/services.js';
import { ExitCode } from '../src/errors.js';
import { encryptStream } from '../src/crypto/age.js';
import { loadSigner } from '../src/crypto/signing.js';
import { serialize, signDocument } from '../src/repository/signed-document.js';
import type { Manifest } from '../src/repository/manifest.js';
import { Readable } from 'node:stream';

const skip = canImpersonate ? false : 'needs root (mounts, the unprivileged attacker)';

async function backedUp(d: Deployment, extraToml = '') {
  const repoRoot = path.join(d.dir.path, 'repository');
  const s = await setupBarysafe(d, { url: `file://${repoRoot}` });
  if (extraToml) await writeFile(s.configPath, (await readFile(s.configPath, 'utf8')) + extraToml);
  const b = await runCli(['--config', s.configPath, '--json', 'backup']);
  assert.equal(b.code, 0, b.stderr);
  const id = (JSON.parse(b.stdout) as { snapshot: { id: string } }).snapshot.id;
  return { ...s, repoRoot, id, snapDir: path.join(repoRoot, 'snapshots', id) };
}

const sha = async (f: string) =>
  createHash('sha256')
    .update(await readFile(f))
    .digest('hex');

/** Re-signs a manifest with the repository's real signing key (what a stolen key or a signer bug allows). */
async function resign(configDir: string, manifestFile: string, change: (m: Manifest) => void) {
  const m = JSON.parse(await readFile(manifestFile, 'utf8')) as Manifest;
  delete m.signature;
  change(m);
  const signer = await loadSigner(path.join(configDir, 'signing.pem'));
  await writeFile(manifestFile, serialize(signDocument(m, signer)));
}

describe('restore never touches the live deployment', { skip }, () => {
  test('D1: a symlink to the live workdir, a symlink to its data dir and a bind mount of it are all refused; the live DB keeps rows written after the snapshot', async () => {
    const d = await makeDeployment({ keepRunning: true });
    const bind = path.join(d.dir.path, 'bindlv');
    let mounted = false;
    try {
      const s = await backedUp(d);
      const db = path.join(d.workdir, 'barycenter.db');
      const w = new Database(db);
      w.prepare("INSERT INTO properties(owner, key, value, updated_at) VALUES ('after-snapshot', 'k', 'v', 1)").run();
      w.close();
      const keyBefore = await sha(path.join(d.workdir, 'data/private_key.pem'));
      const link = path.join(d.dir.path, 'lv-link');
      await symlink(d.workdir, link);
      await mkdir(bind);
      const m = await run('mount', ['--bind', d.workdir, bind]);
      assert.equal(m.code, 0, m.stderr);
      mounted = true;
      for (const to of [d.workdir, link, path.join(link, 'data'), bind, path.join(bind, 'data')]) {
        const r = await runCli(['--config', s.configPath, 'restore', 'latest', '--to', to, '--force']);
        assert.equal(r.code, ExitCode.USAGE, `${to}: ${r.stderr}`);
        assert.match(r.stderr, /refusing to restore into .*live path of the Barycenter that answers/, to);
      }
      // And with the service stopped: still a live path of the deployment.
      await d.standin!.stop();
      const stopped = await runCli(['--config', s.configPath, 'restore', 'latest', '--to', bind, '--force']);
      assert.equal(stopped.code, ExitCode.USAGE, stopped.stderr);
      assert.match(stopped.stderr, /live path of the Barycenter deployment — Barycenter's working directory/);

      const r = new Database(db, { readonly: true });
      assert.equal(
        (r.prepare("SELECT count(*) AS n FROM properties WHERE owner = 'after-snapshot'").get() as { n: number }).n,
        1,
        'the row written after the snapshot is still there',
      );
      r.close();
      assert.equal(await sha(path.join(d.workdir, 'data/private_key.pem')), keyBefore, 'the live key is untouched');
      assert.deepEqual(
        readdirSync(d.workdir).filter((n) => /config\.toml|\.barysafe|private_key/.test(n)),
        [],
        'no restored file landed in the workdir',
      );
    } finally {
      if (mounted) await run('umount', [bind]);
      await d.standin?.stop();
      await d.dir.cleanup();
    }
  });

  test('V7: a --to another user created (or can write, or reaches through a link) is refused before any plaintext is written', async () => {
    const area = await sharedArea();
    const d = await makeDeployment();
    try {
      const s = await backedUp(d);
      const theirs = path.join(area.tmp, 'restored');
      assert.equal((await attackerSh(`mkdir -m 777 ${JSON.stringify(theirs)}`)).code, 0);
      const link = path.join(area.tmp, 'restored-link');
      assert.equal((await attackerSh(`ln -s ${JSON.stringify(area.attackerDir)} ${JSON.stringify(link)}`)).code, 0);
      const mine777 = path.join(area.root, 'mine777');
      await mkdir(mine777, { mode: 0o777 });
      await (await import('node:fs/promises')).chmod(mine777, 0o777);
      const below = path.join(area.attackerDir, 'new', 'dir');
      const watcher = await startAttackerScript(
        area,
        'watch.js',
        `const fs=require('fs');for(const d of process.argv.slice(2)){try{fs.watch(d,()=>{for(const n of fs.readdirSync(d))console.log('SAW '+n)})}catch{}}console.log('READY');setInterval(()=>{},1000)`,
        [theirs, area.attackerDir],
      );
      for (const to of [theirs, link, mine777, below]) {
        const r = await runCli(['--config', s.configPath, 'restore', 'latest', '--to', to]);
        assert.equal(r.code, ExitCode.USAGE, `${to}: ${r.stderr}`);
        assert.match(r.stderr, /refusing to restore into .*(belongs to uid|writable by|owned by uid)/, to);
      }
      const seen = await watcher.stop();
      assert.doesNotMatch(seen, /SAW .*(barysafe|private_key|barycenter\.db|jwks)/, 'nothing of the restore appeared');
      assert.deepEqual(readdirSync(theirs), []);
      assert.deepEqual(readdirSync(mine777), []);
      assert.ok(!existsSync(below));
      // The same restore into a directory of its own works.
      const ok = await runCli([
        '--config',
        s.configPath,
        'restore',
        'latest',
        '--to',
        path.join(area.root, 'own', 'r'),
      ]);
      assert.equal(ok.code, 0, ok.stderr);
    } finally {
      await d.dir.cleanup();
      await area.cleanup();
    }
  });
});

describe('restore is all-or-nothing', () => {
  test('D2: a missing or truncated object leaves no plaintext in --to, and the message says so', async () => {
    const d = await makeDeployment();
    try {
      const s = await backedUp(d);
      const jwks = path.join(s.snapDir, 'jwks.json.age');
      const saved = await readFile(jwks);
      await rm(jwks);
      const to = path.join(d.dir.path, 'out-del');
      const r = await runCli(['--config', s.configPath, 'restore', 'latest', '--to', to]);
      assert.equal(r.code, ExitCode.INTEGRITY, r.stderr);
      assert.match(r.stderr, /\(jwks\.json\) is missing from the repository; nothing was written to /);
      assert.deepEqual(readdirSync(to), [], 'no barycenter.db, no private_key.pem, no dotfile');
      await writeFile(jwks, saved);
      const key = path.join(s.snapDir, 'private_key.pem.age');
      const k = await readFile(key);
      await writeFile(key, k.subarray(0, k.length - 20));
      const t = await runCli(['--config', s.configPath, 'restore', 'latest', '--to', to]);
      assert.equal(t.code, ExitCode.INTEGRITY, t.stderr);
      assert.match(t.stderr, /is corrupt: .*nothing was written to /);
      assert.deepEqual(readdirSync(to), []);
    } finally {
      await d.dir.cleanup();
    }
  });

  test('D3: SIGINT or SIGTERM during a restore leaves no partial plaintext (not even a hidden file) and one line says what it stopped and cleaned', async () => {
    const d = await makeDeployment();
    try {
      const db = new Database(path.join(d.workdir, 'barycenter.db'));
      db.exec(
        'CREATE TABLE bulk (v BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 3000) INSERT INTO bulk SELECT randomblob(50000) FROM n',
      );
      db.close();
      const s = await backedUp(d);
      for (const [sig, exit] of [
        ['SIGINT', 130],
        ['SIGTERM', 143],
      ] as const) {
        const to = path.join(d.dir.path, `out-${sig}`);
        const child = spawn(process.execPath, [CLI, '--config', s.configPath, 'restore', 'latest', '--to', to], {
          stdio: ['ignore', 'ignore', 'pipe'],
          env: { ...process.env, BARYSAFE_LOG_LEVEL: 'info' },
        });
        let stderr = '';
        child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
        // Wait until the database is being decrypted into the staging directory.
        for (let i = 0; i < 400; i++) {
          const staging = existsSync(to) ? readdirSync(to).find((n) => n.startsWith('.barysafe-restore-')) : undefined;
          if (staging && readdirSync(path.join(to, staging)).some((n) => n.includes('barycenter.db'))) break;
          await new Promise((r) => setTimeout(r, 25));
        }
        child.kill(sig);
        const code = await new Promise<number | null>((resolve) =>
          child.once('exit', (c, signal) => resolve(c ?? (signal ? exit : null))),
        );
        assert.equal(code, exit, stderr);
        const lines = stderr.split('\n').filter((l) => l.startsWith('barysafe:'));
        assert.equal(lines.length, 1, `${sig}: one line: ${lines.join(' | ')}`);
        assert.match(
          lines[0]!,
          new RegExp(
            `^barysafe: interrupted by ${sig}: the restore of snapshot \\S+ stopped; its partly decrypted files were removed; nothing was written to `,
          ),
        );
        assert.deepEqual(readdirSync(to), [], `${sig}: no file and no dotfile left in --to`);
      }
    } finally {
      await d.dir.cleanup();
    }
  });

  test('V14: a validly signed manifest whose artifact name climbs out of --to is refused; nothing is written outside', async () => {
    const d = await makeDeployment();
    try {
      const s = await backedUp(d);
      const outside = path.join(d.dir.path, 'escaped-by-name.toml');
      await resign(s.etc, path.join(s.snapDir, 'manifest.json'), (m) => {
        const cfg = m.artifacts.find((a) => a.kind === 'config')!;
        cfg.name = '../escaped-by-name.toml';
      });
      const to = path.join(d.dir.path, 'r');
      // This host anchored the original manifest: its replacement is seen as a rollback first.
      const anchored = await runCli(['--config', s.configPath, 'restore', 'latest', '--to', to]);
      assert.equal(anchored.code, ExitCode.INTEGRITY, anchored.stderr);
      assert.match(anchored.stderr, /was rolled back: the anchored snapshot .* changed/);
      // Even when told to go on, the key that does not match the signed thumbprint is refused.
      const r = await runCli(['--config', s.configPath, 'restore', 'latest', '--to', to, '--allow-rollback']);
      assert.equal(r.code, ExitCode.INTEGRITY, r.stderr);
      assert.match(
        r.stderr,
        /lists unsafe artifacts: artifact name "\.\.\/escaped-by-name\.toml" is not a plain file name/,
      );
      assert.ok(!existsSync(outside));
    } finally {
      await d.dir.cleanup();
    }
  });

  test('V1: a key that decrypts and matches its hash but is not the manifest’s key is not installed', async () => {
    const d = await makeDeployment();
    try {
      const s = await backedUp(d);
      // A forged key, encrypted to the public recipient, with the manifest re-signed to its hash:
      // only the recorded thumbprint still names the real key.
      const forged = JSON.stringify({
        ...JSON.parse(await readFile(path.join(d.workdir, 'data/private_key.pem'), 'utf8')),
        kid: 'MALLORY-KEY',
      });
      const recipient = /recipients = \[ "(age1[0-9a-z]+)"/.exec(await readFile(s.configPath, 'utf8'))![1]!;
      const chunks: Buffer[] = [];
      for await (const c of await encryptStream([recipient], Readable.from([Buffer.from(forged)])))
        chunks.push(c as Buffer);
      const cipher = Buffer.concat(chunks);
      await writeFile(path.join(s.snapDir, 'private_key.pem.age'), cipher);
      await resign(s.etc, path.join(s.snapDir, 'manifest.json'), (m) => {
        const a = m.artifacts.find((x) => x.kind === 'key')!;
        a.size = cipher.length;
        a.sha256 = createHash('sha256').update(cipher).digest('hex');
        a.plaintext_size = forged.length;
      });
      const to = path.join(d.dir.path, 'r');
      // This host anchored the original manifest: its replacement is seen as a rollback first.
      const anchored = await runCli(['--config', s.configPath, 'restore', 'latest', '--to', to]);
      assert.equal(anchored.code, ExitCode.INTEGRITY, anchored.stderr);
      assert.match(anchored.stderr, /was rolled back: the anchored snapshot .* changed/);
      // Even when told to go on, the key that does not match the signed thumbprint is refused.
      const r = await runCli(['--config', s.configPath, 'restore', 'latest', '--to', to, '--allow-rollback']);
      assert.equal(r.code, ExitCode.INTEGRITY, r.stderr);
      assert.match(
        r.stderr,
        /the restored signing key \(kid MALLORY-KEY.*is not the one the signed manifest records; nothing was written/,
      );
      assert.deepEqual(readdirSync(to), [], 'the forged key was not installed');
    } finally {
      await d.dir.cleanup();
    }
  });

  test('--to that is an existing file is a usage error', async () => {
    const d = await makeDeployment();
    try {
      const s = await backedUp(d);
      const f = path.join(d.dir.path, 'afile');
      await writeFile(f, 'x');
      const r = await runCli(['--config', s.configPath, 'restore', 'latest', '--to', f]);
      assert.equal(r.code, ExitCode.USAGE, r.stderr);
      assert.match(r.stderr, /is a file, not a directory/);
    } finally {
      await d.dir.cleanup();
    }
  });
});

describe('PostgreSQL: the production database and its credentials', { skip }, () => {
  let pgService: TestPostgres;
  const canary = `LEAKCANARY_pg_${createHash('sha256').update(String(Date.now())).digest('hex').slice(0, 8)}`;
  const role = `bs_canary_${process.pid}`;
  let prodDb: string;
  before(async () => {
    pgService = await getPostgres();
    const admin = new pg.Client({ connectionString: pgService.url });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE "${role}" LOGIN PASSWORD '${canary}' CREATEDB`);
      prodDb = `prod_${process.pid}`;
      await admin.query(`CREATE DATABASE "${prodDb}" OWNER "${role}"`);
    } finally {
      await admin.end();
    }
  });
  after(async () => {
    const admin = new pg.Client({ connectionString: pgService.url });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${prodDb}" WITH (FORCE)`);
      await admin.query(`DROP DATABASE IF EXISTS "${prodDb}_r" WITH (FORCE)`);
      await admin.query(`DROP ROLE IF EXISTS "${role}"`);
    } finally {
      await admin.end();
    }
    await pgService.stop();
  });

  const urlFor = (db: string, form: 'userinfo' | 'query' | 'none', host?: string) => {
    const u = new URL(pgService.url);
    if (host) u.hostname = host;
    u.username = role;
    u.password = form === 'userinfo' ? canary : '';
    u.pathname = `/${db}`;
    u.search = form === 'query' ? `?password=${canary}` : '';
    return u.toString();
  };

  /** Watches every process's command line, as the unprivileged attacker, for the canary. */
  const SNIFFER = String.raw`
const fs = require('fs');
const canary = process.argv[2];
setInterval(() => {
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try { const c = fs.readFileSync('/proc/' + p + '/cmdline', 'utf8'); if (c.includes(canary)) console.log('SAW ' + c.replace(/\0/g, ' ')); } catch {}
  }
}, 2);
console.log('READY');
`;

  test('V8 and V13: no PostgreSQL password on any command line (userinfo, ?password=, --pg-url), and --pg-url naming production’s database is refused', async () => {
    const area = await sharedArea();
    const d = await makeDeployment({ databaseUrl: urlFor(prodDb, 'query') });
    try {
      const binToml = pgService.binDir ? `\n[backup]\npg_bin_dir = "${pgService.binDir}"\n` : '';
      const sniffer = await startAttackerScript(area, 'sniff.js', SNIFFER, [canary]);
      const s = await backedUp(d, binToml);
      // A row written after the snapshot must survive the refused restore.
      const c = new pg.Client({ connectionString: urlFor(prodDb, 'userinfo') });
      await c.connect();
      await c.query("INSERT INTO properties(owner, key, value, updated_at) VALUES ('after-snapshot', 'k', 'v', 1)");
      await c.end();

      for (const target of [urlFor(prodDb, 'none'), urlFor(prodDb, 'none', 'localhost')]) {
        const r = await runCli(
          [
            '--config',
            s.configPath,
            'restore',
            'latest',
            '--to',
            path.join(d.dir.path, 'r1'),
            '--pg-url',
            target,
            '--clean',
          ],
          { env: { PGPASSWORD: canary } },
        );
        assert.equal(r.code, ExitCode.USAGE, r.stderr);
        assert.match(r.stderr, /it is the database production's Barycenter uses/);
      }
      const check = new pg.Client({ connectionString: urlFor(prodDb, 'userinfo') });
      await check.connect();
      const left = await check.query("SELECT count(*) AS n FROM properties WHERE owner = 'after-snapshot'");
      await check.query(`CREATE DATABASE "${prodDb}_r"`);
      await check.end();
      assert.equal(Number(left.rows[0].n), 1, 'production kept its row');

      // Into another database: the password through PGPASSWORD works, and one in the URL is warned about.
      const viaEnv = await runCli(
        [
          '--config',
          s.configPath,
          'restore',
          'latest',
          '--to',
          path.join(d.dir.path, 'r2'),
          '--pg-url',
          urlFor(`${prodDb}_r`, 'none'),
        ],
        { env: { PGPASSWORD: canary } },
      );
      assert.equal(viaEnv.code, 0, viaEnv.stderr);
      const pwFile = path.join(d.dir.path, 'pgpass');
      await writeFile(pwFile, canary + '\n', { mode: 0o600 });
      const viaFile = await runCli([
        '--config',
        s.configPath,
        'restore',
        'latest',
        '--to',
        path.join(d.dir.path, 'r3'),
        '--pg-url',
        urlFor(`${prodDb}_r`, 'none'),
        '--pg-password-file',
        pwFile,
        '--clean',
      ]);
      assert.equal(viaFile.code, 0, viaFile.stderr);
      const inUrl = await runCli([
        '--config',
        s.configPath,
        'restore',
        'latest',
        '--to',
        path.join(d.dir.path, 'r4'),
        '--pg-url',
        urlFor(`${prodDb}_r`, 'userinfo'),
        '--clean',
      ]);
      assert.equal(inUrl.code, 0, inUrl.stderr);
      assert.match(inUrl.stderr + inUrl.stdout, /the --pg-url argument carries a password/);
      assert.doesNotMatch(inUrl.stdout + inUrl.stderr + viaEnv.stdout + viaEnv.stderr, new RegExp(canary));

      const seen = await sniffer.stop();
      // The one place left is barysafe's own argv in the last run, which the warning is about.
      const lines = seen
        .split('\n')
        .filter((l) => l.startsWith('SAW ') && !l.includes(' restore latest --to ' + path.join(d.dir.path, 'r4')));
      assert.deepEqual(lines, [], 'no pg_dump, pg_restore or barysafe command line showed the password');
    } finally {
      await d.standin?.stop();
      await d.dir.cleanup();
      await area.cleanup();
    }
  });
});
