import { readFile } from 'node:fs/promises';
import type { CheckContext, Lookup } from '../types.js';
import { parseEnvironmentDirective, parseUnitText, readUnit, type SystemdUnit } from '../../config/systemd-unit.js';

// The unit parser lives in config/ (backups read the service's environment and binary too).
export {
  lastValue,
  parseEnvironmentDirective,
  parseUnitText,
  readUnit,
  unitEnvironment,
  type SystemdUnit,
  type UnitEnvironment,
} from '../../config/systemd-unit.js';

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
