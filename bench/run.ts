/**
 * `npm run bench`: barysafe backup and restore vs the equivalent shell pipelines on generated
 * Barycenter databases (PostgreSQL ≥ 1 GiB and 256 MiB, SQLite ≥ 256 MiB and 64 MiB, SQLite 256 MiB
 * of random blobs), a restore drill, `barysafe --version`, with wall time and the peak RSS of the
 * barysafe process, each SQLite backup's floor on this machine (bench/floor.ts), each restore beside
 * `age -d` with and without an fsync of its output, and each target met or missed. Method and
 * measured figures: docs/BENCHMARKS.md.
 *
 * Environment:
 *   BENCH_SCALE=0.1     shrink every size (quick smoke run)
 *   BENCH_DIR=dir       work under dir (a run-* subdirectory, removed at the end) instead of $TMPDIR
 *   BENCH_KEEP=dir      keep generated SQLite files in dir (and, with TEST_PG_URL, the generated
 *                       PostgreSQL databases on that server) and reuse them on the next run
 *   BENCH_REPEAT=n      run each backup and restore n times (median time, max RSS), the shell first every second time; default 1
 *   BENCH_CASES=a,b     only these cases (sqlite-small, sqlite-large, sqlite-blobs, pg-small, pg-large;
 *                       with BENCH_XL=1 also sqlite-1g, sqlite-2g)
 *   BENCH_XL=1          add SQLite 1 GiB and 2 GiB cases (peak RSS flat up to 2 GiB; ~10 more minutes)
 *   BENCH_DRILL=0       skip the restore drill of the 256 MiB SQLite snapshot
 *   BENCH_DROP_CACHES=1 drop the page cache before the first measurement and each SQLite case (root; see dropPageCache)
 *   TEST_PG_URL=url     use this server instead of a throwaway local cluster
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { findPgBinDir, startLocalCluster } from '../test/support/pg-cluster.js';
import { createBenchDeployment } from './deployment.js';
import { generatePostgres } from './generate-pg.js';
import { generateSqlite } from './generate-sqlite.js';
import { measureBackupFloor, type BackupFloor } from './floor.js';
import { dropPageCache, runMeasured } from './measure.js';
import { fmtMiB, median, mib, rssComparison, table, type CaseResult } from './report.js';
import { restoreTable, targetLines } from './targets.js';
import { benchScale, MiB, type GeneratedDb } from './shape.js';
import { shellDecrypt, shellDecryptDurable, shellIntegrityCheck, shellPostgres, shellSqlite } from './shell.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'barysafe');
/**
 * The build the generated databases are of, and the drill boots: beta.14, whose migrations run on
 * both engines (8218d6f's fail on PostgreSQL, as the real build's do).
 */
const BENCH_BUILD = 'beta.14';
process.env.STANDIN_BARYCENTER_BUILD = BENCH_BUILD;

/** The Barycenter stand-in of the tests, playing BENCH_BUILD: the drill case boots it (a real Barycenter cannot be built here). */
const BARYCENTER_BIN = path.join(ROOT, 'test', 'support', 'bin', `barycenter-${BENCH_BUILD}`);

interface CaseSpec {
  name: string;
  engine: 'sqlite' | 'postgres';
  targetBytes: number;
  /** Random 64 KiB blobs instead of Barycenter-shaped rows. */
  blobs?: boolean;
  /** Also time a restore drill of the snapshot. */
  drill?: boolean;
}

const log = (s: string) => process.stderr.write(`${s}\n`);

async function main(): Promise<number> {
  const scale = benchScale();
  const repeat = Math.max(1, Number(process.env.BENCH_REPEAT ?? 1) || 1);
  const size = (m: number) => Math.round(m * MiB * scale);
  const all: CaseSpec[] = [
    { name: 'sqlite-small', engine: 'sqlite', targetBytes: size(64) },
    { name: 'sqlite-large', engine: 'sqlite', targetBytes: size(256), drill: process.env.BENCH_DRILL !== '0' },
    { name: 'sqlite-blobs', engine: 'sqlite', targetBytes: size(256), blobs: true },
    { name: 'pg-small', engine: 'postgres', targetBytes: size(256) },
    { name: 'pg-large', engine: 'postgres', targetBytes: size(1024) },
    ...(process.env.BENCH_XL === '1'
      ? ([
          { name: 'sqlite-1g', engine: 'sqlite', targetBytes: size(1024) },
          { name: 'sqlite-2g', engine: 'sqlite', targetBytes: size(2048) },
        ] as const)
      : []),
  ];
  const only = process.env.BENCH_CASES?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const cases = only ? all.filter((c) => only.includes(c.name)) : all;
  if (cases.length === 0) throw new Error(`BENCH_CASES matches no case (known: ${all.map((c) => c.name).join(', ')})`);

  const base = process.env.BENCH_DIR ? path.resolve(process.env.BENCH_DIR) : os.tmpdir();
  await mkdir(base, { recursive: true });
  const work = await mkdtemp(path.join(base, process.env.BENCH_DIR ? 'run-' : 'barysafe-bench-'));
  const keepDir = process.env.BENCH_KEEP ? path.resolve(process.env.BENCH_KEEP) : undefined;
  if (keepDir) await mkdir(keepDir, { recursive: true });
  const resultsFile = path.join(base, process.env.BENCH_DIR ? 'latest.json' : 'barysafe-bench-latest.json');

  const cleanups: Array<() => Promise<void>> = [async () => rm(work, { recursive: true, force: true })];
  const cleanup = async () => {
    for (const c of cleanups.reverse().splice(0)) await c().catch((e) => log(`cleanup: ${(e as Error).message}`));
  };
  const onSignal = (sig: NodeJS.Signals) => {
    log(`\n${sig}: cleaning up ${work}`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const dropCaches = process.env.BENCH_DROP_CACHES === '1';
  if (dropCaches) dropPageCache();
  const dropNote = dropCaches ? ', page cache dropped first and before each SQLite case' : '';
  log(
    `barysafe bench: scale ${scale}, work dir ${work}${keepDir ? `, keeping databases in ${keepDir}` : ''}${dropNote}`,
  );
  const versionRuns: number[] = [];
  for (let i = 0; i < 5; i++)
    versionRuns.push((await runMeasured(process.execPath, [BIN, '--version'], { cwd: ROOT })).wallMs);
  const versionMs = median(versionRuns);
  log(`barysafe --version: ${(versionMs / 1000).toFixed(3)} s (median of 5)`);
  const results: CaseResult[] = [];
  let failed = false;
  try {
    let server: { url: string; binDir: string; keepable: boolean } | undefined;
    const pgServer = async () => {
      if (server) return server;
      if (process.env.TEST_PG_URL) {
        server = { url: process.env.TEST_PG_URL, binDir: await findPgBinDir(), keepable: true };
      } else {
        const t = Date.now();
        const cluster = await startLocalCluster();
        cleanups.push(cluster.stop);
        log(`throwaway PostgreSQL cluster from ${cluster.binDir} ready in ${Date.now() - t} ms`);
        server = { url: cluster.url, binDir: cluster.binDir, keepable: false };
        await tunePostgres(server.url); // our own throwaway cluster only, never TEST_PG_URL's
      }
      return server;
    };

    for (const spec of cases) {
      const caseDir = path.join(work, spec.name);
      await mkdir(caseDir, { recursive: true });
      log(`\n== ${spec.name}: generating a ${spec.engine} database of at least ${fmtMiB(spec.targetBytes)}`);
      let gen: GeneratedDb;
      let dbUrl: string;
      let dbFile: string | undefined;
      let binDir: string | undefined;
      let dropDb: (() => Promise<void>) | undefined;
      if (spec.engine === 'sqlite') {
        dbFile = path.join(keepDir ?? caseDir, `${spec.name}-${spec.targetBytes}.db`);
        gen = await generateSqlite(dbFile, spec.targetBytes, { scale, keep: !!keepDir, log, blobs: spec.blobs });
        dbUrl = `sqlite://${dbFile}?mode=rwc`;
      } else {
        const s = await pgServer();
        binDir = s.binDir;
        const name = `barycenter_bench_${spec.name.replace(/\W/g, '_')}`;
        const keep = !!keepDir && s.keepable;
        const g = await generatePostgres(s.url, name, spec.targetBytes, { scale, keep, log });
        gen = g;
        dbUrl = g.url;
        if (!keep) dropDb = () => dropDatabase(s.url, name);
      }
      log(
        `   ${fmtMiB(gen.sizeBytes)} on disk, ${Object.entries(gen.rows)
          .map(([t, n]) => `${t}=${n}`)
          .join(' ')}; ${gen.reused ? 'reused' : `generated in ${(gen.generateMs / 1000).toFixed(1)} s`}`,
      );

      const dep = await createBenchDeployment(path.join(caseDir, 'deployment'), dbUrl, {
        pgBinDir: binDir,
        tempDir: path.join(caseDir, 'tmp'),
        barycenterBin: BARYCENTER_BIN,
      });
      if (dropCaches && dbFile) dropPageCache(dbFile);
      const bRuns: CaseResult['barysafe']['runs'] = [];
      const sRuns: CaseResult['shell']['runs'] = [];
      let dumpBytes = 0;
      let storedBytes = 0;
      let samples: Array<[number, number]> = [];
      const restoreRuns: RestoreRun[] = [];
      const integrityRuns: number[] = [];
      let drill: CaseResult['drill'];
      for (let i = 0; i < repeat; i++) {
        /** barysafe's backup; false when it failed (the case stops there). */
        const backupOnce = async (): Promise<boolean> => {
          log(`   barysafe backup${repeat > 1 ? ` (run ${i + 1}/${repeat})` : ''} …`);
          const m = await runMeasured(process.execPath, [BIN, '--config', dep.barysafeConfig, '--json', 'backup'], {
            cwd: ROOT,
          });
          let doc: {
            ok?: boolean;
            snapshot?: {
              duration_ms: number;
              artifacts: Array<{ kind: string; size: number; plaintext_size: number }>;
            };
          } = {};
          try {
            doc = JSON.parse(m.stdout);
          } catch {
            /* reported below */
          }
          const db = doc.snapshot?.artifacts.find((a) => a.kind === 'database');
          const measured = {
            wallMs: m.wallMs,
            cpuSeconds: m.cpuSeconds,
            loadBefore: m.loadBefore,
            peakRssKiB: m.peakRssKiB,
            childPeakRssKiB: m.childPeakRssKiB,
            code: m.code,
          };
          if (m.code !== 0 || !doc.ok || !db) {
            failed = true;
            log(`   BACKUP FAILED (exit ${m.code ?? m.signal}):\n${m.stdout.slice(-2000)}\n${m.stderr.slice(-4000)}`);
            bRuns.push(measured);
            return false;
          }
          dumpBytes = db.plaintext_size;
          storedBytes = db.size;
          if (m.samples.length > samples.length) samples = m.samples;
          bRuns.push({ ...measured, snapshotDurationMs: doc.snapshot!.duration_ms });
          log(
            `   barysafe: ${(m.wallMs / 1000).toFixed(1)} s (CPU ${m.cpuSeconds?.toFixed(1)} s, load ${m.loadBefore.toFixed(1)}), peak RSS ${((m.peakRssKiB ?? 0) / 1024).toFixed(0)} MiB, dump ${fmtMiB(dumpBytes)} → ${fmtMiB(storedBytes)} encrypted`,
          );
          return true;
        };
        const shellOnce = async () => {
          log(`   shell pipeline …`);
          const out =
            spec.engine === 'postgres'
              ? await shellPostgres(dbUrl, binDir!, dep.recipient, caseDir)
              : await shellSqlite(dbFile!, dep.recipient, caseDir);
          if (out.code !== 0) {
            failed = true;
            log(`   SHELL PIPELINE FAILED (exit ${out.code ?? out.signal}): ${out.stderr.slice(-2000)}`);
          }
          return out;
        };
        // Each repetition swaps who goes first: the first command after a pause pays for first-touch
        // page faults on fresh memory, which the second, reusing what the first freed, does not.
        let s: Awaited<ReturnType<typeof shellOnce>>;
        if (i % 2 === 0) {
          if (!(await backupOnce())) break;
          s = await shellOnce();
        } else {
          s = await shellOnce();
          if (!(await backupOnce())) break;
        }

        // Restore: `barysafe restore --to` (fetch, hash, decrypt, place) vs `age -d`, in the same
        // alternating order as the backups.
        // Outside the case directory: that holds the live SQLite file, and restore refuses live paths.
        const to = path.join(work, `restored-${spec.name}-${i}`);
        const restoreOnce = async () => {
          log(`   barysafe restore …`);
          const r = await runMeasured(
            process.execPath,
            [BIN, '--config', dep.barysafeConfig, '--json', 'restore', 'latest', '--to', to],
            { cwd: ROOT },
          );
          await rm(to, { recursive: true, force: true });
          if (r.code !== 0) {
            failed = true;
            log(`   RESTORE FAILED (exit ${r.code ?? r.signal}):\n${r.stderr.slice(-4000)}`);
          }
          return r;
        };
        const decryptOnce = async () => {
          const r = await shellDecrypt(dep.identityFile, s.output, path.join(caseDir, 'shell.plain'));
          if (r.code !== 0) {
            failed = true;
            log(`   age -d FAILED (exit ${r.code ?? r.signal}): ${r.stderr.slice(-2000)}`);
          }
          return r;
        };
        let rb: Awaited<ReturnType<typeof restoreOnce>>;
        let rs: Awaited<ReturnType<typeof decryptOnce>>;
        if (i % 2 === 0) {
          rb = await restoreOnce();
          rs = await decryptOnce();
        } else {
          rs = await decryptOnce();
          rb = await restoreOnce();
        }
        // After both, whatever their order: it only says how much of the gap is the fsync.
        const rd = await shellDecryptDurable(dep.identityFile, s.output, path.join(caseDir, 'shell.plain'));
        if (rd.code !== 0) {
          failed = true;
          log(`   age -d && sync FAILED (exit ${rd.code ?? rd.signal}): ${rd.stderr.slice(-2000)}`);
        }
        await rm(s.output, { force: true });
        restoreRuns.push({
          barysafeMs: rb.wallMs,
          shellMs: rs.wallMs,
          durableShellMs: rd.wallMs,
          peakRssKiB: rb.peakRssKiB,
          code: rb.code ?? -1,
        });
        log(
          `   restore: barysafe ${(rb.wallMs / 1000).toFixed(1)} s (peak RSS ${((rb.peakRssKiB ?? 0) / 1024).toFixed(0)} MiB), age -d ${(rs.wallMs / 1000).toFixed(1)} s, age -d && sync ${(rd.wallMs / 1000).toFixed(1)} s`,
        );
        if (dbFile) {
          const ic = await shellIntegrityCheck(dbFile);
          integrityRuns.push(ic.wallMs);
          log(`   sqlite3 PRAGMA integrity_check alone: ${(ic.wallMs / 1000).toFixed(1)} s`);
        }
        if (spec.drill && i === 0) {
          log(`   barysafe restore --check-integrity …`);
          const checkedTo = path.join(work, `restored-checked-${spec.name}`);
          const rc = await runMeasured(
            process.execPath,
            [
              BIN,
              '--config',
              dep.barysafeConfig,
              '--json',
              'restore',
              'latest',
              '--to',
              checkedTo,
              '--check-integrity',
            ],
            { cwd: ROOT },
          );
          await rm(checkedTo, { recursive: true, force: true });
          if (rc.code !== 0) {
            failed = true;
            log(`   RESTORE --check-integrity FAILED (exit ${rc.code ?? rc.signal}):\n${rc.stderr.slice(-4000)}`);
          }
          log(`   restore --check-integrity: ${(rc.wallMs / 1000).toFixed(1)} s`);
          log(`   barysafe restore --verify (drill) …`);
          const dm = await runMeasured(
            process.execPath,
            [BIN, '--config', dep.barysafeConfig, '--json', 'restore', '--verify', 'latest'],
            { cwd: ROOT },
          );
          let steps: Array<{ name: string; duration_ms: number }> = [];
          let verdict = 'error';
          try {
            const j = JSON.parse(dm.stdout) as { verdict: string; steps: typeof steps };
            steps = j.steps;
            verdict = j.verdict;
          } catch {
            /* reported below */
          }
          const bootMs = steps.find((x) => x.name === 'boot')?.duration_ms ?? 0;
          // No production IdP runs beside the bench, so key continuity stays unproven: inconclusive
          // (exit 4) is a drill that ran every step; anything else is a failure.
          if (!(verdict === 'pass' || (verdict === 'inconclusive' && dm.code === 4))) {
            failed = true;
            log(
              `   DRILL FAILED (exit ${dm.code ?? dm.signal}, ${verdict}):\n${dm.stdout.slice(-2000)}\n${dm.stderr.slice(-2000)}`,
            );
          }
          drill = {
            wallMs: dm.wallMs,
            bootMs,
            exceptBootMs: dm.wallMs - bootMs,
            checkedRestoreMs: rc.wallMs,
            verdict,
            steps,
            peakRssKiB: dm.peakRssKiB,
          };
          log(
            `   drill: ${(dm.wallMs / 1000).toFixed(1)} s, of which boot ${(bootMs / 1000).toFixed(1)} s (${verdict})`,
          );
        }
        // Keep the disk tidy: the repository holds one snapshot per run. The next run starts a new
        // repository, so this host forgets the old one (its anchor) too.
        await rm(dep.repositoryDir, { recursive: true, force: true });
        await rm(dep.stateDir, { recursive: true, force: true });
        await mkdir(dep.repositoryDir, { recursive: true, mode: 0o700 });
        sRuns.push({
          wallMs: s.wallMs,
          cpuSeconds: s.cpuSeconds,
          loadBefore: s.loadBefore,
          code: s.code,
          outputBytes: s.outputBytes,
        });
        log(
          `   shell: ${(s.wallMs / 1000).toFixed(1)} s (CPU ${s.cpuSeconds?.toFixed(1)} s, load ${s.loadBefore.toFixed(1)}), ${fmtMiB(s.outputBytes)} encrypted`,
        );
      }
      let backupFloor: BackupFloor | undefined;
      if (dbFile && bRuns.length > 0 && bRuns.every((r) => r.code === 0)) {
        log(`   floor: node -e 0 and the encryption path alone …`);
        backupFloor = await measureBackupFloor(dbFile, dep.recipient, caseDir, Math.max(3, repeat));
        log(
          `   floor: ${(backupFloor.floorMs / 1000).toFixed(2)} s (node ${(backupFloor.nodeStartMs / 1000).toFixed(2)} s + encryption path ${(backupFloor.encryptPathMs / 1000).toFixed(2)} s)`,
        );
      }
      if (dropDb) await dropDb();
      if (dbFile && !keepDir) await rm(dbFile, { force: true });
      await rm(caseDir, { recursive: true, force: true });
      if (bRuns.some((r) => r.code !== 0) || sRuns.length === 0) break;

      const bWall = median(bRuns.map((r) => r.wallMs));
      const sWall = median(sRuns.map((r) => r.wallMs));
      const maxOf = (xs: Array<number | null>) =>
        xs.every((x) => x === null) ? null : Math.max(...xs.map((x) => x ?? 0));
      results.push({
        case: `${spec.engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'} ${fmtMiB(spec.targetBytes)}${spec.blobs ? ' blobs' : ''}`,
        engine: spec.engine,
        targetBytes: spec.targetBytes,
        dbBytes: gen.sizeBytes,
        rows: gen.rows,
        generateMs: gen.generateMs,
        reusedDb: gen.reused,
        dumpBytes,
        storedBytes,
        barysafe: {
          runs: bRuns,
          wallMs: bWall,
          cpuSeconds: medianOrNull(bRuns.map((r) => r.cpuSeconds)),
          peakRssKiB: maxOf(bRuns.map((r) => r.peakRssKiB)),
          childPeakRssKiB: maxOf(bRuns.map((r) => r.childPeakRssKiB)),
          rssSamples: samples,
        },
        shell: {
          runs: sRuns,
          wallMs: sWall,
          cpuSeconds: medianOrNull(sRuns.map((r) => r.cpuSeconds)),
          outputBytes: median(sRuns.map((r) => r.outputBytes)),
        },
        ratio: bWall / sWall,
        dbMiBps: mib(gen.sizeBytes) / (bWall / 1000),
        streamMiBps: mib(dumpBytes) / (bWall / 1000),
        blobs: spec.blobs === true,
        ...(integrityRuns.length ? { integrityCheckMs: median(integrityRuns) } : {}),
        ...(backupFloor ? { backupFloor } : {}),
        ...(restoreRuns.length ? { restore: restoreSummary(restoreRuns, maxOf) } : {}),
        ...(drill ? { drill } : {}),
      });
    }
  } finally {
    await cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }

  const comparison = rssComparison(results);
  const out = [
    '',
    `barysafe backup vs shell pipeline (node ${process.version}, ${os.cpus().length} CPUs, scale ${scale}${repeat > 1 ? `, median of ${repeat}` : ''}${dropNote})`,
    '',
    table(results),
    '',
    '  dump = plaintext database artifact (pg_dump -Fc stream / SQLite copy); MiB/s (DB) = on-disk size ÷ barysafe wall time;',
    '  MiB/s (stream) = dump ÷ barysafe wall time; peak RSS = VmHWM of the barysafe process; pg_dump RSS = its child pg_dump;',
    "  CPU s = user+system seconds of the command and its descendants (the PostgreSQL server's own work is in neither);",
    `  load = highest 1-minute load average before a run (${os.cpus().length} CPUs: above that, other work shared the machine).`,
    '',
    ...comparison.map((c) => c.line),
    '',
    'restore and drill',
    '',
    restoreTable(results),
    '',
    'targets',
    '',
    ...targetLines(results, versionMs).map(
      (t) => `  ${t.met === null ? '  -   ' : t.met ? '  met ' : 'MISSED'}  ${t.line}`,
    ),
  ];
  process.stdout.write(out.join('\n') + '\n');
  const json = {
    format: 'barysafe-bench/1',
    created_at: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model,
    total_memory_bytes: os.totalmem(),
    scale,
    repeat,
    page_cache_dropped: dropCaches,
    failed,
    version_ms: versionMs,
    results,
    rss_comparison: comparison,
    targets: targetLines(results, versionMs),
  };
  await writeFile(resultsFile, JSON.stringify(json, null, 2) + '\n');
  process.stdout.write(`\nresults written to ${resultsFile}\n`);
  if (failed) {
    process.stderr.write('a backup or shell pipeline failed (see above)\n');
    return 1;
  }
  return 0;
}

/** A bench server, not a production one: give pg_dump and the loader room. */
async function tunePostgres(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`ALTER SYSTEM SET maintenance_work_mem = '256MB'`);
    await c.query(`ALTER SYSTEM SET max_wal_size = '4GB'`);
    await c.query('SELECT pg_reload_conf()');
  } finally {
    await c.end();
  }
}

/** One repetition's restore: barysafe's, `age -d`'s and `age -d && sync`'s times. */
interface RestoreRun {
  barysafeMs: number;
  shellMs: number;
  durableShellMs: number;
  peakRssKiB: number | null;
  code: number;
}

function restoreSummary(
  runs: RestoreRun[],
  maxOf: (xs: Array<number | null>) => number | null,
): NonNullable<CaseResult['restore']> {
  const barysafeMs = median(runs.map((r) => r.barysafeMs));
  const shellMs = median(runs.map((r) => r.shellMs));
  return {
    barysafeMs,
    shellMs,
    durableShellMs: median(runs.map((r) => r.durableShellMs)),
    peakRssKiB: maxOf(runs.map((r) => r.peakRssKiB)),
    ratio: barysafeMs / shellMs,
  };
}

function medianOrNull(xs: Array<number | null>): number | null {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? median(v) : null;
}

async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await c.end();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`bench failed: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
