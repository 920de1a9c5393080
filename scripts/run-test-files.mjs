// Runs compiled test files, each in its own process, a few at a time, each under a time limit.
// Written here rather than left to `node --test`: its runner waits without end for a file whose
// process does not exit, and says nothing of why. A file past its limit is looked at while it
// still hangs (Node's diagnostic report of every node process in its tree, and the native stacks
// of the file's own process when gdb is on the machine), killed with its process group, and run
// once more; the run then fails only if the second attempt fails too, but the hang and its
// diagnosis are printed either way and named in the summary.
import { Buffer } from 'node:buffer';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

/** The slowest file takes about a minute, two at a time; six times that is a hang, not a slow machine. */
const FILE_LIMIT_MS = Number(process.env.BARYSAFE_TEST_FILE_LIMIT_S ?? 360) * 1000;

/** Process groups of the files now running, for the caller to kill on SIGINT/SIGTERM. */
export const runningGroups = new Set();

export function killRunning(signal) {
  for (const pgid of runningGroups) {
    try {
      process.kill(-pgid, signal);
    } catch {
      /* gone */
    }
  }
}

/**
 * Runs `files` (paths relative to `cwd`) `concurrency` at a time and prints each file's output
 * whole, in the order given, then a summary. Resolves to the exit code of the whole run.
 */
export async function runFiles(files, { cwd, env, concurrency = 2 }) {
  const t0 = Date.now();
  const results = new Array(files.length);
  let next = 0;
  let printed = 0;
  const flush = () => {
    for (; printed < files.length && results[printed]; printed++) printResult(results[printed]);
  };
  const lane = async () => {
    while (next < files.length) {
      const i = next++;
      let r = await runFile(files[i], cwd, env);
      if (r.hung) r = { ...(await runFile(files[i], cwd, env)), earlier: r };
      results[i] = r;
      flush();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  printSummary(results, Date.now() - t0);
  return results.every((r) => r.code === 0) ? 0 : 1;
}

async function runFile(file, cwd, env) {
  const reports = mkdtempSync(path.join(tmpdir(), 'barysafe-test-reports-'));
  const started = Date.now();
  // Set when this runs under `node --test` itself: its files would then report in its own
  // serialized format, not TAP.
  const { NODE_TEST_CONTEXT: _, ...fileEnv } = env;
  const child = spawn(process.execPath, [file], {
    cwd,
    env: {
      ...fileEnv,
      NODE_OPTIONS: [env.NODE_OPTIONS, '--report-on-signal', `--report-directory=${reports}`].filter(Boolean).join(' '),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: a hung file is killed with whatever it started
  });
  runningGroups.add(child.pid);
  const out = [];
  child.stdout.on('data', (b) => out.push(b));
  child.stderr.on('data', (b) => out.push(b));
  let diagnosis;
  let diagnosing;
  let exited = false;
  const timer = setTimeout(() => {
    diagnosing = diagnose(child.pid, reports).then((d) => {
      diagnosis = d;
      if (!exited) killGroup(child.pid); // one that ended meanwhile: its pids may be reused already
    });
  }, FILE_LIMIT_MS);
  const code = await new Promise((resolve) => {
    child.once('error', (e) => {
      out.push(Buffer.from(`run-tests: could not start ${file}: ${e.message}\n`));
      resolve(1);
    });
    child.once('exit', (c, sig) => {
      exited = true;
      resolve(c ?? 128 + (sig === 'SIGKILL' ? 9 : 15));
    });
  });
  clearTimeout(timer);
  // A diagnosis under way still reads the reports directory, removed below.
  await diagnosing;
  // A process the file left running may hold the pipes open (node --test waits for it without
  // end); its output is not waited for, and the file is named.
  const closed = await Promise.race([
    Promise.all(
      [child.stdout, child.stderr].map((s) => new Promise((r) => (s.closed ? r() : s.once('close', r)))),
    ).then(() => true),
    sleep(3000).then(() => false),
  ]);
  if (!closed)
    out.push(Buffer.from(`run-tests: warning: ${file} ended, but a process it started still holds its output open\n`));
  child.stdout.destroy();
  child.stderr.destroy();
  runningGroups.delete(child.pid);
  rmSync(reports, { recursive: true, force: true });
  const text = Buffer.concat(out).toString('utf8');
  return { file, code, hung: diagnosis !== undefined, diagnosis, ms: Date.now() - started, text, counts: counts(text) };
}

function killGroup(pgid) {
  for (const pid of tree(pgid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** `root` and every process descended from it (a test's children may have left its group). */
function tree(root) {
  const parents = new Map();
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      // The parent is the 2nd field after the command name, which may itself contain spaces.
      const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
      parents.set(Number(n), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const found = [root];
  for (let i = 0; i < found.length; i++)
    for (const [pid, ppid] of parents) if (ppid === found[i] && !found.includes(pid)) found.push(pid);
  return found;
}

function describe(pid) {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    const threads = readdirSync(`/proc/${pid}/task`).length;
    return `${pid} [${state}, ${threads} threads] ${cmd.slice(0, 300)}`;
  } catch {
    return `${pid} (gone)`;
  }
}

const isNode = (pid) => {
  try {
    return readlinkSync(`/proc/${pid}/exe`) === process.execPath;
  } catch {
    return false;
  }
};

/** What a hung file's processes are doing, read before they are killed. */
async function diagnose(root, reports) {
  const pids = tree(root);
  const lines = [`processes:`, ...pids.map((p) => `  ${describe(p)}`)];
  for (const p of pids.filter(isNode)) {
    try {
      process.kill(p, 'SIGUSR2'); // --report-on-signal: a report once its JS thread takes interrupts
    } catch {
      /* gone */
    }
  }
  await sleep(3000);
  for (const name of readdirSync(reports)) {
    try {
      const r = JSON.parse(readFileSync(path.join(reports, name), 'utf8'));
      const handles = (r.libuv ?? []).filter((h) => h.is_active && h.is_referenced);
      lines.push(
        `report of ${r.header?.processId} (${(r.header?.commandLine ?? []).join(' ').slice(0, 200)}):`,
        `  JS stack: ${r.javaScriptStack?.message ?? ''}`,
        ...(r.javaScriptStack?.stack ?? []).slice(0, 25).map((l) => `    ${l}`),
        `  referenced handles: ${handles.map((h) => (h.filename ? `${h.type} ${h.filename}` : h.type)).join(', ') || 'none'}`,
        `  worker threads: ${(r.workers ?? []).length}`,
      );
    } catch (e) {
      lines.push(`report ${name}: unreadable (${e.message})`);
    }
  }
  if (readdirSync(reports).length === 0)
    lines.push('no diagnostic report: no JS thread answered (blocked in native code?)');
  const gdb = ['/usr/bin/gdb', '/bin/gdb'].find((g) => existsSync(g));
  if (gdb) {
    try {
      const { stdout } = await promisify(execFile)(
        gdb,
        ['-p', String(root), '-batch', '-nx', '-ex', 'set pagination off', '-ex', 'thread apply all bt 12'],
        { timeout: 60_000, maxBuffer: 16 << 20 },
      );
      // Threads that only wait for work (libuv's pool, V8's platform, the inspector) are left out.
      const idle = /threadpool\.c|PlatformWorkerThread|StartIoThreadMain|DelayedTaskScheduler|SignalHandlerThread/;
      const threads = stdout.split(/\n(?=Thread )/).filter((t) => t.startsWith('Thread ') && !idle.test(t));
      lines.push(
        `native stacks of ${root} (gdb; idle threads left out):`,
        ...threads.flatMap((t) =>
          t
            .split('\n')
            .filter((l) => /^(Thread |#)/.test(l))
            .map((l) => `  ${l.slice(0, 160)}`),
        ),
      );
    } catch (e) {
      lines.push(`gdb could not read ${root}: ${String(e.message).split('\n')[0]}`);
    }
  }
  return lines.join('\n');
}

/** The totals node:test prints at the end of a file's TAP output. */
function counts(text) {
  const get = (k) => Number(text.match(new RegExp(`^# ${k} (\\d+)$`, 'm'))?.[1] ?? 0);
  return {
    tests: get('tests'),
    pass: get('pass'),
    fail: get('fail'),
    skipped: get('skipped'),
    cancelled: get('cancelled'),
  };
}

function printResult(r) {
  const hang = (h) =>
    `run-tests: HUNG: ${r.file} did not end within ${FILE_LIMIT_MS / 1000} s and was killed\n${h.diagnosis}\n` +
    `--- what it had printed ---\n${h.text}`;
  if (r.earlier) process.stdout.write(`${hang(r.earlier)}\nrun-tests: ${r.file}: run once more\n`);
  if (r.hung) process.stdout.write(hang(r));
  else process.stdout.write(r.text);
  process.stdout.write(`# run-tests: ${r.file}: exit ${r.code}, ${(r.ms / 1000).toFixed(1)} s\n`);
}

function printSummary(results, ms) {
  const sum = (k) => results.reduce((a, r) => a + r.counts[k], 0);
  const failed = results.filter((r) => r.code !== 0);
  const hung = results.filter((r) => r.hung || r.earlier);
  const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, 5);
  console.log(
    [
      `run-tests: ${results.length} files, ${sum('tests')} tests: ${sum('pass')} pass, ${sum('fail')} fail, ` +
        `${sum('cancelled')} cancelled, ${sum('skipped')} skipped, in ${(ms / 1000).toFixed(0)} s`,
      `run-tests: slowest: ${slowest.map((r) => `${path.basename(r.file)} ${(r.ms / 1000).toFixed(0)} s`).join(', ')}`,
      ...hung.map(
        (r) =>
          `run-tests: HUNG: ${r.file}${r.hung ? ' twice' : `, then ${r.code === 0 ? 'passed' : 'failed'} on its second run`} (diagnosis above)`,
      ),
      ...failed.map((r) => `run-tests: FAILED: ${r.file} (exit ${r.code})`),
    ].join('\n'),
  );
}
