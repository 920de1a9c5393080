// The logger (src/log.ts), run in a child process as the CLI runs it: its lines on a real stderr pipe.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createLogger } from '../src/log.js';

const logModule = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'log.js')).href;

/** Runs `body` with `createLogger` imported; returns its stderr lines. */
function logged(body: string, env: Record<string, string> = {}): { lines: string[]; status: number | null } {
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `import { createLogger } from ${JSON.stringify(logModule)};\n${body}`],
    { encoding: 'utf8', env: { ...process.env, BARYSAFE_LOG_LEVEL: '', BARYSAFE_LOG_FORMAT: '', ...env } },
  );
  assert.equal(r.stdout, '', 'nothing on stdout: it belongs to --json documents');
  return { lines: r.stderr.split('\n').filter(Boolean), status: r.status };
}

test('JSON lines: level, ISO time, bindings, fields, msg, in that order; below the level nothing', () => {
  const { lines } = logged(`
    const log = createLogger({ level: 'info', format: 'json' });
    log.debug('not shown');
    log.info('plain');
    log.child({ job: 'backup', run_id: 7 }).warn({ artifact: 'barycenter.db' }, 'slow');
    log.error({ count: 12n }, 'a bigint');
    const loop = { name: 'loop' }; loop.self = loop;
    log.info({ loop }, 'a cycle');
    log.info({ only: 'fields' });
    process.exit(3); // written synchronously: nothing is lost to the exit
  `);
  assert.equal(lines.length, 5, lines.join('\n'));
  const docs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(Object.keys(docs[0]!), ['level', 'time', 'msg']);
  assert.equal(docs[0]!.level, 'info');
  assert.equal(docs[0]!.msg, 'plain');
  assert.match(String(docs[0]!.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(Object.keys(docs[1]!), ['level', 'time', 'job', 'run_id', 'artifact', 'msg']);
  assert.deepEqual(
    { level: docs[1]!.level, job: docs[1]!.job, run_id: docs[1]!.run_id, artifact: docs[1]!.artifact },
    { level: 'warn', job: 'backup', run_id: 7, artifact: 'barycenter.db' },
  );
  assert.equal(docs[2]!.count, '12');
  assert.deepEqual(docs[3]!.loop, { name: 'loop', self: '[Circular]' });
  assert.deepEqual(Object.keys(docs[4]!), ['level', 'time', 'only'], 'no msg key when none was given');
});

test('secrets are scrubbed from messages, fields, bindings and errors', () => {
  const url = 'postgres://barycenter:hunter2@db.internal:5432/idp';
  const { lines } = logged(`
    const log = createLogger({ level: 'debug', format: 'json' });
    log.debug('connecting to ${url}');
    log.child({ target: '${url}' }).info({ url: '${url}', why: new Error('auth failed for ${url}') }, 'failed');
    log.warn(new Error('pg_dump: ${url}: password authentication failed'));
    log.info({ key: 'AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ' }, 'identity');
  `);
  const all = lines.join('\n');
  assert.equal(lines.length, 4, all);
  assert.doesNotMatch(all, /hunter2/);
  assert.doesNotMatch(all, /AGE-SECRET-KEY-1Q/);
  assert.match(all, /postgres:\/\/barycenter:\*\*\*@db\.internal/, 'what is not secret stays readable');
  const err = JSON.parse(lines[2]!) as { err: { type: string; message: string } };
  assert.equal(err.err.type, 'Error');
  assert.match(err.err.message, /password authentication failed/);
});

test('on a terminal format: one short line per message, fields after it', () => {
  const { lines } = logged(`
    const log = createLogger({ level: 'info', format: 'text' });
    log.child({ step: 'key' }).info('drill step key: pass');
    log.error({ code: 3 }, 'the copy failed');
  `);
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d info  drill step key: pass \(step=key\)$/);
  assert.match(lines[1]!, /^\d\d:\d\d:\d\d error the copy failed \(code=3\)$/);
});

test('BARYSAFE_LOG_LEVEL and BARYSAFE_LOG_FORMAT choose, "silent" says nothing, an unknown level is refused by name', () => {
  const env = logged(`createLogger().warn('from env'); createLogger().info('hidden');`, {
    BARYSAFE_LOG_LEVEL: 'warn',
    BARYSAFE_LOG_FORMAT: 'json',
  });
  assert.deepEqual(
    env.lines.map((l) => (JSON.parse(l) as { msg: string }).msg),
    ['from env'],
  );
  const silent = logged(`const l = createLogger({ level: 'silent' }); l.error('no'); l.child({ a: 1 }).error('no');`);
  assert.deepEqual(silent.lines, []);
  assert.throws(
    () => createLogger({ level: 'verbose' }),
    (e: Error & { hint?: string }) =>
      /unknown log level "verbose"/.test(e.message) && /debug, info, warn, error, silent/.test(e.hint ?? ''),
  );
});
