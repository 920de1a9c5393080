import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import type { CheckContext, Lookup } from '../types.js';

/**
 * A systemd unit file with its drop-ins (<unit>.d/*.conf beside it, and
 * /etc/systemd/system/<unit>.d), merged as systemd merges them (systemd.unit(5)): later
 * assignments win; an empty assignment resets list-valued settings such as Environment=.
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

export async function readUnit(file: string): Promise<SystemdUnit> {
  const service = new Map<string, string[]>();
  const files = [file];
  parseUnitText(await readFile(file, 'utf8'), service);
  const dropinDirs = [`${file}.d`, path.join('/etc/systemd/system', `${path.basename(file)}.d`)];
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

export async function loadUnit(ctx: CheckContext): Promise<Lookup<SystemdUnit>> {
  return ctx.memo('systemd-unit', async () => {
    const file = ctx.config.checks.systemd_unit;
    if (!file) return { ok: false, reason: 'checks.systemd_unit is not set' };
    try {
      const unit = await readUnit(file);
      return { ok: true, value: unit, source: `systemd unit ${unit.files.join(' + ')}` };
    } catch (e) {
      return {
        ok: false,
        reason: `cannot read systemd unit ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      };
    }
  });
}

/** Splits Environment= values: space-separated assignments, double or single quotes group one. */
export function parseEnvironmentDirective(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of value.matchAll(re)) {
    const word = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]!);
    const i = word.indexOf('=');
    if (i > 0) out[word.slice(0, i)] = word.slice(i + 1);
  }
  return out;
}

export interface UnitEnvironment {
  vars: Record<string, string>;
  /** Where each variable was set (file:line-free "Environment=" or the EnvironmentFile path). */
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
 * The unit file (the main file or a drop-in) whose own Environment= last assigns name=value: where
 * an inline value is written, for judging who can read it.
 */
export async function environmentFileOf(unit: SystemdUnit, name: string, value: string): Promise<string | undefined> {
  let last: string | undefined;
  for (const file of unit.files) {
    const own = new Map<string, string[]>();
    parseUnitText(await readFile(file, 'utf8'), own);
    if ((own.get('Environment') ?? []).some((e) => parseEnvironmentDirective(e)[name] === value)) last = file;
  }
  return last;
}

export function isTrue(v: string | undefined): boolean {
  return v !== undefined && /^(1|yes|true|on)$/i.test(v);
}
