#!/usr/bin/env node
// Exits 0 when node_modules holds every package package-lock.json pins, at the pinned version and
// integrity (as npm recorded them in node_modules/.package-lock.json), and the native addon is built.
import { existsSync, readFileSync } from 'node:fs';

const read = (f) => JSON.parse(readFileSync(f, 'utf8'));
try {
  const want = read('package-lock.json').packages;
  const have = read('node_modules/.package-lock.json').packages;
  const stale = Object.entries(want).filter(
    ([p, w]) =>
      p.startsWith('node_modules/') &&
      !w.optional &&
      (have[p]?.version !== w.version || have[p]?.integrity !== w.integrity || !existsSync(p)),
  );
  if (stale.length) process.exit(1);
  if (!existsSync('node_modules/better-sqlite3/build/Release/better_sqlite3.node')) process.exit(1);
} catch {
  process.exit(1);
}
