// Interrupted means clean: the review's D5 (SIGINT, SIGTERM and SIGHUP during a backup left
// partial ciphertext, empty snapshot folders and the lock behind, and nothing ever removed them)
// and D19 (no word on stderr), reproduced as the review did, plus a SIGKILL whose leftovers the
// next backup sweeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { signalExitCode } from '../src/platform/lifecycle.js';
import { tempRoot } from '../src/platform/private-temp.js';
import { CLI, makeDeployment, runCli, setupFileRepository } from './support/deployments.js';

/** Everything a backup leaves in a file:// repository besides complete snapshots and evidence. */
function leftovers(repoRoot: string) {
  const list = (d: string) => (existsSync(d) ? readdirSync(d) : []);
  const snapshots = list(path.join(repoRoot, 'snapshots'));
  return {
    incomplete: snapshots.filter((id) => !existsSync(path.join(repoRoot, 'snapshots', id, 'manifest.json'))),
    partialObjects: snapshots.flatMap((id) =>
      existsSync(path.join(repoRoot, 'snapshots', id, 'manifest.json'))
        ? []
        : list(path.join(repoRoot, 'snapshots', id)).map((n) => `${id}/${n}`),
    ),
    temps: list(path.join(repoRoot, '.barysafe-tmp')).filter((n) => n.endsWith('.tmp')),
    lock: existsSync(path.join(repoRoot, 'locks', 'writer.json')),
    complete: snapshots.filter((id) => existsSync(path.join(repoRoot, 'snapshots', id, 'manifest.json'))),
  };
}

/** Starts a backup and sends `sig` while it uploads the big extra file (the database, key and config are already stored). */
async function interruptedBackup(configPath: string, sig: NodeJS.Signals) {
  const child = spawn(process.execPath, [CLI, '--config', configPath, 'backup'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BARYSAFE_LOG_LEVEL: 'info' },
  });
  let stderr = '';
  const uploading = new Promise<void>((resolve) =>
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (stderr.includes('encrypting and uploading extra/big.bin')) resolve();
    }),
  );
  child.stdout.resume();
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  await uploading;
  await new Promise((r) => setTimeout(r, 300)); // part of big.bin is written
  child.kill(sig);
  const [code, signal] = await exited;
  return { code: code ?? (signal ? signalExitCode(signal) : null), stderr };
}

test('D5/D19: SIGINT, SIGTERM or SIGHUP during a backup remove the partial objects, the snapshot folder and the lock; one line says what stopped and that nothing was saved; a SIGKILLed backup’s leftovers are swept by the next one', async () => {
  const d = await makeDeployment();
  try {
    const big = path.join(d.dir.path, 'big.bin');
    const out = createWriteStream(big);
    for (let i = 0; i < 160; i++) out.write(randomBytes(1 << 20)); // 160 MiB: a few seconds of encryption
    out.end();
    await once(out, 'finish');
    const s = await setupFileRepository(d);
    const text = await readFile(s.configPath, 'utf8');
    await writeFile(s.configPath, text.replace('[barycenter]\n', `[barycenter]\nextra_files = ["${big}"]\n`));

    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      const r = await interruptedBackup(s.configPath, sig);
      assert.equal(r.code, signalExitCode(sig), `${sig}: ${r.stderr}`);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('barysafe:'));
      assert.equal(lines.length, 1, `${sig}: exactly one line for the user: ${lines.join(' | ')}`);
      assert.match(
        lines[0]!,
        new RegExp(
          `^barysafe: interrupted by ${sig}: the backup of snapshot \\S+ stopped before it was complete; its partial objects were removed and the repository lock released; nothing was saved$`,
        ),
      );
      const left = leftovers(s.repoRoot);
      assert.deepEqual(
        { ...left, complete: undefined },
        { incomplete: [], partialObjects: [], temps: [], lock: false, complete: undefined },
        `${sig}: nothing of the interrupted backup is left in the repository`,
      );
      assert.deepEqual(left.complete, [], `${sig}: no snapshot`);
      const root = tempRoot(s.tempBase);
      assert.deepEqual(existsSync(root) ? readdirSync(root) : [], [], `${sig}: no plaintext temp dir`);
    }

    // SIGKILL runs no clean-up at all: the objects stored so far, a partial temp file and the lock stay.
    const killed = await interruptedBackup(s.configPath, 'SIGKILL');
    assert.equal(killed.code, signalExitCode('SIGKILL'));
    const crashed = leftovers(s.repoRoot);
    assert.equal(crashed.incomplete.length, 1, JSON.stringify(crashed));
    assert.ok(
      crashed.partialObjects.some((o) => o.endsWith('/barycenter.db.age')),
      JSON.stringify(crashed),
    );
    assert.ok(crashed.temps.length > 0 && crashed.lock, JSON.stringify(crashed));

    const next = await runCli(['--config', s.configPath, 'backup']);
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stderr, new RegExp(`removing the partial objects of snapshot ${crashed.incomplete[0]}`));
    const after = leftovers(s.repoRoot);
    assert.equal(after.complete.length, 1, 'the new snapshot');
    assert.deepEqual(
      { incomplete: after.incomplete, partialObjects: after.partialObjects, temps: after.temps, lock: after.lock },
      { incomplete: [], partialObjects: [], temps: [], lock: false },
      'the crashed backup’s objects, temp file and lock are gone',
    );
  } finally {
    await d.dir.cleanup();
  }
});
