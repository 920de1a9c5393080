import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SYSTEM_CONFIG, configPathFrom } from '../src/config/load.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('the config is found without --config: --config, $BARYSAFE_CONFIG, ./barysafe.toml, then /etc/barysafe', () => {
  const local = path.resolve('barysafe.toml');
  const only =
    (...present: string[]) =>
    (p: string) =>
      present.includes(p);
  assert.equal(configPathFrom('x.toml', { BARYSAFE_CONFIG: '/env.toml' }, only()), path.resolve('x.toml'));
  assert.equal(configPathFrom(undefined, { BARYSAFE_CONFIG: '/env.toml' }, only(local, SYSTEM_CONFIG)), '/env.toml');
  assert.equal(configPathFrom(undefined, {}, only(local, SYSTEM_CONFIG)), local);
  assert.equal(configPathFrom(undefined, {}, only(SYSTEM_CONFIG)), SYSTEM_CONFIG);
  // Neither exists: the error names the place a user looks first.
  assert.equal(configPathFrom(undefined, {}, only()), local);
});

test('bin/barysafe tells "not built" from "dependencies missing"', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'barysafe-bin-'));
  try {
    mkdirSync(path.join(dir, 'bin'));
    copyFileSync(path.join(root, 'bin', 'barysafe'), path.join(dir, 'bin', 'barysafe'));
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    const run = () => spawnSync(process.execPath, [path.join(dir, 'bin', 'barysafe'), '--help'], { encoding: 'utf8' });

    const unbuilt = run();
    assert.equal(unbuilt.status, 2);
    assert.match(unbuilt.stderr, /the CLI is not built: run `npm ci && npm run build`/, 'no compiler: npm ci first');

    // The bundle imports the packages it does not hold (dotenv, better-sqlite3…) from node_modules.
    mkdirSync(path.join(dir, 'dist', 'bundle'), { recursive: true });
    writeFileSync(path.join(dir, 'dist', 'bundle', 'main.js'), "import 'dotenv';\nexport function main() {}\n");
    const noDeps = run();
    assert.equal(noDeps.status, 2);
    assert.match(noDeps.stderr, /dependencies are missing \(dotenv\): run `npm ci`/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
