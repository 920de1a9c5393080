#!/usr/bin/env node
// Runs the compiled tests (npm test builds first) with the test services started once and shared:
// PostgreSQL and S3 come from test/support/services.ts (env → Docker → local processes), their
// addresses go to every test file through TEST_PG_URL / TEST_S3_*; they are always stopped,
// also on SIGINT/SIGTERM. Each file runs in its own process under a time limit
// (run-test-files.mjs). Usage: node scripts/run-tests.mjs [dist/test/x.test.js …]
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { killRunning, runFiles } from './run-test-files.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const distTest = path.join(root, 'dist', 'test');

function testFiles(args) {
  if (args.length) return args;
  // Only files whose source still exists: dist/ keeps stale output of renamed or deleted tests.
  // Listed explicitly: Node 20 does not expand globs, and a directory would take in dist/test/support.
  return readdirSync(distTest)
    .filter((f) => f.endsWith('.test.js') && existsSync(path.join(root, 'test', f.replace(/\.js$/, '.ts'))))
    .sort()
    .map((f) => path.relative(root, path.join(distTest, f)));
}

const files = testFiles(process.argv.slice(2));
if (files.length === 0) {
  console.error('run-tests: no test files found under dist/test (did the build run?)');
  process.exit(1);
}

const { getPostgres, getS3 } = await import(pathToFileURL(path.join(distTest, 'support', 'services.js')).href);
const started = [];
const env = { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' };
// barysafe's local state (anchors, cursors) of every test run goes to a throwaway directory, not
// /var/lib/barysafe of the machine running the tests.
const stateDir = mkdtempSync(path.join(tmpdir(), 'barysafe-test-state-'));
env.BARYSAFE_STATE_DIR ??= stateDir;
let stopping;
function stopServices() {
  stopping ??= Promise.allSettled(started.map((s) => s.stop()));
  return stopping;
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    killRunning(sig);
    await stopServices();
    rmSync(stateDir, { recursive: true, force: true });
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}

const t0 = Date.now();
const [pgRes, s3Res] = await Promise.allSettled([getPostgres(), getS3()]);
if (pgRes.status === 'fulfilled') {
  const pg = pgRes.value;
  started.push(pg);
  env.TEST_PG_URL = pg.url;
  if (pg.binDir) env.TEST_PG_BIN_DIR = pg.binDir;
  console.log(`run-tests: PostgreSQL (${pg.source}) ready`);
} else {
  // Tests that need it start their own, or fail saying why.
  console.error(`run-tests: warning: no shared PostgreSQL: ${pgRes.reason?.message ?? pgRes.reason}`);
}
if (s3Res.status === 'fulfilled') {
  const s3 = s3Res.value;
  started.push(s3);
  Object.assign(env, {
    TEST_S3_ENDPOINT: s3.endpoint,
    TEST_S3_ACCESS_KEY: s3.accessKeyId,
    TEST_S3_SECRET_KEY: s3.secretAccessKey,
    TEST_S3_REGION: s3.region,
  });
  console.log(`run-tests: S3 (${s3.source}) ready at ${s3.endpoint}`);
} else {
  console.error(`run-tests: warning: no shared S3: ${s3Res.reason?.message ?? s3Res.reason}`);
}
console.log(`run-tests: services up in ${Date.now() - t0} ms; running ${files.length} test files`);

let code;
try {
  code = await runFiles(files, { cwd: root, env });
} finally {
  await stopServices();
  rmSync(stateDir, { recursive: true, force: true });
}

// No Barycenter stand-in of this checkout may outlive the tests: a scratch one that did would be
// a drill leaking a process that holds a restored signing key. Checked here because such a leak
// is a race no single test sees every time.
const standin = path.join(root, 'dist', 'test', 'support', 'barycenter', 'main.js');
const leftovers = () =>
  readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .flatMap((n) => {
      try {
        if (/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${n}/stat`, 'utf8'))) return []; // a zombie: dead
        const args = readFileSync(`/proc/${n}/cmdline`, 'utf8').split('\0');
        return args.includes(standin) ? [`${n}: ${args.join(' ').trim()}`] : [];
      } catch {
        return [];
      }
    });
let left = leftovers();
for (let i = 0; i < 20 && left.length; i++) {
  await sleep(100);
  left = leftovers();
}
if (left.length) {
  console.error(
    `run-tests: FAIL: ${left.length} Barycenter stand-in process(es) outlived the tests:\n  ${left.join('\n  ')}`,
  );
  for (const l of left) {
    try {
      process.kill(Number(l.split(':')[0]), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  code ||= 1;
}
process.exit(code);
