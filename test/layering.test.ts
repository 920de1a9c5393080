import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The import rules of src/ (DESIGN's layering): each folder may import only the folders listed for
 * it, and no file imports itself through a cycle. A new folder must be added here to be allowed.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const src = path.join(root, 'src');

const BASE = ['errors', 'log', 'redact', 'version', 'units'];
const LOWER = [...BASE, 'platform', 'config', 'crypto', 'barycenter'];
const ALLOWED: Record<string, string[]> = {
  redact: [],
  version: [],
  errors: ['redact'],
  log: ['redact', 'errors', 'version'],
  units: ['redact', 'errors'],
  platform: BASE,
  crypto: [...BASE, 'platform'],
  config: [...BASE, 'platform'],
  barycenter: [...BASE, 'platform', 'config', 'crypto'],
  repository: LOWER,
  backup: [...LOWER, 'repository'],
  restore: [...LOWER, 'repository'],
  checks: [...LOWER, 'repository'],
  verify: [...LOWER, 'repository', 'restore'],
  report: [...LOWER, 'repository', 'checks'],
  agent: [...LOWER, 'repository', 'backup', 'restore', 'checks', 'verify', 'report'],
  cli: [...LOWER, 'repository', 'backup', 'restore', 'checks', 'verify', 'report', 'agent'],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

/** src/<folder>/… → folder; src/<file>.ts → file name without .ts. */
export function layerOf(file: string): string {
  const [first, ...rest] = path.relative(src, file).split(path.sep);
  return rest.length ? first! : first!.replace(/\.ts$/, '');
}

// `… from '…'` (imports and re-exports), `import('…')` and the bare side-effect `import '…'`.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s*)['"](\.\.?\/[^'"]+)['"]/gm;
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(SPECIFIER)].map((m) => path.resolve(path.dirname(file), m[1]!).replace(/\.js$/, '.ts'));
}

const files = sources(src);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

test('every src/ folder imports only the layers below it', () => {
  const broken: string[] = [];
  for (const [file, targets] of graph) {
    const from = layerOf(file);
    const allowed = ALLOWED[from];
    if (!allowed) {
      broken.push(`${path.relative(root, file)}: folder ${from} has no layering rule`);
      continue;
    }
    for (const t of targets) {
      const to = layerOf(t);
      if (to !== from && !allowed.includes(to))
        broken.push(`${path.relative(root, file)} imports ${path.relative(root, t)} (${from} -> ${to})`);
    }
  }
  assert.deepEqual(broken, []);
});

test('no import cycle in src/', () => {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, trail: string[]) => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      cycles.push([...trail.slice(trail.indexOf(f)), f].map((x) => path.relative(src, x)).join(' -> '));
      return;
    }
    state.set(f, 'open');
    for (const t of graph.get(f) ?? []) if (graph.has(t)) visit(t, [...trail, f]);
    state.set(f, 'done');
  };
  for (const f of files) visit(f, []);
  assert.deepEqual(cycles, []);
});

test('the layering rules see real imports (a folder that imports nothing would pass vacuously)', () => {
  const cliImports = [...graph].filter(([f]) => layerOf(f) === 'cli').flatMap(([, t]) => t.map(layerOf));
  for (const l of ['backup', 'restore', 'verify', 'checks', 'repository']) assert.ok(cliImports.includes(l), l);
});
