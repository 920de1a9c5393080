// The test runner's own guard (scripts/run-test-files.mjs): a file whose process does not end is
// diagnosed while it hangs, killed with what it started, and run once more; a hang that comes back
// fails the run, one that does not is still named. Real processes, real worker threads.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeTempDir } from './support/services.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const runner = pathToFileURL(path.join(root, 'scripts', 'run-test-files.mjs')).href;

const PASSES = `import { test } from 'node:test';\ntest('passes', () => {});\n`;
/** Its test passes, then a referenced worker thread keeps the process alive, and a child process it started. */
const HANGS = `import { test } from 'node:test';
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
test('leaves a worker and a child behind', () => {
  new Worker('setInterval(() => {}, 1000)', { eval: true });
  spawn('sleep', ['600'], { stdio: 'ignore' });
});
`;
/** Hangs on its first run only (a marker file tells the second). */
const hangsOnce = (marker: string) => `import { test } from 'node:test';
import { existsSync, writeFileSync } from 'node:fs';
test('hangs the first time', () => {
  if (existsSync(${JSON.stringify(marker)})) return;
  writeFileSync(${JSON.stringify(marker)}, '');
  setInterval(() => {}, 1000);
});
`;

async function runFiles(dir: string, files: string[]): Promise<{ code: number | null; out: string }> {
  const driver = path.join(dir, 'driver.mjs');
  writeFileSync(
    driver,
    `const { runFiles } = await import(${JSON.stringify(runner)});
     process.exit(await runFiles(${JSON.stringify(files)}, { cwd: ${JSON.stringify(dir)}, env: process.env }));`,
  );
  const child = spawn(process.execPath, [driver], {
    env: { ...process.env, BARYSAFE_TEST_FILE_LIMIT_S: '2' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { code, out };
}

/** Running, not a zombie waiting for its parent to read its status. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test('a file that hangs twice is diagnosed, killed with its children and fails the run; the others still run', async () => {
  const dir = await makeTempDir('barysafe-run-test-files-');
  try {
    writeFileSync(path.join(dir.path, 'a-hangs.test.mjs'), HANGS);
    writeFileSync(path.join(dir.path, 'b-passes.test.mjs'), PASSES);
    const { code, out } = await runFiles(dir.path, ['a-hangs.test.mjs', 'b-passes.test.mjs']);
    assert.equal(code, 1, out);
    assert.equal(out.match(/run-tests: HUNG: a-hangs\.test\.mjs did not end within 2 s and was killed/g)?.length, 2);
    assert.match(out, /worker threads: 1/, 'the diagnostic report names the worker keeping it alive');
    assert.match(out, /ok 1 - leaves a worker and a child behind/, 'what it printed before it hung is kept');
    assert.match(out, /# run-tests: b-passes\.test\.mjs: exit 0/);
    // A killed file never printed its totals: only the file that ended is counted.
    assert.match(out, /run-tests: 2 files, 1 tests: 1 pass, 0 fail/);
    assert.match(out, /run-tests: HUNG: a-hangs\.test\.mjs twice/);
    assert.match(out, /run-tests: FAILED: a-hangs\.test\.mjs \(exit 137\)/);
    // Every process of the hung file's tree, its `sleep` child too, is gone.
    const pids = [...out.matchAll(/^ {2}(\d+) \[/gm)].map((m) => Number(m[1]));
    assert.ok(pids.length >= 4, `two runs, each a node process and a sleep: ${pids}`);
    for (const pid of pids) assert.ok(!alive(pid), `process ${pid} of the hung file still runs`);
  } finally {
    await dir.cleanup();
  }
});

test('a file that hangs once and passes on its second run passes, and the summary still names the hang', async () => {
  const dir = await makeTempDir('barysafe-run-test-files-');
  try {
    writeFileSync(path.join(dir.path, 'once.test.mjs'), hangsOnce(path.join(dir.path, 'marker')));
    const { code, out } = await runFiles(dir.path, ['once.test.mjs']);
    assert.equal(code, 0, out);
    assert.match(out, /run-tests: HUNG: once\.test\.mjs did not end within 2 s/);
    assert.match(out, /run-tests: once\.test\.mjs: run once more/);
    assert.match(out, /run-tests: HUNG: once\.test\.mjs, then passed on its second run/);
    assert.doesNotMatch(out, /FAILED/);
  } finally {
    await dir.cleanup();
  }
});

test('a file that ends while a process it started holds its output open is not waited for, and is named', async () => {
  const dir = await makeTempDir('barysafe-run-test-files-');
  const pidFile = path.join(dir.path, 'pid');
  try {
    writeFileSync(
      path.join(dir.path, 'leaves.test.mjs'),
      `import { test } from 'node:test';
       import { spawn } from 'node:child_process';
       import { writeFileSync } from 'node:fs';
       test('leaves a process on its stdout', () => {
         const c = spawn('sleep', ['600'], { stdio: 'inherit', detached: true });
         writeFileSync(${JSON.stringify(pidFile)}, String(c.pid));
         c.unref();
       });`,
    );
    const started = Date.now();
    const { code, out } = await runFiles(dir.path, ['leaves.test.mjs']);
    assert.equal(code, 0, out);
    assert.ok(Date.now() - started < 30_000, 'the runner went on without waiting for the process');
    assert.match(out, /warning: leaves\.test\.mjs ended, but a process it started still holds its output open/);
    assert.doesNotMatch(out, /HUNG/);
  } finally {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    } catch {
      /* never started */
    }
    await dir.cleanup();
  }
});
