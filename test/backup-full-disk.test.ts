// A full disk, for real: a 1 MiB tmpfs mounted in a private mount namespace (unshare -m), as the
// repository and as the temp dir. Each fails with a message that says so and leaves no snapshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CLI, makeDeployment, run, setupBarysafe } from './support/deployments.js';
import { ExitCode } from '../src/errors.js';

const canMount =
  spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs /mnt'], { stdio: 'ignore' }).status === 0;

/** Runs `barysafe backup` then `barysafe --json snapshots` with `dir` a 1 MiB tmpfs visible only to them. */
async function inFullDisk(dir: string, configPath: string) {
  mkdirSync(dir, { recursive: true });
  const node = JSON.stringify(process.execPath);
  const script = `mount -t tmpfs -o size=1m,mode=0700 tmpfs ${JSON.stringify(dir)} || exit 99
${node} ${JSON.stringify(CLI)} --config ${JSON.stringify(configPath)} backup; echo "BACKUP_EXIT=$?" >&2
${node} ${JSON.stringify(CLI)} --config ${JSON.stringify(configPath)} --json snapshots
echo "LEFT=$(find ${JSON.stringify(dir)} -type f -name '*.age' -o -type f -name 'barycenter.db' | wc -l)" >&2
echo "FOLDERS=$(find ${JSON.stringify(dir)} -mindepth 2 -path '*/snapshots/*' -type d | wc -l)" >&2`;
  const r = await run('unshare', ['-m', 'sh', '-c', script]);
  const stderr = r.stderr;
  return {
    code: Number(/BACKUP_EXIT=(\d+)/.exec(stderr)?.[1]),
    stderr,
    snapshots: (JSON.parse(r.stdout.toString()) as { snapshots: unknown[] }).snapshots,
    left: Number(/LEFT=(\d+)/.exec(stderr)?.[1]),
    folders: Number(/FOLDERS=(\d+)/.exec(stderr)?.[1]),
  };
}

test(
  'a full repository disk and a full temp disk',
  { skip: canMount ? false : 'cannot mount a tmpfs in a private mount namespace here' },
  async () => {
    const d = await makeDeployment();
    try {
      const db = new Database(path.join(d.workdir, 'barycenter.db'));
      db.exec(
        'CREATE TABLE bulk (v BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 60) INSERT INTO bulk SELECT randomblob(50000) FROM n',
      );
      db.close();

      const repoDir = path.join(d.dir.path, 'full-repo');
      const s = await setupBarysafe(d, { url: `file://${repoDir}` });
      const repoFull = await inFullDisk(repoDir, s.configPath);
      assert.equal(repoFull.code, ExitCode.REPOSITORY, repoFull.stderr);
      assert.match(repoFull.stderr, /no space left on device writing snapshots\/.*barycenter\.db\.age/);
      assert.deepEqual(repoFull.snapshots, []);
      assert.equal(repoFull.left, 0, 'no partial object on the full disk');
      assert.equal(repoFull.folders, 0, 'no partial snapshots/<id>/ folder on the full disk');
      // The hint is about the local folder's free space, not an endpoint or the network.
      assert.match(repoFull.stderr, /hint: free space on the file system holding \S+full-repo \(df -h/);
      assert.doesNotMatch(repoFull.stderr, /hint: .*(endpoint|network|credentials)/);

      const tempDir = path.join(d.dir.path, 'full-tmp');
      // Same deployment, a roomy repository, and the temp dir on the full disk.
      const config = await readFile(s.configPath, 'utf8');
      await writeFile(
        s.configPath,
        config.replace(`file://${repoDir}`, `file://${path.join(d.dir.path, 'repo2')}`) +
          `\n[backup]\ntemp_dir = "${tempDir}"\n`,
      );
      const tempFull = await inFullDisk(tempDir, s.configPath);
      assert.notEqual(tempFull.code, 0, tempFull.stderr);
      assert.match(tempFull.stderr, /disk is full|no space left/i);
      assert.match(tempFull.stderr, /hint: .*temp_dir/);
      assert.deepEqual(tempFull.snapshots, []);
      assert.equal(tempFull.left, 0, 'no plaintext copy left in the temp dir');
    } finally {
      await d.dir.cleanup();
    }
  },
);
