// The drill's child processes (platform/child-process.ts, platform/private-temp.ts' sweep): a
// wrapper's leftovers die with it, and a process that left its group cannot hang or outlive a run.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startProcess } from '../src/platform/child-process.js';
import { makePrivateTempDir } from '../src/platform/private-temp.js';
import { running } from './support/processes.js';

async function until(f: () => boolean, ms = 3000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (f()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return f();
}

async function pidFrom(file: string): Promise<number> {
  let text = '';
  await until(() => {
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      /* not yet */
    }
    return /^\d+\n/.test(text);
  });
  return Number(text.trim());
}

describe('processes a drill starts', () => {
  test('what a leader leaves in its process group dies when the leader exits', async () => {
    const run = await makePrivateTempDir();
    try {
      const pidFile = path.join(run.dir, 'child.pid');
      // sh starts a child in its own group and exits at once: nobody would stop the child.
      const p = startProcess('/bin/sh', ['-c', `sleep 300 >/dev/null 2>&1 & echo $! > ${pidFile}`], {
        cwd: '/',
        env: process.env,
      });
      const child = await pidFrom(pidFile);
      assert.equal((await p.exited).code, 0);
      assert.ok(await until(() => !running(child)), `the leader's child ${child} was killed with its group`);
    } finally {
      await run.cleanup();
    }
  });

  test('a child that left the group (setsid) and holds the output pipes neither hangs the wait nor outlives the run directory', async () => {
    const run = await makePrivateTempDir();
    const pidFile = path.join(run.dir, 'daemon.pid');
    let daemon = 0;
    try {
      // The leader forks the daemon and exits once the daemon leads a session of its own (so the
      // leader's group kill cannot race its escape); the daemon keeps our stdout and stderr.
      const script = `setsid sh -c 'echo $$ > "$0"; exec sleep 300' ${pidFile} & c=$!
        while [ "$(ps -o sid= -p $c | tr -d ' ')" != "$c" ]; do sleep 0.01; done`;
      const p = startProcess('/bin/sh', ['-c', script], { cwd: run.dir, env: process.env });
      daemon = await pidFrom(pidFile);
      const t0 = Date.now();
      const exit = await p.exited;
      assert.equal(exit.code, 0);
      assert.ok(Date.now() - t0 < 3000, 'the wait ended although the daemon still holds stdout and stderr');
      assert.ok(running(daemon), 'the daemon left the group: process groups cannot reach it');
      assert.equal(p.running(), false);
      assert.equal((await p.stop()).code, 0, 'stopping a finished process returns at once');
      await run.cleanup();
      assert.ok(await until(() => !running(daemon)), 'the run directory’s clean-up killed what worked in it');
      await assert.rejects(readFile(pidFile), { code: 'ENOENT' });
    } finally {
      if (daemon && running(daemon)) process.kill(daemon, 'SIGKILL');
      await run.cleanup();
    }
  });
});
