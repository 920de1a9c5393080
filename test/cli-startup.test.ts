// The CLI loads a command's modules only when that command runs: `--version` and `--help` stay
// quick, and each command still parses and helps as before.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from './support/deployments.js';
import { makeTempDir } from './support/services.js';
import { commandNamed } from '../src/cli/main.js';
import { VERSION } from '../src/version.js';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');
const root = path.resolve(dist, '..', '..');

/** npm packages reached through static imports from a compiled module (dynamic import() not followed). */
function staticPackages(file: string, seen = new Set<string>(), pkgs = new Set<string>()): Set<string> {
  if (seen.has(file)) return pkgs;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(
    /^\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm,
  )) {
    const spec = (m[1] ?? m[2])!;
    if (spec.startsWith('.')) {
      const next = path.resolve(path.dirname(file), spec);
      if (existsSync(next)) staticPackages(next, seen, pkgs);
    } else if (!spec.startsWith('node:')) pkgs.add(spec);
  }
  return pkgs;
}

describe('CLI start-up', () => {
  test('cli/main statically loads commander and nothing else from npm', () => {
    assert.deepEqual([...staticPackages(path.join(dist, 'cli', 'main.js'))], ['commander']);
  });

  test('backup and restore load neither jose nor cli-progress before they are needed', () => {
    // jose only for the drill's token, cli-progress only for a bar on a terminal: ~40 ms of start-up.
    for (const command of ['backup', 'restore']) {
      const pkgs = staticPackages(path.join(dist, 'cli', `${command}.js`));
      assert.equal(pkgs.has('jose'), false, `${command} reaches jose: ${[...pkgs].join(', ')}`);
      assert.equal(pkgs.has('cli-progress'), false, `${command} reaches cli-progress`);
    }
  });

  test('the bundle bin/barysafe runs has every file the code starts by URL beside it (workers, the drill guard)', () => {
    const bundle = path.resolve(dist, '..', 'bundle');
    assert.ok(existsSync(path.join(bundle, 'main.js')), 'npm run build made dist/bundle/main.js');
    assert.match(readFileSync(path.resolve(dist, '..', '..', 'bin', 'barysafe'), 'utf8'), /dist\/bundle\/main\.js/);
    const started = new Set<string>();
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.js'))
          for (const m of readFileSync(p, 'utf8').matchAll(/new URL\('\.\/([\w-]+\.js)', import\.meta\.url\)/g))
            started.add(m[1]!);
      }
    };
    walk(dist);
    assert.ok(started.size >= 4, [...started].join(', '));
    for (const f of started)
      assert.ok(existsSync(path.join(bundle, f)), `dist/bundle/${f} (an entry point of scripts/bundle.mjs)`);
  });

  test('the command named on the command line is found after the global options', () => {
    const argv = (s: string) => ['node', 'barysafe', ...s.split(' ').filter(Boolean)];
    assert.equal(commandNamed(argv('backup')), 'backup');
    assert.equal(commandNamed(argv('--config /etc/b.toml --json restore latest --to x')), 'restore');
    assert.equal(commandNamed(argv('--log-level debug --config=x.toml check --list')), 'check');
    assert.equal(commandNamed(argv('--version')), undefined);
    assert.equal(commandNamed(argv('--config snapshots')), undefined, 'an option value is not a command');
  });

  test('--version alone is answered from package.json, without loading the CLI; with options, by the CLI', async () => {
    const tmp = await makeTempDir('barysafe-version-');
    try {
      // bin/barysafe and package.json beside a CLI that only says it was loaded.
      await mkdir(path.join(tmp.path, 'bin'));
      await mkdir(path.join(tmp.path, 'dist', 'bundle'), { recursive: true });
      await copyFile(path.join(root, 'bin', 'barysafe'), path.join(tmp.path, 'bin', 'barysafe'));
      await copyFile(path.join(root, 'package.json'), path.join(tmp.path, 'package.json'));
      await writeFile(
        path.join(tmp.path, 'dist', 'bundle', 'main.js'),
        "export function main() { process.stdout.write('the CLI was loaded\\n'); process.exit(3); }\n",
      );
      const bin = path.join(tmp.path, 'bin', 'barysafe');
      for (const flag of ['--version', '-V']) {
        const r = spawnSync(process.execPath, [bin, flag], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, `${VERSION}\n`);
      }
      const other = spawnSync(process.execPath, [bin, '--json', '--version'], { encoding: 'utf8' });
      assert.equal(other.status, 3);
      assert.equal(other.stdout, 'the CLI was loaded\n');
    } finally {
      await tmp.cleanup();
    }
    const withOption = await runCli(['--log-level', 'debug', '--version']);
    assert.equal(withOption.code, 0);
    assert.equal(withOption.stdout.trim(), VERSION);
  });

  test("--version, --help, a command's --help and an unknown command behave as before", async () => {
    const v = await runCli(['--version']);
    assert.equal(v.code, 0);
    assert.equal(v.stdout.trim(), VERSION);
    const h = await runCli(['--help']);
    assert.equal(h.code, 0);
    for (const c of [
      'init',
      'backup',
      'snapshots',
      'restore',
      'check',
      'verify-evidence',
      'evidence',
      'report',
      'verify-report',
      'demo',
    ])
      assert.match(h.stdout, new RegExp(`\\n  ${c}\\b`));
    const b = await runCli(['--json', 'restore', '--help']);
    assert.equal(b.code, 0);
    assert.match(b.stdout, /--pg-url <url>/);
    const u = await runCli(['snapshot']);
    assert.equal(u.code, 2);
    assert.match(u.stderr, /unknown command 'snapshot'[\s\S]*snapshots/);
  });
});
