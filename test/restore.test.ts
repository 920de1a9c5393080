// Plain restore: signature and hashes first, then files with their modes, PostgreSQL through
// pg_restore, and refusals that lose nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { getPostgres, type TestPostgres } from './support/services.js';
import {
  makeDeployment,
  run,
  runCli,
  setupBarysafe,
  type Deployment,
  type BarysafeSetup,
} from './support/deployments.js';
import { Readable } from 'node:stream';
import { encryptStream, newIdentity } from '../src/crypto/age.js';
import { loadSigner } from '../src/crypto/signing.js';
import { manifestKey } from '../src/repository/layout.js';
import type { Manifest } from '../src/repository/manifest.js';
import { serialize, sha256Hex, signDocument } from '../src/repository/signed-document.js';
import { ExitCode } from '../src/errors.js';

let pgService: TestPostgres;
before(async () => {
  pgService = await getPostgres();
});
after(async () => {
  await pgService?.stop();
});

async function backedUp(d: Deployment, extra = ''): Promise<BarysafeSetup & { repoRoot: string; id: string }> {
  const repoRoot = path.join(d.dir.path, 'repository');
  const s = await setupBarysafe(d, { url: `file://${repoRoot}` });
  if (extra) await writeFile(s.configPath, (await readFile(s.configPath, 'utf8')) + extra);
  const b = await runCli(['--config', s.configPath, '--json', 'backup']);
  assert.equal(b.code, 0, b.stderr);
  return { ...s, repoRoot, id: (JSON.parse(b.stdout) as { snapshot: { id: string } }).snapshot.id };
}

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

describe('restore of a SQLite snapshot', () => {
  test('writes the key, jwks.json, database and config with their modes, and refuses to overwrite', async () => {
    const d = await makeDeployment();
    try {
      const s = await backedUp(d);
      const to = path.join(d.dir.path, 'restore');
      const r = await runCli(['--config', s.configPath, '--json', 'restore', 'latest', '--to', to]);
      assert.equal(r.code, 0, r.stderr);
      // Without a terminal: one line as each artifact starts and one when it is decrypted, on stderr only.
      for (const name of ['private_key.pem', 'jwks.json', 'barycenter.db'])
        assert.match(
          r.stderr,
          new RegExp(
            `^restore ${name.replace('.', '\\.')}: started \\(.+\\)\n(?:[\\s\\S]*\n)?restore ${name.replace('.', '\\.')}: fetched and decrypted$`,
            'm',
          ),
        );
      const out = JSON.parse(r.stdout) as {
        snapshot: { id: string; chain: { ok: boolean } };
        database: { integrity_check: string; integrity_checked: string };
        next_steps: string[];
      };
      assert.equal(out.snapshot.id, s.id);
      assert.equal(out.database.integrity_check, 'ok');
      // The backup checked these very bytes and signed the result: not repeated unless asked.
      assert.equal(out.database.integrity_checked, 'at backup');
      assert.deepEqual((await readdir(to)).sort(), ['barycenter.db', 'config.toml', 'jwks.json', 'private_key.pem']);
      assert.deepEqual(
        ['private_key.pem', 'jwks.json', 'barycenter.db', 'config.toml'].map((f) => mode(path.join(to, f))),
        ['600', '600', '600', '640'],
      );
      assert.deepEqual(
        await readFile(path.join(to, 'private_key.pem')),
        await readFile(path.join(d.workdir, 'data/private_key.pem')),
      );
      assert.deepEqual(
        await readFile(path.join(to, 'jwks.json')),
        await readFile(path.join(d.workdir, 'data/jwks.json')),
      );
      const q = await run('sqlite3', [
        path.join(to, 'barycenter.db'),
        'PRAGMA integrity_check; SELECT count(*) FROM clients;',
      ]);
      assert.equal(q.stdout.toString().trim(), 'ok\n1');
      assert.ok(
        out.next_steps.some((step) => step.includes(path.join(d.workdir, 'data/private_key.pem'))),
        'the steps name the live key path',
      );

      const again = await runCli(['--config', s.configPath, 'restore', 'latest', '--to', to]);
      assert.equal(again.code, ExitCode.USAGE);
      assert.match(again.stderr, /refusing to overwrite .*private_key\.pem/);
      const forced = await runCli(['--config', s.configPath, 'restore', s.id.slice(0, 12), '--to', to, '--force']);
      assert.equal(forced.code, 0, forced.stderr);
    } finally {
      await d.dir.cleanup();
    }
  });

  test('refuses to write into the live paths while Barycenter answers on its port', async () => {
    const d = await makeDeployment({ keepRunning: true });
    try {
      const s = await backedUp(d);
      const r = await runCli([
        '--config',
        s.configPath,
        'restore',
        'latest',
        '--to',
        path.join(d.workdir, 'data'),
        '--force',
      ]);
      assert.equal(r.code, ExitCode.USAGE, r.stderr);
      assert.match(r.stderr, /refusing to restore into .*live path of the Barycenter that answers/);
    } finally {
      await d.standin?.stop();
      await d.dir.cleanup();
    }
  });

  test('a tampered manifest, a corrupted object and a wrong identity are refused with the cause', async () => {
    const d = await makeDeployment();
    try {
      const s = await backedUp(d);
      const snapDir = path.join(s.repoRoot, 'snapshots', s.id);

      const wrong = path.join(d.dir.path, 'wrong-identity.txt');
      await writeFile(wrong, (await newIdentity()).identity + '\n', { mode: 0o600 });
      const w = await runCli([
        '--config',
        s.configPath,
        'restore',
        'latest',
        '--to',
        path.join(d.dir.path, 'w'),
        '--identity',
        wrong,
      ]);
      assert.equal(w.code, ExitCode.IDENTITY, w.stderr);
      assert.match(w.stderr, /identity does not match any recipient/);
      assert.ok(!existsSync(path.join(d.dir.path, 'w', 'barycenter.db')), 'nothing half-written');

      const objectFile = path.join(snapDir, 'barycenter.db.age');
      const original = await readFile(objectFile);
      const corrupt = Buffer.from(original);
      corrupt[corrupt.length - 100]! ^= 0xff;
      await writeFile(objectFile, corrupt);
      const c = await runCli(['--config', s.configPath, 'restore', 'latest', '--to', path.join(d.dir.path, 'c')]);
      assert.equal(c.code, ExitCode.INTEGRITY, c.stderr);
      assert.match(c.stderr, /barycenter\.db\.age \(barycenter\.db\) is corrupt: sha256/);
      await writeFile(objectFile, original);

      const manifestFile = path.join(snapDir, 'manifest.json');
      const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as { key: { kid: string } };
      manifest.key.kid = 'attacker-key';
      await writeFile(manifestFile, JSON.stringify(manifest, null, 2));
      const t = await runCli(['--config', s.configPath, 'restore', 'latest', '--to', path.join(d.dir.path, 't')]);
      assert.equal(t.code, ExitCode.INTEGRITY, t.stderr);
      assert.match(t.stderr, /manifest of snapshot .* has an invalid signature/);
      const list = await runCli(['--config', s.configPath, '--json', 'snapshots']);
      assert.equal(
        (JSON.parse(list.stdout) as { snapshots: Array<{ signature: string }> }).snapshots[0]!.signature,
        'INVALID',
      );
    } finally {
      await d.dir.cleanup();
    }
  });
});

describe('integrity_check of a restored SQLite file', () => {
  test('runs again with --check-integrity, and for a snapshot that records no passing check (a damaged file is refused)', async () => {
    const d = await makeDeployment();
    try {
      const s = await backedUp(d);
      const to = path.join(d.dir.path, 'restore');
      const asked = await runCli([
        '--config',
        s.configPath,
        '--json',
        'restore',
        s.id,
        '--to',
        to,
        '--check-integrity',
      ]);
      assert.equal(asked.code, 0, asked.stderr);
      const db = (JSON.parse(asked.stdout) as { database: { integrity_check: string; integrity_checked: string } })
        .database;
      assert.deepEqual([db.integrity_check, db.integrity_checked], ['ok', 'at restore']);

      // What an older barysafe could have stored: a damaged file and no integrity_check in the manifest.
      const damaged = Buffer.from(await readFile(path.join(d.workdir, 'barycenter.db')));
      for (let page = 1; page * 4096 < damaged.length; page++) damaged.fill(0x5a, page * 4096, page * 4096 + 100);
      const m = JSON.parse(await readFile(path.join(s.repoRoot, manifestKey(s.id)), 'utf8')) as Manifest;
      const art = m.artifacts.find((a) => a.kind === 'database')!;
      const chunks: Buffer[] = [];
      for await (const c of await encryptStream(m.recipients, Readable.from([damaged]))) chunks.push(c as Buffer);
      const cipher = Buffer.concat(chunks);
      await writeFile(path.join(s.repoRoot, art.object), cipher);
      Object.assign(art, { size: cipher.length, sha256: sha256Hex(cipher), plaintext_size: damaged.length });
      delete m.database.integrity_check;
      delete m.signature;
      await writeFile(
        path.join(s.repoRoot, manifestKey(s.id)),
        serialize(signDocument(m, await loadSigner(path.join(s.etc, 'signing.pem')))),
      );
      const to2 = path.join(d.dir.path, 'restore-old');
      const old = await runCli(['--config', s.configPath, '--json', 'restore', s.id, '--to', to2, '--allow-rollback']);
      // Checked at restore, found damaged, refused: nothing of it is left in the target.
      assert.equal(old.code, ExitCode.INTEGRITY, old.stderr);
      assert.match(old.stderr, /the restored database .*barycenter\.db.*malformed; nothing was written to /);
      assert.deepEqual(await readdir(to2), []);
    } finally {
      await d.dir.cleanup();
    }
  });
});

describe('restore of a PostgreSQL snapshot', () => {
  test('pg_restore into an empty database; a non-empty one needs --clean', async () => {
    const source = await pgService.createDatabase();
    const target = await pgService.createDatabase();
    const d = await makeDeployment({ databaseUrl: source });
    try {
      const s = await backedUp(d, pgService.binDir ? `\n[backup]\npg_bin_dir = "${pgService.binDir}"\n` : '');
      const to = path.join(d.dir.path, 'restore');
      const r = await runCli(['--config', s.configPath, '--json', 'restore', 'latest', '--to', to, '--pg-url', target]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(
        r.stdout + r.stderr,
        new RegExp(new URL(target).password || 'no-password-set'),
        'the DB password is not printed',
      );
      const manifest = JSON.parse(
        await readFile(path.join(s.repoRoot, 'snapshots', s.id, 'manifest.json'), 'utf8'),
      ) as { database: { row_counts: Record<string, number> } };
      const c = new pg.Client({ connectionString: target });
      await c.connect();
      try {
        for (const [table, n] of Object.entries(manifest.database.row_counts)) {
          assert.equal(
            Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`)).rows[0]!.n),
            n,
            table,
          );
        }
      } finally {
        await c.end();
      }
      const again = await runCli([
        '--config',
        s.configPath,
        'restore',
        'latest',
        '--to',
        to,
        '--force',
        '--pg-url',
        target,
      ]);
      assert.equal(again.code, ExitCode.USAGE);
      assert.match(again.stderr, /is not empty .*tables/);
      const clean = await runCli([
        '--config',
        s.configPath,
        'restore',
        'latest',
        '--to',
        to,
        '--force',
        '--pg-url',
        target,
        '--clean',
      ]);
      assert.equal(clean.code, 0, clean.stderr);
    } finally {
      await d.dir.cleanup();
      await pgService.dropDatabase(new URL(source).pathname.slice(1));
      await pgService.dropDatabase(new URL(target).pathname.slice(1));
    }
  });
});
