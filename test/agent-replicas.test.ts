// Many replicas: two agents (two processes, each with its own state directory, as on two hosts)
// share one repository and one schedule. The repository lock and the under-lock slot check decide:
// one snapshot per slot, the other agent logs a skip; no failure, no notification.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { CLI, makeDeployment, runCli, setupFileRepository } from './support/deployments.js';

interface Snapshot {
  id: string;
}

test('two agents, one repository, one schedule: one snapshot per slot, the other logs a skip', async () => {
  const d = await makeDeployment();
  const hits: string[] = [];
  const hook = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    res.end();
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  try {
    const s = await setupFileRepository(d);
    const base = await readFile(s.configPath, 'utf8');
    const configs: string[] = [];
    for (const host of ['a', 'b']) {
      const file = path.join(s.etc, `barysafe-${host}.toml`);
      await writeFile(
        file,
        base +
          `\n[state]\ndir = "${path.join(d.dir.path, `state-${host}`)}"\n[schedule]\nbackup = "*/3 * * * * *"\n` +
          `[notify]\nwebhook_url = "http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook"\n`,
      );
      configs.push(file);
    }
    const agents = configs.map((c) => {
      const p = spawn(process.execPath, [CLI, '--config', c, 'agent'], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, BARYSAFE_LOG_FORMAT: 'json' },
      });
      let err = '';
      p.stderr.on('data', (b: Buffer) => (err += b.toString()));
      return { p, log: () => err, exited: new Promise<number | null>((r) => p.once('exit', (c) => r(c))) };
    });
    await new Promise((r) => setTimeout(r, 14_000));
    for (const a of agents) a.p.kill('SIGTERM');
    const codes = await Promise.all(agents.map((a) => a.exited));
    assert.deepEqual(codes, [0, 0], agents.map((a) => a.log()).join('\n'));

    const list = JSON.parse((await runCli(['--config', s.configPath, '--json', 'snapshots'])).stdout) as {
      snapshots: Snapshot[];
    };
    const lines = agents.map((a) =>
      a
        .log()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    );
    const ends = lines.flat().filter((l) => typeof l.verdict === 'string');
    const skips = ends.filter((l) => l.verdict === 'skipped');
    const successes = ends.filter((l) => l.verdict === 'success');
    const slotOf = new Map(
      lines
        .flat()
        .filter((l) => l.slot)
        .map((l) => [l.run_id, l.slot]),
    );
    const slots = successes.map((l) => slotOf.get(l.run_id));
    assert.ok(slots.length >= 3, `successes: ${JSON.stringify(successes)}`);
    assert.equal(new Set(slots).size, slots.length, `one snapshot per slot: ${slots.join(' ')}`);
    assert.deepEqual(
      successes.map((l) => l.snapshot).sort(),
      list.snapshots.map((x) => x.id).sort(),
      'the listed snapshots are exactly the successes, one per slot',
    );
    assert.ok(skips.length >= 2, 'the other agent skipped slots');
    for (const [i, who] of lines.entries())
      assert.ok(who.some((l) => l.verdict === 'skipped') || who.some((l) => l.verdict === 'success'), `agent ${i} ran`);
    for (const k of skips) assert.match(String(k.reason), /already covers this slot|is locked by barysafe backup/);
    assert.deepEqual(
      ends.filter((l) => l.verdict === 'failure'),
      [],
      'no failure',
    );
    assert.deepEqual(
      lines.flat().filter((l) => l.level === 'error' || l.level === 'warn'),
      [],
      'no warning or error',
    );
    assert.deepEqual(hits, [], 'no notification');
  } finally {
    hook.close();
    await d.dir.cleanup();
  }
});
