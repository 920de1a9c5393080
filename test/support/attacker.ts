// A real unprivileged local attacker for the security tests: uid/gid 65534 (nobody), no groups,
// through `setpriv --reuid=65534 --regid=65534 --clear-groups`. The tests run as root; what the
// attacker can do is decided by the kernel, not by the test.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ATTACKER_UID = 65534;
export const ATTACKER_GID = 65534;
const SETPRIV = ['setpriv', `--reuid=${ATTACKER_UID}`, `--regid=${ATTACKER_GID}`, '--clear-groups', '--'];

/** Only root can switch to the attacker; tests that need one skip otherwise. */
export const canImpersonate = process.getuid?.() === 0;

export interface SharedArea {
  /** 0755, root's: everyone may traverse it. */
  root: string;
  /** 1777 like /tmp: everyone may create entries; the sticky bit keeps them from renaming others'. */
  tmp: string;
  /** 0777 and owned by the attacker, where their tools and loot live. */
  attackerDir: string;
  cleanup(): Promise<void>;
}

export async function sharedArea(): Promise<SharedArea> {
  const root = await mkdtemp(path.join(tmpdir(), 'barysafe-shared-'));
  chmodSync(root, 0o755);
  const tmp = path.join(root, 'sharedtmp');
  await mkdir(tmp);
  chmodSync(tmp, 0o1777);
  const attackerDir = path.join(root, 'mallory');
  await mkdir(attackerDir);
  chownSync(attackerDir, ATTACKER_UID, ATTACKER_GID);
  chmodSync(attackerDir, 0o777);
  return { root, tmp, attackerDir, cleanup: () => rm(root, { recursive: true, force: true }) };
}

export interface AttackerRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command as the attacker to completion. */
export function asAttacker(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<AttackerRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(SETPRIV[0]!, [...SETPRIV.slice(1), cmd, ...args], {
      cwd: opts.cwd ?? '/',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', LANG: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.once('error', reject);
    p.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A shell command as the attacker. */
export function attackerSh(script: string): Promise<AttackerRun> {
  return asAttacker('/bin/sh', ['-c', script]);
}

/**
 * Starts a Node script as the attacker in the background (it runs until stopped). The script is
 * written into the attacker's directory so they can read it.
 */
export async function startAttackerScript(
  area: SharedArea,
  name: string,
  source: string,
  args: string[],
): Promise<{ proc: ChildProcess; output(): string; stop(): Promise<string> }> {
  const file = path.join(area.attackerDir, name);
  await writeFile(file, source, { mode: 0o644 });
  const proc = spawn(SETPRIV[0]!, [...SETPRIV.slice(1), process.execPath, file, ...args], {
    cwd: area.attackerDir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const ready = new Promise<void>((resolve) => {
    const check = () => (out.includes('READY') ? resolve() : setTimeout(check, 20));
    check();
  });
  await Promise.race([ready, new Promise((r) => setTimeout(r, 5000))]);
  return {
    proc,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const closed = new Promise((r) => proc.once('close', r));
        proc.kill('SIGKILL');
        await closed;
      }
      return out;
    },
  };
}

/**
 * The review's inotify swapper, generalised: it watches every directory it can see under the
 * shared temp dir and, for each new entry, tries what a local attacker would — rename a directory
 * away and put a symlink to its own drop directory in its place, replace files, read them. It
 * prints one line per success ("SWAPPED …", "READ …", "REPLACED …"), so a test asserts on none.
 */
export const SWAPPER_SOURCE = String.raw`
const fs = require('fs');
const path = require('path');
const [watchRoot, drop] = process.argv.slice(2);
const seen = new Set();
function tryEntry(dir, name) {
  const p = path.join(dir, name);
  if (seen.has(p) || name.endsWith('.stolen')) return;
  seen.add(p);
  let st;
  try { st = fs.lstatSync(p); } catch { return; }
  if (st.isDirectory()) watch(p);
  if (st.uid === process.getuid()) return;
  if (st.isDirectory()) {
    try {
      fs.renameSync(p, p + '.stolen');
      fs.symlinkSync(drop, p);
      console.log('SWAPPED ' + p);
    } catch {}
  } else if (st.isFile()) {
    try { const b = fs.readFileSync(p); if (b.length) console.log('READ ' + p + ' ' + b.length); } catch {}
    try { fs.writeFileSync(p, 'forged'); console.log('REPLACED ' + p); } catch {}
  }
}
function scan(dir) {
  let names = [];
  try { names = fs.readdirSync(dir); } catch { return; }
  for (const n of names) tryEntry(dir, n);
}
const watched = new Set();
function watch(dir) {
  if (watched.has(dir)) return;
  watched.add(dir);
  try { fs.watch(dir, () => scan(dir)); } catch {}
  scan(dir);
}
watch(watchRoot);
for (const n of fs.readdirSync(watchRoot)) { const p = path.join(watchRoot, n); try { if (fs.statSync(p).isDirectory()) watch(p); } catch {} }
setInterval(() => { for (const d of [...watched]) scan(d); }, 5);
console.log('READY');
`;
