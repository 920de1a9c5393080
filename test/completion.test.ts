// The completion script, run by real bash: what they offer after each prefix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'barysafe');

/** COMPREPLY for the command line `words` (the last one being completed), as bash computes it. */
function complete(words: string[]): string[] {
  const script = spawnSync(process.execPath, [CLI, 'completion', 'bash'], { encoding: 'utf8' });
  assert.equal(script.status, 0, script.stderr);
  const arr = words.map((w) => `'${w}'`).join(' ');
  const probe = `${script.stdout}\nCOMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; _barysafe; printf '%s\\n' "\${COMPREPLY[@]}"`;
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

test('an unknown shell is a usage error', () => {
  const r = spawnSync(process.execPath, [CLI, 'completion', 'fish'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no completion for "fish": only bash is generated/);
});
