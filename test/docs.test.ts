// The documentation stays true to the code it describes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCheckCommand } from '../src/cli/check.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('docs/CHECKS.md carries the catalogue exactly as `check --list --format markdown` prints it', async () => {
  const doc = readFileSync(path.join(root, 'docs', 'CHECKS.md'), 'utf8');
  const start = doc.indexOf('-->\n', doc.indexOf('<!-- catalogue:start')) + 4;
  const end = doc.indexOf('<!-- catalogue:end -->');
  assert.ok(start > 3 && end > start, 'docs/CHECKS.md has the catalogue:start/end markers');
  const { output } = await runCheckCommand({ list: true, format: 'markdown' });
  assert.equal(
    doc.slice(start, end),
    output,
    'regenerate the table: node bin/barysafe check --list --format markdown, between the markers in docs/CHECKS.md',
  );
});

test('no document and no source file cites the team’s notes outside the repository', () => {
  // Barycenter's own book and source may be cited; the team's notes and reviews may not.
  const notes = /\bfacts §|barycenter-facts|parts-notes|prior-art|anchors-2026|reviews\/|\bissue #?\d+\b/i;
  const findingIds = /\((?:[VD]\d+[,/ ]*)+\)/; // review finding ids such as (V5) or (D1, D3)
  const outside = { test: (line: string) => notes.test(line) || findingIds.test(line) };
  const files = [
    'README.md',
    ...readdirSync(path.join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => path.join('docs', f)),
  ];
  const walk = (dir: string): string[] =>
    readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    );
  const found = [...files, ...walk('src')].flatMap((f) =>
    readFileSync(path.join(root, f), 'utf8')
      .split('\n')
      .flatMap((line, i) => (outside.test(line) ? [`${f}:${i + 1}: ${line.trim().slice(0, 120)}`] : [])),
  );
  assert.deepEqual(found, []);
});

test('docs/EXIT_CODES.md lists every error kind, and no other', async () => {
  const { ERROR_KINDS } = await import('../src/errors.js');
  const doc = readFileSync(path.join(root, 'docs', 'EXIT_CODES.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Error kinds'), doc.indexOf('## Per command'));
  const listed = [...section.matchAll(/^\|[^|]+\|(.+)\|$/gm)].flatMap((m) =>
    [...m[1]!.matchAll(/`([a-z_-]+)`/g)].map((k) => k[1]!),
  );
  assert.deepEqual([...listed].sort(), [...ERROR_KINDS].sort());
});
