// Usage mistakes and conflicting flags, as a table: each is refused with exit 2 and a message that
// says what is wrong, in text on stderr and, with --json, as the same error document every other
// failure prints — never commander's exit 1, never a silent ignore, never an internal error (70).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeDeployment, runCli, setupFileRepository, type BarysafeSetup } from './support/deployments.js';
import type { Deployment } from './support/deployments.js';
import { ExitCode } from '../src/errors.js';

let d: Deployment;
let s: BarysafeSetup & { repoRoot: string };

before(async () => {
  d = await makeDeployment();
  s = await setupFileRepository(d);
  const b = await runCli(['--config', s.configPath, 'backup']);
  assert.equal(b.code, 0, b.stderr);
});
after(async () => d?.dir.cleanup());

interface Row {
  what: string;
  args: () => string[];
  message: RegExp;
  /** A conflict with --json itself: there is no text form to try. */
  jsonOnly?: boolean;
}

const rows: Row[] = [
  { what: 'an unknown global option', args: () => ['--bogus', 'snapshots'], message: /unknown option '--bogus'/ },
  {
    what: 'an unknown option of a command',
    args: () => ['--config', s.configPath, 'restore', '--bogus'],
    message: /unknown option '--bogus'/,
  },
  { what: 'an unknown command', args: () => ['snapshot'], message: /unknown command 'snapshot'/ },
  {
    what: 'a bad choice',
    args: () => ['--config', s.configPath, 'check', '--format', 'html'],
    message: /argument 'html' is invalid\. Allowed choices are text, json, junit, sarif, markdown/,
  },
  {
    what: 'an unknown --log-level',
    args: () => ['--log-level', 'loud', 'snapshots'],
    message: /argument 'loud' is invalid\. Allowed choices are debug, info, warn, error/,
  },
  {
    what: 'a missing required option',
    args: () => ['copy'],
    message: /required option '--to <url>' not specified/,
  },
  {
    what: 'a missing option value',
    args: () => ['--config'],
    message: /option '--config <file>' argument missing/,
  },
  {
    what: '--json with --format junit',
    args: () => ['--config', s.configPath, 'check', '--format', 'junit'],
    message: /--json prints the JSON report; it cannot be combined with --format junit/,
    jsonOnly: true,
  },
  {
    what: '--verify with --to',
    args: () => ['--config', s.configPath, 'restore', '--verify', '--to', path.join(d.dir.path, 'r')],
    message: /--verify restores into a scratch instance of its own; --to cannot be combined with it/,
  },
  {
    what: '--verify with --force and --clean',
    args: () => ['--config', s.configPath, 'restore', '--verify', '--force', '--clean'],
    message: /--force, --clean cannot be combined with it/,
  },
  {
    what: '--pg-url for an SQLite snapshot',
    args: () => [
      '--config',
      s.configPath,
      'restore',
      'latest',
      '--to',
      path.join(d.dir.path, 'r-pg'),
      '--pg-url',
      'postgres://restore@127.0.0.1:1/scratch',
    ],
    message: /--pg-url names a PostgreSQL target, but snapshot \S+ holds an SQLite database/,
  },
  {
    what: 'restore without --to or --verify',
    args: () => ['--config', s.configPath, 'restore', 'latest'],
    message: /restore needs --to DIR \(or --verify for a drill\)/,
  },
  {
    what: 'a duration that is not one',
    args: () => [
      '--config',
      s.configPath,
      'report',
      '--output',
      path.join(d.dir.path, 'r.html'),
      '--since',
      'last tuesday',
    ],
    message: /--since last tuesday is neither a date/,
  },
];

describe('usage mistakes exit 2 with a message, in text and in --json', () => {
  for (const row of rows) {
    test(row.what, async () => {
      if (!row.jsonOnly) {
        const text = await runCli(row.args());
        assert.equal(text.code, ExitCode.USAGE, text.stderr);
        assert.match(text.stderr, row.message);
        assert.doesNotMatch(text.stderr, /internal error|at .*\.js:\d+/);
      }

      const json = await runCli(['--json', ...row.args()]);
      assert.equal(json.code, ExitCode.USAGE, json.stderr);
      const doc = JSON.parse(json.stdout) as {
        ok: boolean;
        error: { kind: string; message: string; exit_code: number };
      };
      assert.equal(doc.ok, false);
      assert.equal(doc.error.exit_code, ExitCode.USAGE);
      assert.equal(doc.error.kind, 'usage');
      assert.match(doc.error.message, row.message);
    });
  }
});

describe('TOML mistakes name the line and column, and show the line with its values masked', () => {
  test("barysafe's own config", async () => {
    const bad = path.join(d.dir.path, 'bad.toml');
    await writeFile(bad, '[repository]\nurl = "file:///x"\npassword = "hunter2\n[barycenter]\n');
    const r = await runCli(['--config', bad, 'snapshots']);
    assert.equal(r.code, ExitCode.USAGE, r.stderr);
    assert.match(r.stderr, /bad\.toml is not valid TOML at line 3, column \d+: /);
    assert.match(r.stderr, /2: {2}url = "…"/);
    assert.doesNotMatch(r.stderr, /hunter2/);
  });
  test("Barycenter's config", async () => {
    await writeFile(d.configPath, '[server]\nport = 8080\n[database\nurl = "postgres://u:secret@db/x"\n');
    const r = await runCli(['--config', s.configPath, 'backup']);
    assert.equal(r.code, ExitCode.SOURCE, r.stderr);
    assert.match(r.stderr, /is not valid TOML at line 3, column \d+: /);
    assert.doesNotMatch(r.stderr, /secret/);
  });
});
