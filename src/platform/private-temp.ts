import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  constants,
  fchmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  rmdirSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BarysafeError, ExitCode } from '../errors.js';
import { onExit, processAlive } from './lifecycle.js';
import { cwdWithin, killProcessesWhere } from './proc-sweep.js';
import { euid, foreignWritableAncestor, isPrivateDir } from './safe-fs.js';

/**
 * Plaintext never lingers, and nobody else controls where it is written. Temp files live in a
 * 0700 run directory named after our pid, inside a root that is used only when lstat shows a real
 * directory owned by us with mode 0700 — one that already exists in any other shape (another
 * user's, a symlink, 0777) is left alone and a fresh root is made with mkdtemp instead. Run
 * directories are removed on success, failure and signal; those of a crashed run (dead pid) are
 * removed at the next start, after the processes recorded in them (a scratch instance) are killed.
 */
const PREFIX = 'run-';
const PIDS_FILE = '.barysafe-pids';

/** The preferred temp root: `<base>/barysafe-<uid>`. */
export function tempRoot(base?: string): string {
  return path.join(path.resolve(base ?? os.tmpdir()), `barysafe-${euid()}`);
}

/** A fresh root made when the preferred one is not usable: `<base>/barysafe-<uid>-p<pid>-XXXXXX`. */
const FALLBACK_ROOT = (uid: number) => new RegExp(`^barysafe-${uid}-p(\\d+)-[A-Za-z0-9]{6}$`);

let fallbackRoot: string | undefined;

/** The private root for this process's run directories (created or checked once per call). */
export async function privateTempRoot(base?: string): Promise<string> {
  const baseDir = path.resolve(base ?? os.tmpdir());
  mkdirSync(baseDir, { recursive: true, mode: 0o700 });
  const unsafe = await foreignWritableAncestor(baseDir);
  if (unsafe) {
    throw new BarysafeError(
      'temp',
      `refusing to keep plaintext under ${baseDir}: ${unsafe}, so another user could swap what barysafe writes there`,
      {
        exitCode: ExitCode.USAGE,
        hint: 'set backup.temp_dir (or TMPDIR) to a directory only root and barysafe can change, e.g. /var/tmp or a 0700 directory',
      },
    );
  }
  const uid = euid();
  const preferred = tempRoot(baseDir);
  let created = false;
  try {
    mkdirSync(preferred, { mode: 0o700 });
    created = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  if (created) fixModeNoFollow(preferred);
  if (isPrivateDir(lstatSync(preferred), uid)) {
    removeStaleFallbackRoots(baseDir);
    return preferred;
  }
  // Not ours (pre-created by someone, a symlink, a wrong mode): never use it, never touch it.
  if (fallbackRoot && isPrivateDir(lstatSync(fallbackRoot), uid)) return fallbackRoot;
  removeStaleFallbackRoots(baseDir);
  const fresh = mkdtempSync(path.join(baseDir, `barysafe-${uid}-p${process.pid}-`));
  fixModeNoFollow(fresh);
  fallbackRoot = fresh;
  onExit(() => {
    try {
      rmdirSync(fresh); // only when empty: run dirs clean themselves up first
    } catch {
      /* not empty or gone */
    }
  });
  return fresh;
}

export async function makePrivateTempDir(base?: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const root = await privateTempRoot(base);
  removeStale(root);
  const dir = await mkdtemp(path.join(root, `${PREFIX}${process.pid}-`));
  const unregister = onExit(() => {
    killRecorded(dir);
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    cleanup: async () => {
      unregister();
      killRecorded(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Records a process that belongs to the run directory `dir` (a scratch instance, its network
 * holder): if barysafe dies without clean-up, the next start kills it before removing `dir`.
 * `cwd` is where the process runs; the sweep kills only a live pid whose cwd is still that, so a
 * recycled pid is never hit.
 */
export function recordProcess(dir: string, pid: number, cwd: string): void {
  appendFileSync(path.join(dir, PIDS_FILE), JSON.stringify({ pid, cwd }) + '\n', { mode: 0o600 });
}

/**
 * Records a container that belongs to the run directory `dir` (the engine runs it, so no signal
 * reaches it): if barysafe and its guard die without removing it, the next start's sweep runs
 * `docker rm -f` on it. The name is barysafe's own random one, so no other container is hit.
 */
export function recordContainer(dir: string, docker: string, name: string): void {
  appendFileSync(path.join(dir, PIDS_FILE), JSON.stringify({ container: name, docker }) + '\n', { mode: 0o600 });
}

/** The container was removed: the sweep leaves it alone. */
export function recordContainerRemoved(dir: string, name: string): void {
  appendFileSync(path.join(dir, PIDS_FILE), JSON.stringify({ removed: name }) + '\n', { mode: 0o600 });
}

/** Removes run directories whose owning process is gone, killing what they recorded first. */
export function removeStale(root: string): string[] {
  const removed: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(root);
  } catch {
    return removed;
  }
  for (const name of entries) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    const full = path.join(root, name);
    try {
      const st = lstatSync(full);
      if (st.isDirectory() && !st.isSymbolicLink()) {
        killRecorded(full);
        rmSync(full, { recursive: true, force: true });
        removed.push(full);
      }
    } catch {
      /* raced with another cleaner */
    }
  }
  return removed;
}

/**
 * Kills every process of a run directory: the recorded ones with their process groups, then any
 * process still working in the directory. The second sweep is what catches a process that left
 * its group (a wrapper's forked child whose recorded leader is already gone, a daemon that called
 * setsid): recorded pids alone let such a child outlive the run with the restored key.
 */
function killRecorded(dir: string): void {
  killRecordedGroups(dir);
  let real = dir;
  try {
    real = realpathSync(dir); // /proc shows resolved paths
  } catch {
    /* removed already: its processes read `<path> (deleted)` */
  }
  killProcessesWhere('cwd', cwdWithin(real));
}

/**
 * SIGKILLs the recorded processes (and their process groups) of a run directory that are still what
 * was recorded, and removes its recorded containers that were not removed already.
 */
function killRecordedGroups(dir: string): void {
  let text: string;
  try {
    text = readFileSync(path.join(dir, PIDS_FILE), 'utf8');
  } catch {
    return;
  }
  type Rec = { pid?: unknown; cwd?: unknown; container?: unknown; docker?: unknown; removed?: unknown };
  const records = text.split('\n').flatMap((line): Rec[] => {
    try {
      const v: unknown = line.trim() ? JSON.parse(line) : null;
      return v !== null && typeof v === 'object' ? [v as Rec] : [];
    } catch {
      return [];
    }
  });
  const removed = new Set(records.map((r) => r.removed).filter((n): n is string => typeof n === 'string'));
  for (const rec of records) {
    if (typeof rec.container === 'string' && typeof rec.docker === 'string') {
      if (/^barysafe-drill-[0-9a-f]+$/.test(rec.container) && !removed.has(rec.container))
        spawnSync(rec.docker, ['rm', '-f', rec.container], { stdio: 'ignore', timeout: 30_000 });
      continue;
    }
    if (typeof rec.pid !== 'number' || !Number.isInteger(rec.pid) || rec.pid <= 1 || typeof rec.cwd !== 'string')
      continue;
    if (!processAlive(rec.pid)) continue;
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${rec.pid}/cwd`);
    } catch {
      continue; // gone, or not ours to inspect
    }
    if (cwd !== rec.cwd && !cwd.startsWith(rec.cwd + path.sep)) continue;
    for (const target of [-rec.pid, rec.pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        /* no such group / already gone */
      }
    }
  }
}

/** Fallback roots of dead processes: removed with whatever they hold, if they are private and ours. */
function removeStaleFallbackRoots(baseDir: string): void {
  const uid = euid();
  const re = FALLBACK_ROOT(uid);
  let names: string[] = [];
  try {
    names = readdirSync(baseDir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = re.exec(name);
    if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    const full = path.join(baseDir, name);
    try {
      if (!isPrivateDir(lstatSync(full), uid)) continue;
      for (const run of readdirSync(full)) killRecorded(path.join(full, run));
      rmSync(full, { recursive: true, force: true });
    } catch {
      /* raced */
    }
  }
}

/** Sets 0700 through a descriptor opened without following links (the umask may have narrowed mkdir's mode). */
function fixModeNoFollow(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    fchmodSync(fd, 0o700);
  } finally {
    closeSync(fd);
  }
}
