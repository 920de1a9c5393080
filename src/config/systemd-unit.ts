import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';

/** Where systemd looks for a system unit, highest precedence first (systemd.unit(5)). */
const UNIT_DIRS = ['/etc/systemd/system', '/lib/systemd/system', '/usr/lib/systemd/system'];
const UNIT_NAME = 'barycenter.service';
/** Barycenter's unit file in each of those places. */
export const BARYCENTER_UNIT_FILES = UNIT_DIRS.map((d) => path.join(d, UNIT_NAME));

/**
 * A systemd unit file with its drop-ins (<unit>.d/*.conf beside it, and
 * /etc/systemd/system/<unit>.d), merged as systemd merges them (systemd.unit(5)): later
 * assignments win; an empty assignment resets list-valued settings such as Environment=.
 * Read by the checks (hardening, environment) and by backups (the service's environment and
 * binary), so it lives below both.
 */
export interface SystemdUnit {
  files: string[];
  /** [Service] directives, in order, after resets. */
  service: Map<string, string[]>;
}

/** The last value of a scalar directive (User=, NoNewPrivileges=, …). */
export function lastValue(unit: SystemdUnit, key: string): string | undefined {
  const v = unit.service.get(key);
  return v && v.length ? v[v.length - 1] : undefined;
}

export function parseUnitText(text: string, into: Map<string, string[]>): void {
  let section = '';
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!;
      continue;
    }
    if (section !== 'Service') continue;
    const i = line.indexOf('=');
    if (i < 0) continue;
    const key = line.slice(0, i).trim();
    const value = line.slice(i + 1).trim();
    if (value === '')
      into.set(key, []); // reset
    else into.set(key, [...(into.get(key) ?? []), value]);
  }
}

/** `root`: the host tree the unit belongs to ("/" unless a host is read from elsewhere), for /etc's drop-ins. */
export async function readUnit(file: string, root = '/'): Promise<SystemdUnit> {
  const service = new Map<string, string[]>();
  const files = [file];
  parseUnitText(await readFile(file, 'utf8'), service);
  const dropinDirs = [`${file}.d`, path.join(root, 'etc/systemd/system', `${path.basename(file)}.d`)];
  for (const dir of [...new Set(dropinDirs)]) {
    if (!existsSync(dir)) continue;
    for (const name of (await readdir(dir)).filter((n) => n.endsWith('.conf')).sort()) {
      const f = path.join(dir, name);
      files.push(f);
      parseUnitText(await readFile(f, 'utf8'), service);
    }
  }
  return { files, service };
}

/** Splits Environment= values: space-separated assignments, double or single quotes group one. */
export function parseEnvironmentDirective(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const word of splitWords(value)) {
    const i = word.indexOf('=');
    if (i > 0) out[word.slice(0, i)] = word.slice(i + 1);
  }
  return out;
}

/** systemd's word splitting (Environment=, ExecStart=): whitespace separates, quotes group, backslash escapes. */
export function splitWords(value: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of value.matchAll(re)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]!));
  return out;
}

export interface UnitEnvironment {
  vars: Record<string, string>;
  /** Where each variable was set ("Environment= in …" or "EnvironmentFile=<path>"). */
  origin: Record<string, string>;
  unreadable: string[];
}

/** Environment= then EnvironmentFile= (systemd applies files after Environment=, so they win). */
export async function unitEnvironment(unit: SystemdUnit): Promise<UnitEnvironment> {
  const vars: Record<string, string> = {};
  const origin: Record<string, string> = {};
  const unreadable: string[] = [];
  for (const v of unit.service.get('Environment') ?? []) {
    for (const [k, val] of Object.entries(parseEnvironmentDirective(v))) {
      vars[k] = val;
      origin[k] = `Environment= in ${unit.files.join(', ')}`;
    }
  }
  for (const v of unit.service.get('EnvironmentFile') ?? []) {
    const optional = v.startsWith('-');
    const file = optional ? v.slice(1) : v;
    try {
      for (const [k, val] of Object.entries(parseDotenv(await readFile(file)))) {
        vars[k] = val;
        origin[k] = `EnvironmentFile=${file}`;
      }
    } catch {
      if (!optional) unreadable.push(file);
    }
  }
  return { vars, origin, unreadable };
}

/**
 * The command line of the last ExecStart= (systemd.service(5)): its special prefixes (@ - : + !)
 * stripped, split into words. Undefined when the unit has none.
 */
export function execStartArgv(unit: SystemdUnit): string[] | undefined {
  const v = lastValue(unit, 'ExecStart');
  if (!v) return undefined;
  const words = splitWords(v.replace(/^[@\-:+!]+/, ''));
  return words.length ? words : undefined;
}
