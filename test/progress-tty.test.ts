// The progress bars draw on a terminal only, with cli-progress loaded at the first bar; a pseudo
// terminal from script(1) stands in for the operator's.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { makeTempDir } from './support/services.js';

const progressModule = pathToFileURL(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'progress.js'),
).href;

async function onTerminal(body: string): Promise<string> {
  const dir = await makeTempDir('barysafe-tty-');
  try {
    const file = path.join(dir.path, 'draw.mjs');
    await writeFile(
      file,
      `import { progressReporter, phaseReporter } from ${JSON.stringify(progressModule)};\n${body}\n`,
    );
    const { stdout } = await promisify(execFile)('script', ['-qec', `node ${file}`, '/dev/null'], { timeout: 20_000 });
    return stdout;
  } finally {
    await dir.cleanup();
  }
}

test('on a terminal the byte counter and the drill line draw; off one, nothing loads or draws', async () => {
  const out = await onTerminal(`
    const p = progressReporter(true, () => 64 * 1048576);
    p.update('barycenter.db', 16 * 1048576);
    await new Promise((r) => setTimeout(r, 50));
    p.update('barycenter.db', 32 * 1048576);
    p.stop();
    const d = phaseReporter(2);
    d.onPhase({ state: 'start', phase: 'extract' });
    await new Promise((r) => setTimeout(r, 300));
    d.stop();
    const loaded = Object.keys((await import('node:module')).createRequire(import.meta.url).cache);
    console.log('loaded:' + loaded.some((f) => f.includes('cli-progress')));
  `);
  assert.match(out, /barycenter\.db .* (16|32) MiB \/ 64 MiB/);
  assert.match(out, /drill \[.*\] 0\/2 extract/);
  assert.match(out, /loaded:true/);

  const quiet = await onTerminal(`
    const p = progressReporter(false);
    p.update('barycenter.db', 32 * 1048576);
    p.stop();
    const loaded = Object.keys((await import('node:module')).createRequire(import.meta.url).cache);
    console.log('loaded:' + loaded.some((f) => f.includes('cli-progress')));
  `);
  assert.doesNotMatch(quiet, /MiB/);
  assert.match(quiet, /loaded:false/);
});
