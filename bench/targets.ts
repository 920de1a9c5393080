import { fmtKiB, fmtMiB, markdownTable, type CaseResult } from './report.js';

/**
 * The speed targets barysafe holds itself to, judged on one bench run. Each is a ratio to what an
 * operator's own shell lines do on the same data in the same run, so a loaded machine moves both
 * sides; `met` is null when the run had no case the target is about.
 */
export interface Target {
  line: string;
  met: boolean | null;
}

const GiB = 1024 ** 3;
const RSS_LIMIT_MIB = 150;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export function targetLines(results: CaseResult[], versionMs: number): Target[] {
  const out: Target[] = [];
  const judge = (line: string, ratio: number, limit: number, note = '') =>
    out.push({ line: `${line}: ${ratio.toFixed(2)}× (target ≤ ${limit}×${note})`, met: ratio <= limit });
  // What the case cannot go below on this machine, beside its target: see bench/floor.ts.
  const floorNote = (r: CaseResult, referenceMs: number) =>
    r.backupFloor
      ? `; floor ${(r.backupFloor.floorMs / referenceMs).toFixed(2)}×: node ${s(r.backupFloor.nodeStartMs)} + encryption path alone ${s(r.backupFloor.encryptPathMs)}`
      : '';

  for (const r of results.filter((x) => x.engine === 'sqlite' && x.blobs))
    judge(`backup ${r.case} vs sqlite3 .backup + age`, r.ratio, 1.1, floorNote(r, r.shell.wallMs));
  for (const r of results.filter((x) => x.engine === 'sqlite' && !x.blobs)) {
    // Once everything overlaps the integrity check, the check alone is the floor.
    const reference = Math.max(r.shell.wallMs, r.integrityCheckMs ?? 0);
    judge(
      `backup ${r.case} vs the larger of the shell pipeline (${s(r.shell.wallMs)}) and integrity_check alone (${s(r.integrityCheckMs ?? 0)})`,
      r.barysafe.wallMs / reference,
      1.1,
      floorNote(r, reference),
    );
  }
  const pg = results.filter((x) => x.engine === 'postgres').sort((a, b) => b.dbBytes - a.dbBytes)[0];
  if (pg) judge(`backup ${pg.case} vs pg_dump -Fc | age`, pg.ratio, 1.05);
  else out.push({ line: 'backup of PostgreSQL vs pg_dump -Fc | age: no PostgreSQL case in this run', met: null });

  // Judged against `age -d` alone, as the target says; beside it, against `age -d` that fsyncs its
  // output as barysafe does, which is the part of the gap that is the disk's and not barysafe's.
  for (const r of results.filter((x) => x.engine === 'sqlite' && x.restore))
    judge(
      `restore --to ${r.case} vs age -d`,
      r.restore!.ratio,
      r.dbBytes >= GiB ? 1.3 : 2,
      `; ${(r.restore!.barysafeMs / r.restore!.durableShellMs).toFixed(2)}× of age -d && sync (${s(r.restore!.durableShellMs)})`,
    );

  // The drill runs integrity_check on the restored file; a plain restore relies on the backup's
  // check of the same bytes. Like for like is the restore that checks too.
  for (const r of results.filter((x) => x.drill && x.restore))
    judge(
      `drill of ${r.case} except the scratch boot (${s(r.drill!.exceptBootMs)}) vs its restore --check-integrity (${s(r.drill!.checkedRestoreMs)}; plain restore ${s(r.restore!.barysafeMs)})`,
      r.drill!.exceptBootMs / r.drill!.checkedRestoreMs,
      1.5,
    );

  out.push({ line: `barysafe --version: ${s(versionMs)} (target ≤ 0.12 s)`, met: versionMs <= 120 });

  const peaks = results.flatMap((r) => [
    { what: `backup ${r.case}`, kib: r.barysafe.peakRssKiB },
    ...(r.restore ? [{ what: `restore ${r.case}`, kib: r.restore.peakRssKiB }] : []),
  ]);
  const known = peaks.filter((p) => p.kib !== null);
  if (known.length) {
    const worst = known.reduce((a, b) => (b.kib! > a.kib! ? b : a));
    out.push({
      line: `peak RSS of every backup and restore: at most ${fmtKiB(worst.kib)} (${worst.what}; target ≤ ${RSS_LIMIT_MIB} MiB)`,
      met: worst.kib! / 1024 <= RSS_LIMIT_MIB,
    });
  }
  return out;
}

/** Restore and drill times per case, beside the shell's `age -d`. */
export function restoreTable(results: CaseResult[]): string {
  const head = [
    'case',
    'dump',
    'restore --to',
    'age -d',
    'ratio',
    'age -d && sync',
    'restore RSS',
    'drill',
    'of which boot',
  ];
  const rows = results
    .filter((r) => r.restore)
    .map((r) => [
      r.case,
      fmtMiB(r.dumpBytes),
      s(r.restore!.barysafeMs),
      s(r.restore!.shellMs),
      `${r.restore!.ratio.toFixed(2)}×`,
      s(r.restore!.durableShellMs),
      fmtKiB(r.restore!.peakRssKiB),
      r.drill ? `${s(r.drill.wallMs)} (${r.drill.verdict})` : '-',
      r.drill ? s(r.drill.bootMs) : '-',
    ]);
  return markdownTable(head, rows);
}
