// Plaintext never lingers: a backup killed by a signal leaves no temp file and no snapshot, and a
// temp directory left by a crashed run (dead pid) is removed at the next start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CLI, makeDeployment, runCli, setupBarysafe } from './support/deployments.js';
import { tempRoot } from '../src/platform/private-temp.js';

test('SIGTERM during a backup: no snapshot, no plaintext left; stale run dirs are swept next time', async () => {
  const d = await makeDeployment();
  try {
    const db = new Database(path.join(d.workdir, 'barycenter.db'));
    db.exec(
      'CREATE TABLE bulk (v BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 2000) INSERT INTO bulk SELECT randomblob(50000) FROM n',
    );
    db.close();
    const repoRoot = path.join(d.dir.path, 'repository');
    const s = await setupBarysafe(d, { url: `file://${repoRoot}` });
    const tempBase = path.join(d.dir.path, 'tmp');
    await writeFile(s.configPath, (await readFile(s.configPath, 'utf8')) + `\n[backup]\ntemp_dir = "${tempBase}"\n`);

    const child = spawn(process.execPath, [CLI, '--config', s.configPath, 'backup'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    const uploading = new Promise<void>((resolve) =>
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
        if (stderr.includes('encrypting and uploading barycenter.db')) resolve();
      }),
    );
    await uploading;
    const root = tempRoot(tempBase);
    assert.ok(
      readdirSync(root).some((n) => n.startsWith('run-')),
      'the run had its private temp dir',
    );
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) =>
      child.once('exit', (c, sig) => resolve(c ?? (sig ? 128 + 15 : null))),
    );
    assert.equal(code, 143, stderr);
    assert.deepEqual(readdirSync(root), [], 'the plaintext SQLite copy is gone');
    const list = await runCli(['--config', s.configPath, '--json', 'snapshots']);
    assert.deepEqual((JSON.parse(list.stdout) as { snapshots: unknown[] }).snapshots, []);

    // A crashed run (pid that no longer exists) left plaintext behind: the next run removes it.
    const stale = path.join(root, 'run-999999999-abcdef');
    mkdirSync(stale, { mode: 0o700 });
    writeFileSync(path.join(stale, 'barycenter.db'), 'plaintext');
    const next = await runCli(['--config', s.configPath, 'backup']);
    assert.equal(next.code, 0, next.stderr);
    assert.equal(existsSync(stale), false, 'the stale run dir was removed');
    assert.deepEqual(readdirSync(root), []);
  } finally {
    await d.dir.cleanup();
  }
});
