// Bundles the compiled CLI (dist/src, from tsc) into dist/bundle, which bin/barysafe runs.
//
// Why: Node 20 has no compile cache for ES modules, and a command's start-up was mostly module
// loading: a restore opened ~260 files (our ~110 modules, zod's 95 of which 65 are locales it
// never uses), each resolved, read and compiled on the critical path of every backup, restore
// and check. One file per command chunk, with zod tree-shaken, removes most of that.
//
// What stays outside (loaded from node_modules as before): packages with native code or files of
// their own that they find at run time (better-sqlite3, playwright), and the large ones a command
// loads on demand (the AWS SDK, pg, nodemailer…). Worker threads and the drill's guard process
// are entry points of their own, named as the code's new URL('./x.js', import.meta.url) expects
// them beside it.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

/** Pure JavaScript, loaded by most commands at start-up: worth bundling. */
const BUNDLED = new Set(['zod', 'commander', 'smol-toml', 'canonicalize', '@scure/base', 'ipaddr.js']);

const compiled = (p) => path.join(root, 'dist', 'src', p);
const outdir = path.join(root, 'dist', 'bundle');
rmSync(outdir, { recursive: true, force: true }); // no chunk of an earlier build left beside the new ones

await build({
  absWorkingDir: root,
  entryPoints: {
    main: compiled('cli/main.js'),
    'sqlite-copy-worker': compiled('backup/sources/sqlite-copy-worker.js'),
    'sqlite-inspect-worker': compiled('barycenter/sqlite-inspect-worker.js'),
    'sha256-worker': compiled('crypto/sha256-worker.js'),
    'scratch-guard': compiled('verify/scratch/scratch-guard.js'),
  },
  outdir,
  bundle: true,
  splitting: true, // each command's chunk is loaded only when that command runs
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: Object.keys(pkg.dependencies).filter((d) => !BUNDLED.has(d)),
  // commander is CommonJS: their require() of Node's modules needs one in an ES module.
  banner: {
    js: "import { createRequire as __barysafeRequire } from 'node:module'; const require = __barysafeRequire(import.meta.url);",
  },
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
