// The completion scripts, run by the real shells: what bash offers after each prefix, and what zsh's
// completion system adds when the words and a TAB are typed into an interactive zsh (zpty).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CLI, REPO_ROOT } from './support/deployments.js';
import { makeTempDir, type TempDir } from './support/services.js';

function script(shell: string): string {
  const r = spawnSync(process.execPath, [CLI, 'completion', shell], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** COMPREPLY for the command line `words` (the last one being completed), as bash computes it. */
function complete(words: string[]): string[] {
  const arr = words.map((w) => `'${w}'`).join(' ');
  const probe = `${script('bash')}\nCOMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; _barysafe; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['--norc', '-c', probe], {
    encoding: 'utf8',
    cwd: '/',
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).sort();
}

test('bash: commands, then the options of the command, then the choices of an option', () => {
  assert.deepEqual(complete(['barysafe', 've']), ['verify', 'verify-evidence', 'verify-report']);
  assert.ok(complete(['barysafe', '--config', 'x.toml', 'restore', '--v']).includes('--verify'));
  assert.deepEqual(complete(['barysafe', 'check', '--format', '']), ['json', 'junit', 'markdown', 'sarif', 'text']);
  assert.deepEqual(complete(['barysafe', '--log-level', 'w']), ['warn']);
  assert.deepEqual(complete(['barysafe', 'completion', '--h']), ['--help']);
});

const zsh = spawnSync('zsh', ['-fc', 'zmodload zsh/zpty']).status === 0;
let tmp: TempDir;
before(async () => (tmp = await makeTempDir('barysafe-zsh-')));
after(() => tmp?.cleanup());

/**
 * What zsh's completion system offers for `line` (typed, then TAB) in an empty folder: every match
 * the completion functions add, recorded by a compadd wrapper (test/support/zsh/capture.zsh).
 * `installed`: the script as an autoloaded _barysafe in $fpath instead of sourced after compinit.
 */
function zshComplete(line: string, opts: { installed?: boolean } = {}): string[] {
  const out = path.join(tmp.path, 'matches');
  const file = path.join(tmp.path, 'completion.zsh');
  const fpath = path.join(tmp.path, 'fpath');
  rmSync(out, { force: true });
  writeFileSync(file, script('zsh'));
  if (opts.installed) {
    mkdirSync(fpath, { recursive: true });
    writeFileSync(path.join(fpath, '_barysafe'), script('zsh'));
  }
  const cwd = path.join(tmp.path, 'empty');
  mkdirSync(cwd, { recursive: true });
  const r = spawnSync('zsh', ['-f', path.join(REPO_ROOT, 'test/support/zsh/complete.zsh'), line], {
    encoding: 'utf8',
    cwd,
    timeout: 30_000,
    env: {
      PATH: process.env.PATH,
      HOME: tmp.path,
      TERM: 'xterm',
      BARYSAFE_COMPLETION_OUT: out,
      ...(opts.installed ? { BARYSAFE_COMPLETION_FPATH: fpath } : { BARYSAFE_COMPLETION_SCRIPT: file }),
    },
  });
  assert.equal(r.status, 0, `zsh harness for ${JSON.stringify(line)}: ${r.stdout}${r.stderr}`);
  assert.ok(existsSync(out));
  const lines = readFileSync(out, 'utf8').split('\n');
  return [...new Set(lines.filter((l) => l && l !== '#done'))].sort();
}

test(
  'zsh: commands, then the options of the command, then the choices of an option',
  { skip: zsh ? false : 'no zsh with the zpty module here' },
  () => {
    assert.deepEqual(zshComplete('barysafe ve'), ['verify', 'verify-evidence', 'verify-report']);
    assert.deepEqual(zshComplete('barysafe --config x.toml restore --v'), ['--verify']);
    assert.deepEqual(zshComplete('barysafe check --format '), ['json', 'junit', 'markdown', 'sarif', 'text']);
    assert.deepEqual(zshComplete('barysafe --log-level w'), ['warn']);
    assert.deepEqual(zshComplete('barysafe completion '), ['bash', 'zsh']);
    // A subcommand's own commands and options (evidence sign --key).
    assert.deepEqual(zshComplete('barysafe evidence s'), ['sign']);
    assert.deepEqual(zshComplete('barysafe evidence sign --k'), ['--key']);
    // Nothing for a command that does not exist.
    assert.deepEqual(zshComplete('barysafe nosuchcommand --'), []);
    // Installed as the file _barysafe in $fpath (what packagers do), it is autoloaded by compinit.
    assert.deepEqual(zshComplete('barysafe check --format j', { installed: true }), ['json', 'junit']);
  },
);

test('an unknown shell is a usage error', () => {
  const r = spawnSync(process.execPath, [CLI, 'completion', 'fish'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /value 'fish' is invalid for argument 'shell'\. Allowed choices are bash, zsh/);
});
