// Stopping the agent (the real CLI in a child process) during a large upload: SIGTERM lets the
// running backup finish within [agent] stop_timeout, or aborts it cleanly when the timeout is
// shorter (no partial snapshot is ever listed, the lock is released), and exits 0; a second signal
// exits at once. The next run succeeds.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { CLI, makeDeployment, runCli, setupFileRepository, type Deployment } from './support/deployments.js';

interface Stopped {
  code: number | null;
  stderr: string;
  /** Milliseconds from the (first) signal to the exit. */
  exitMs: number;
}

/** Starts `barysafe agent`, waits until the database upload has begun, sends the signal(s). */
function agentStoppedDuringUpload(configPath: string, signals: number): Promise<Stopped> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--config', configPath, 'agent'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, BARYSAFE_LOG_FORMAT: 'json' },
    });
    let stderr = '';
    let signalledAt = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`agent did not exit:\n${stderr}`));
    }, 120_000);
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (!signalledAt && stderr.includes('encrypting and uploading barycenter.db')) {
        signalledAt = Date.now();
        child.kill('SIGTERM');
        // Apart: a signal that arrives while the same one is still pending is merged into it.
        if (signals > 1) setTimeout(() => child.kill('SIGTERM'), 300);
      }
    });
    child.once('error', reject);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      resolve({ code: code ?? (sig ? 128 + 15 : null), stderr, exitMs: Date.now() - signalledAt });
    });
  });
}

describe('SIGTERM during a large upload', () => {
  let d: Deployment;
  let configPath: string;
  let repoRoot: string;
  let base: string;

  before(async () => {
    d = await makeDeployment();
    const db = new Database(path.join(d.workdir, 'barycenter.db'));
    // ~150 MB of incompressible rows: an upload that lasts long enough to be interrupted.
    db.exec(
      'CREATE TABLE bulk (v BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 3000) INSERT INTO bulk SELECT randomblob(50000) FROM n',
    );
    db.close();
    const s = await setupFileRepository(d);
    configPath = s.configPath;
    repoRoot = s.repoRoot;
    base = await readFile(configPath, 'utf8');
  });
  after(async () => d?.dir.cleanup());

  /** A fresh state directory: the agent backs up at start, for the slot of the second it started in. */
  const configure = (stopTimeout: string, stateDir: string) =>
    writeFile(
      configPath,
      base +
        `\n[state]\ndir = "${path.join(d.dir.path, stateDir)}"\n[schedule]\nbackup = "* * * * * *"\n[agent]\nstop_timeout = "${stopTimeout}"\n`,
    );

  const snapshots = async () =>
    (
      JSON.parse((await runCli(['--config', configPath, '--json', 'snapshots'])).stdout) as {
        snapshots: { id: string }[];
      }
    ).snapshots;

  /** Every snapshot directory holds a manifest (nothing half-written is left), and no lock is left. */
  function assertNoPartial(): void {
    const dir = path.join(repoRoot, 'snapshots');
    // (An empty directory is no object: the file backend does not prune directories.)
    for (const id of existsSync(dir) ? readdirSync(dir) : []) {
      const objects = readdirSync(path.join(dir, id));
      assert.ok(
        objects.length === 0 || objects.includes('manifest.json'),
        `snapshots/${id} holds ${objects.join(', ')} but no manifest`,
      );
    }
    assert.equal(existsSync(path.join(repoRoot, 'locks', 'writer.json')), false, 'the writer lock was released');
    const tmp = path.join(repoRoot, '.barysafe-tmp');
    assert.deepEqual(
      existsSync(tmp) ? readdirSync(tmp).filter((n) => n.endsWith('.tmp')) : [],
      [],
      'no staged object left',
    );
  }

  it('stop_timeout shorter than the upload: the backup is aborted cleanly, exit 0, nothing listed; the next run succeeds', async () => {
    await configure('0s', 'state-abort');
    const r = await agentStoppedDuringUpload(configPath, 1);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.exitMs < 10_000, `exited ${r.exitMs} ms after SIGTERM`);
    assert.match(r.stderr, /SIGTERM received: starting no new job/);
    assert.match(r.stderr, /stop_timeout passed: aborting the running job/);
    assert.match(r.stderr, /job backup was stopped/);
    assert.deepEqual(await snapshots(), []);
    assertNoPartial();

    const next = await runCli(['--config', configPath, 'agent', '--run-now', 'backup']);
    assert.equal(next.code, 0, next.stderr);
    assert.equal((await snapshots()).length, 1);
    assertNoPartial();
  });

  it('stop_timeout long enough: the running backup finishes, then the agent exits 0', async () => {
    const before = (await snapshots()).length;
    await configure('60s', 'state-finish');
    const r = await agentStoppedDuringUpload(configPath, 1);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /job backup succeeded/);
    assert.doesNotMatch(r.stderr, /aborting the running job/);
    assert.equal((await snapshots()).length, before + 1);
    assertNoPartial();
  });

  it('a second signal exits at once (143), and still no partial snapshot is listed', async () => {
    const before = (await snapshots()).length;
    await configure('60s', 'state-twice');
    const r = await agentStoppedDuringUpload(configPath, 2);
    assert.equal(r.code, 143, r.stderr);
    assert.ok(r.exitMs < 5_000, `exited ${r.exitMs} ms after the second SIGTERM`);
    assert.equal((await snapshots()).length, before, 'the interrupted snapshot is not listed');
    const next = await runCli(['--config', configPath, 'agent', '--run-now', 'backup']);
    assert.equal(next.code, 0, next.stderr);
    assert.equal((await snapshots()).length, before + 1);
  });
});
