// The CLI's contract at its edges: usage errors exit 2 with a message and a hint, no stack trace;
// --json failures print one JSON error document on stdout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from './support/deployments.js';
import { ExitCode } from '../src/errors.js';

test('usage errors: clear message, hint, exit 2, no stack trace', async () => {
  const cases: Array<[string[], RegExp]> = [
    [
      ['--config', '/nonexistent/barysafe.toml', 'backup'],
      /cannot read barysafe config \/nonexistent\/barysafe\.toml: no such file/,
    ],
    [['--config', '/nonexistent/barysafe.toml', 'check'], /cannot read barysafe config/],
    [['check', '--only', 'no.such-check'], /--only names unknown check\(s\): no\.such-check/],
    [['restore', 'latest', '--config', '/nonexistent/barysafe.toml'], /cannot read barysafe config/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, ExitCode.USAGE, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /hint: /);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  const unknown = await runCli(['frobnicate']);
  assert.equal(unknown.code, ExitCode.USAGE);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  const json = await runCli(['--json', '--config', '/nonexistent/barysafe.toml', 'snapshots']);
  assert.equal(json.code, ExitCode.USAGE);
  const doc = JSON.parse(json.stdout) as { ok: boolean; error: { kind: string; exit_code: number } };
  assert.deepEqual([doc.ok, doc.error.kind, doc.error.exit_code], [false, 'config', 2]);
});

test('a reader that closes the pipe early (`| head -1`) ends the output quietly: exit 0, no EPIPE trace', async () => {
  const { execFile } = await import('node:child_process');
  const { CLI } = await import('./support/deployments.js');
  for (const args of ['agent --help', '--help', 'check --list']) {
    // `head -c1` exits after one byte, so the rest of barysafe's output meets a closed pipe.
    const out = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
      execFile(
        'bash',
        ['-c', `"${process.execPath}" "${CLI}" ${args} | head -c1 >/dev/null; echo "status=\${PIPESTATUS[0]}"`],
        (err, stdout, stderr) => (err ? reject(err) : resolve({ stdout, stderr })),
      ),
    );
    assert.equal(out.stdout.trim(), 'status=0', `${args}: ${out.stderr}`);
    assert.doesNotMatch(out.stderr, /EPIPE|Unhandled|at .*\(node:/, args);
  }
});
