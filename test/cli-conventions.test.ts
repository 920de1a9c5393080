// Usage mistakes, conflicting flags and ordinary mistakes, as tables: each is refused with its
// documented exit code and a message that says what is wrong, in text on stderr and, with --json,
// as the same error document every other failure prints — never commander's exit 1, never a
// silent ignore, never an internal error (70). Full and read-only disks are real tmpfs mounts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CLI, makeDeployment, runCli, setupFileRepository, type BarysafeSetup } from './support/deployments.js';
import type { CliResult, Deployment } from './support/deployments.js';
import { canMountTmpfs, mountTmpfs, unmountAll } from './support/mounts.js';
import { getS3, makeTempDir, useS3Credentials, type TempDir, type TestS3 } from './support/services.js';
import { ExitCode, type ExitCodeValue } from '../src/errors.js';

let d: Deployment;
let s: BarysafeSetup & { repoRoot: string };
let s3: TestS3;
/** A world-readable folder for the runs as an unprivileged user (the deployment's is 0700). */
let open: TempDir;
const mounts = canMountTmpfs();
const nobody = spawnSync('setpriv', ['--version']).status === 0;

/** barysafe.toml of the deployment with another repository (url and extra [repository] lines). */
async function configWith(name: string, url: string, extra = '', dir = d.dir.path): Promise<string> {
  const text = (await readFile(s.configPath, 'utf8')).replace(/^url = .*$/m, `url = "${url}"\n${extra}`);
  const file = path.join(dir, `${name}.toml`);
  await writeFile(file, text, { mode: 0o644 });
  return file;
}
const cfg: Record<string, string> = {};

before(async () => {
  d = await makeDeployment();
  s = await setupFileRepository(d);
  const b = await runCli(['--config', s.configPath, 'backup']);
  assert.equal(b.code, 0, b.stderr);
  s3 = await getS3();
  useS3Credentials(s3);
  const at = (p: string) => path.join(d.dir.path, p);
  cfg.missing = await configWith('missing', `file://${at('does/not/exist')}`);
  cfg.empty = await configWith('empty', `file://${at('empty-repo')}`);
  await mkdir(at('empty-repo'));
  cfg.noBucket = await configWith(
    'no-bucket',
    's3://missing-bucket-4f1d/prefix',
    `endpoint = "${s3.endpoint}"\nregion = "${s3.region}"\nforce_path_style = true`,
  );
  await writeFile(at('a-file'), 'not a directory');
  if (mounts) {
    await mountTmpfs(at('ro'), { size: '1m', readOnly: true, fill: (dir) => mkdirSync(path.join(dir, 'repo')) });
    cfg.readOnly = await configWith('read-only', `file://${at('ro/repo')}`);
    await mountTmpfs(at('full'), { size: '128k' });
    cfg.full = await configWith('full', `file://${at('full/repo')}`);
    await mountTmpfs(at('full-to'), { size: '64k' });
  }
  // A repository folder only root may enter, and a config and state folder the other user can read.
  open = await makeTempDir('barysafe-open-');
  await chmod(open.path, 0o755);
  await mkdir(path.join(open.path, 'repo/snapshots'), { recursive: true, mode: 0o700 });
  await chmod(path.join(open.path, 'repo'), 0o700);
  const text = await readFile(await configWith('closed', `file://${path.join(open.path, 'repo')}`), 'utf8');
  cfg.closed = path.join(open.path, 'closed.toml');
  await writeFile(cfg.closed, text.replace(/^(identity_file|signing_key_file|verify_key) = .*$/gm, ''), {
    mode: 0o644,
  });
});
after(async () => {
  unmountAll();
  await open?.cleanup();
  await d?.dir.cleanup();
});

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
    const good = await readFile(d.configPath, 'utf8');
    await writeFile(d.configPath, '[server]\nport = 8080\n[database\nurl = "postgres://u:secret@db/x"\n');
    try {
      const r = await runCli(['--config', s.configPath, 'backup']);
      assert.equal(r.code, ExitCode.SOURCE, r.stderr);
      assert.match(r.stderr, /is not valid TOML at line 3, column \d+: /);
      assert.doesNotMatch(r.stderr, /secret/);
    } finally {
      await writeFile(d.configPath, good); // the tables after this one back up the deployment
    }
  });
});

interface Mistake {
  what: string;
  args: () => string[];
  code: ExitCodeValue;
  kind: string;
  message: RegExp;
  hint?: RegExp;
  /** A local folder: its hint never speaks of an endpoint, credentials or the network. */
  local?: boolean;
  needs?: 'mounts' | 'nobody';
  /** Run as an unprivileged user (uid 65534). */
  asNobody?: boolean;
  /** What must (not) be left behind afterwards. */
  left?: () => void;
}

const missingRepo = {
  code: ExitCode.REPOSITORY,
  kind: 'repository',
  message: /^no repository at file:\/\/\S+\/does\/not\/exist: the folder \S+ does not exist/,
  hint: /check repository\.url, or run `barysafe backup` once to create the folder/,
  local: true,
};
const missingDir = (cmd: string) => ({
  code: ExitCode.USAGE,
  kind: 'output',
  message: new RegExp(`--output /nonexistent/dir/${cmd}\\.txt: the directory /nonexistent/dir does not exist`),
  hint: /mkdir -p \/nonexistent\/dir/,
});
const at = (p: string) => path.join(d.dir.path, p);

const mistakes: Mistake[] = [
  {
    what: 'snapshots of a repository that does not exist',
    args: () => ['--config', cfg.missing!, 'snapshots'],
    ...missingRepo,
  },
  { what: 'keys of a repository that does not exist', args: () => ['--config', cfg.missing!, 'keys'], ...missingRepo },
  {
    what: 'verify of a repository that does not exist',
    args: () => ['--config', cfg.missing!, 'verify'],
    ...missingRepo,
  },
  {
    what: 'forget in a repository that does not exist',
    args: () => ['--config', cfg.missing!, 'forget', '--keep-last', '1'],
    ...missingRepo,
  },
  {
    what: 'restore from a repository that does not exist',
    args: () => ['--config', cfg.missing!, 'restore', 'latest', '--to', at('r-missing')],
    ...missingRepo,
  },
  {
    what: 'copy from a repository that does not exist',
    args: () => ['--config', cfg.missing!, 'copy', '--to', `file://${at('copy-target')}`],
    ...missingRepo,
    left: () => assert.ok(!existsSync(at('copy-target')), 'no empty target is made'),
  },
  {
    what: 'snapshots of a bucket that does not exist',
    args: () => ['--config', cfg.noBucket!, 'snapshots'],
    code: ExitCode.REPOSITORY,
    kind: 'repository',
    message:
      /^no repository at s3:\/\/missing-bucket-4f1d\/prefix\/?: bucket missing-bucket-4f1d does not exist at \S+ \(NoSuchBucket\)/,
    hint: /create the bucket/,
  },
  {
    what: 'check --output into a missing directory',
    args: () => ['--config', s.configPath, 'check', '--no-evidence', '--output', '/nonexistent/dir/check.txt'],
    ...missingDir('check'),
  },
  {
    what: 'report --output into a missing directory',
    args: () => ['--config', s.configPath, 'report', '--output', '/nonexistent/dir/report.txt'],
    ...missingDir('report'),
  },
  {
    what: 'evidence sign --output into a missing directory',
    args: () => [
      'evidence',
      'sign',
      s.configPath,
      '--key',
      path.join(s.etc, 'signing.pem'),
      '--output',
      '/nonexistent/dir/evidence.txt',
    ],
    ...missingDir('evidence'),
  },
  {
    what: 'restore --to an existing regular file',
    args: () => ['--config', s.configPath, 'restore', 'latest', '--to', at('a-file')],
    code: ExitCode.USAGE,
    kind: 'restore',
    message: /--to \S+\/a-file is a file, not a directory/,
    hint: /name a directory/,
  },
  {
    what: 'backup into a repository on a read-only file system',
    args: () => ['--config', cfg.readOnly!, 'backup'],
    code: ExitCode.REPOSITORY,
    kind: 'repository',
    message: /repository \S+\/ro\/repo is not writable: read-only file system \(EROFS\)/,
    hint: /mounted read-only: remount it read-write, or point repository\.url at a writable folder/,
    local: true,
    needs: 'mounts',
  },
  {
    what: 'restore --to a read-only file system',
    args: () => ['--config', s.configPath, 'restore', 'latest', '--to', at('ro/restored')],
    code: ExitCode.USAGE,
    kind: 'restore',
    message: /cannot create --to \S+\/ro\/restored: read-only file system \(EROFS\)/,
    hint: /read-only file system: restore into a directory on a writable one/,
    needs: 'mounts',
  },
  {
    what: 'check --output onto a read-only file system',
    args: () => ['--config', s.configPath, 'check', '--no-evidence', '--output', at('ro/check.txt')],
    code: ExitCode.USAGE,
    kind: 'output',
    message: /cannot write --output \S+\/ro\/check\.txt: read-only file system \(EROFS\)/,
    hint: /read-only file system/,
    needs: 'mounts',
  },
  {
    what: 'demo --dir on a read-only file system',
    args: () => ['demo', '--dir', at('ro/demo')],
    code: ExitCode.USAGE,
    kind: 'usage',
    message: /cannot create --dir \S+\/ro\/demo: read-only file system \(EROFS\)/,
    hint: /writable file system/,
    needs: 'mounts',
  },
  {
    what: 'backup into a full repository disk',
    args: () => ['--config', cfg.full!, 'backup'],
    code: ExitCode.REPOSITORY,
    kind: 'repository',
    message: /no space left on device writing snapshots\/\S+ to repository \S+\/full\/repo \(ENOSPC\)/,
    hint: /free space on the file system holding \S+\/full\/repo \(df -h/,
    local: true,
    needs: 'mounts',
    left: () => {
      const snaps = at('full/repo/snapshots');
      assert.deepEqual(existsSync(snaps) ? readdirSync(snaps) : [], [], 'no partial snapshot folder is left');
    },
  },
  {
    what: 'restore --to a full disk',
    args: () => ['--config', s.configPath, 'restore', 'latest', '--to', at('full-to/restored')],
    code: ExitCode.FAILURE,
    kind: 'restore',
    message: /cannot write \S+: no space left on device \(ENOSPC\).*nothing was written/,
    hint: /free space on the file system holding \S+full-to/,
    needs: 'mounts',
    left: () => assert.deepEqual(readdirSync(at('full-to/restored')), [], 'nothing is left in --to'),
  },
  {
    what: 'snapshots of a repository folder the user may not enter',
    args: () => ['--config', cfg.closed!, 'snapshots'],
    code: ExitCode.REPOSITORY,
    kind: 'repository',
    message: /repository \S+\/repo cannot be read: permission denied \(EACCES\) listing snapshots/,
    hint: /run barysafe as a user that can read and write \S+\/repo/,
    local: true,
    needs: 'nobody',
    asNobody: true,
  },
];

/** The CLI as uid/gid 65534, with its own state folder. */
function runAsNobody(args: string[]): CliResult {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, BARYSAFE_STATE_DIR: path.join(open.path, 'state') },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('ordinary mistakes: the documented exit code, what is wrong and a hint that fits the backend', () => {
  for (const row of mistakes) {
    const skip =
      row.needs === 'mounts' && !mounts
        ? 'cannot mount a tmpfs here'
        : row.needs === 'nobody' && !nobody
          ? 'no setpriv here'
          : false;
    test(row.what, { skip }, async () => {
      const runs = async (args: string[]) => (row.asNobody ? runAsNobody(args) : runCli(args));
      const noSecret = (out: string) => {
        assert.doesNotMatch(out, /AGE-SECRET-KEY-|PRIVATE KEY/);
        assert.ok(!out.includes(s3.secretAccessKey), 'the S3 secret key never shows');
      };

      const text = await runs(row.args());
      assert.equal(text.code, row.code, text.stderr);
      const [first, hintLine] = text.stderr.trim().split('\n').slice(-2);
      assert.match(first ?? '', /^barysafe: error: /, text.stderr);
      assert.match(first!.replace(/^barysafe: error: /, ''), row.message);
      if (row.hint) assert.match(hintLine ?? '', row.hint);
      assert.doesNotMatch(text.stderr, /internal error|unexpected error|at .*\.js:\d+/);
      noSecret(text.stdout + text.stderr);
      row.left?.();

      const json = await runs(['--json', ...row.args()]);
      assert.equal(json.code, row.code, json.stderr);
      const doc = JSON.parse(json.stdout) as {
        ok: boolean;
        error: { kind: string; message: string; hint?: string; exit_code: number };
      };
      assert.equal(doc.ok, false);
      assert.equal(doc.error.exit_code, row.code);
      assert.equal(doc.error.kind, row.kind);
      assert.match(doc.error.message, row.message);
      if (row.hint) assert.match(doc.error.hint ?? '', row.hint);
      if (row.local) assert.doesNotMatch(doc.error.hint ?? '', /endpoint|credentials|network/);
      noSecret(json.stdout + json.stderr);
      row.left?.();
    });
  }

  test('an existing but empty repository lists no snapshots (exit 0); backup still creates a missing folder', async () => {
    const empty = await runCli(['--config', cfg.empty!, '--json', 'snapshots']);
    assert.equal(empty.code, 0, empty.stderr);
    assert.deepEqual((JSON.parse(empty.stdout) as { snapshots: unknown[] }).snapshots, []);
    const first = await configWith('first-run', `file://${at('new/folder/repo')}`);
    const b = await runCli(['--config', first, 'backup']);
    assert.equal(b.code, 0, b.stderr);
    const list = await runCli(['--config', first, '--json', 'snapshots']);
    assert.equal((JSON.parse(list.stdout) as { snapshots: unknown[] }).snapshots.length, 1);
  });
});
