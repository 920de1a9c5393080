import type { Command } from 'commander';
import { BarysafeError, ExitCode } from '../errors.js';
import type { BarysafeConfig } from '../config/schema.js';
import { parseDuration } from '../units.js';
import { loadSigner } from '../crypto/signing.js';
import { runForget, type ForgetResult } from '../repository/forget.js';
import { KEEP_RULES, type RetentionPolicy } from '../repository/retention.js';
import type { Logger } from '../log.js';
import type { Storage } from '../repository/storage.js';
import { action, configFor, globals, loggerFor, printJson, storageFor, verifierFor } from './common.js';

interface ForgetFlags {
  keepWithin?: string;
  keepLast?: string;
  keepDaily?: string;
  keepWeekly?: string;
  keepMonthly?: string;
  keepYearly?: string;
  confirm?: boolean;
}

export function registerForget(program: Command): void {
  program
    .command('forget')
    .description(
      'remove snapshots the retention policy does not keep (restic semantics; defaults from [retention]); a dry run unless --confirm',
    )
    .option('--keep-within <duration>', 'keep every snapshot within this of the newest one (e.g. 7d)')
    .option('--keep-last <n>', 'keep the n newest snapshots')
    .option('--keep-daily <n>', 'keep the newest snapshot of each of the last n days that have one (-1: all)')
    .option('--keep-weekly <n>', 'the same per ISO week')
    .option('--keep-monthly <n>', 'the same per month')
    .option('--keep-yearly <n>', 'the same per year')
    .option('--confirm', 'really delete (writes a signed tombstone first); without it nothing is changed')
    .action(
      action(async (flags: ForgetFlags, cmd: Command) => {
        const g = globals(cmd);
        const { config } = await configFor(g);
        const policy = policyOf(flags, config);
        const verifier = await verifierFor(config);
        if (!verifier)
          throw new BarysafeError('signature', 'forget judges only snapshots whose manifest verifies: no verify key', {
            exitCode: ExitCode.USAGE,
            hint: 'set encryption.verify_key or encryption.signing_key_file in barysafe.toml',
          });
        const signer =
          flags.confirm && config.encryption.signing_key_file
            ? await loadSigner(config.encryption.signing_key_file)
            : undefined;
        const storage = storageFor(config);
        try {
          const r = await runForget(config, {
            policy,
            confirm: !!flags.confirm,
            storage,
            verifier,
            ...(signer ? { signer } : {}),
            logger: loggerFor(g),
          });
          if (g.json) printJson({ ok: r.exit_code === ExitCode.OK, ...r });
          else process.stdout.write(forgetText(r));
          return r.exit_code;
        } finally {
          await storage.close?.();
        }
      }),
    );
}

/** The command line's --keep-* flags when any is given (they replace [retention]'s), else [retention]. */
function policyOf(flags: ForgetFlags, config: BarysafeConfig): RetentionPolicy {
  const given: RetentionPolicy = {};
  if (flags.keepWithin !== undefined) {
    try {
      parseDuration(flags.keepWithin);
    } catch {
      throw new BarysafeError('usage', `--keep-within ${flags.keepWithin} is not a duration`, {
        exitCode: ExitCode.USAGE,
        hint: 'a number and a unit: 36h, 7d, 2w',
      });
    }
    given.keep_within = flags.keepWithin;
  }
  for (const rule of KEEP_RULES) {
    const flag = rule.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof ForgetFlags;
    const text = flags[flag];
    if (text === undefined || typeof text !== 'string') continue;
    const n = Number(text);
    if (!Number.isInteger(n) || n < -1)
      throw new BarysafeError('usage', `--${rule.replace(/_/g, '-')} ${text} is not a count`, {
        exitCode: ExitCode.USAGE,
        hint: 'a whole number of snapshots or periods, or -1 for all of them',
      });
    given[rule] = n;
  }
  if (Object.keys(given).length) return given;
  const { evidence_days: _e, ...rules } = config.retention;
  return rules;
}

export function forgetText(r: ForgetResult): string {
  const kept = r.snapshots.filter((s) => s.action === 'keep');
  const gone = r.snapshots.filter((s) => s.action === 'remove');
  const o: string[] = [
    `forget in ${r.repository}: ${r.policy_text}${r.dry_run ? ' — DRY RUN, nothing is changed (pass --confirm to delete)' : ''}`,
    `keep ${kept.length} snapshot(s):`,
    ...kept.map((s) => `  ${s.id}  ${s.reasons.join('; ')}`),
    `${r.dry_run ? 'would remove' : 'remove'} ${gone.length} snapshot(s):`,
    ...gone.map((s) => `  ${s.id}`),
  ];
  if (r.orphans.length)
    o.push(
      `${r.dry_run ? 'would remove' : 'remove'} ${r.orphans.length} orphan object(s) (no manifest: an interrupted backup or forget):`,
      ...r.orphans.map((k) => `  ${k}`),
    );
  for (const n of r.not_judged) o.push(`not judged, left alone: ${n.id}: ${n.why}`);
  for (const w of r.warnings) o.push(`WARNING: ${w}`);
  if (r.tombstone) o.push(`tombstone: ${r.tombstone}; removed ${r.removed.length} snapshot(s)`);
  if (r.errors.length) {
    o.push(`ERRORS (exit ${r.exit_code}):`);
    for (const e of r.errors) o.push(`  ${e}`);
  }
  return o.join('\n') + '\n';
}

/**
 * The agent's scheduled forget: the [retention] policy, confirmed (a schedule is the operator's
 * decision to prune), signed with encryption.signing_key_file. Exit code and a one-line summary.
 */
export async function forgetJob(
  config: BarysafeConfig,
  storage: Storage,
  logger: Logger,
): Promise<{ exitCode: number; summary: string }> {
  const verifier = await verifierFor(config);
  if (!verifier) return { exitCode: ExitCode.USAGE, summary: 'no verify key: forget judges only verified snapshots' };
  const signer = config.encryption.signing_key_file ? await loadSigner(config.encryption.signing_key_file) : undefined;
  const { evidence_days: _e, ...policy } = config.retention;
  const r = await runForget(config, {
    policy,
    confirm: true,
    storage,
    verifier,
    ...(signer ? { signer } : {}),
    logger,
  });
  const kept = r.snapshots.filter((s) => s.action === 'keep').length;
  return {
    exitCode: r.exit_code,
    summary:
      `${r.policy_text}: removed ${r.removed.length} snapshot(s) and ${r.removed_orphans.length} orphan(s), kept ${kept}` +
      (r.tombstone ? ` (${r.tombstone})` : '') +
      (r.errors.length ? `; ${r.errors.length} error(s): ${r.errors[0]}` : ''),
  };
}
