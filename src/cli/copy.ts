import type { Command } from 'commander';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import { runCopy, type CopyResult } from '../repository/copy.js';
import { openStorage } from '../repository/open-storage.js';
import { action, configFor, globals, loggerFor, printJson, storageFor, verifierFor } from './common.js';
import { formatBytes } from '../units.js';

interface CopyFlags {
  to: string;
  toEndpoint?: string;
  toRegion?: string;
}

export function registerCopy(program: Command): void {
  program
    .command('copy')
    .description(
      'copy snapshots byte for byte to a second repository (signatures and chain intact), skipping what is already there',
    )
    .argument('[snapshots...]', 'snapshot ids (or unique prefixes); default: every snapshot')
    .requiredOption('--to <url>', 'the second repository: file:///dir or s3://bucket/prefix')
    .option('--to-endpoint <url>', 'S3-compatible endpoint of the target (credentials from the usual AWS sources)')
    .option('--to-region <region>', 'region of the target bucket')
    .action(
      action(async (refs: string[], flags: CopyFlags, cmd: Command) => {
        const g = globals(cmd);
        const { config } = await configFor(g);
        const verifier = await verifierFor(config);
        if (!verifier)
          throw new BarysafeError('signature', 'copy takes only snapshots whose manifest verifies: no verify key', {
            exitCode: ExitCode.USAGE,
            hint: 'set encryption.verify_key or encryption.signing_key_file in barysafe.toml',
          });
        let to;
        try {
          to = openStorage({
            url: flags.to,
            ...(flags.toEndpoint ? { endpoint: flags.toEndpoint } : {}),
            ...(flags.toRegion ? { region: flags.toRegion } : {}),
          });
        } catch (e) {
          throw new BarysafeError('usage', `--to: ${errorText(e)}`, { exitCode: ExitCode.USAGE });
        }
        const from = storageFor(config);
        try {
          const r = await runCopy({ from, to, verifier, refs, logger: loggerFor(g) });
          if (g.json) printJson({ ok: r.exit_code === ExitCode.OK, ...r });
          else process.stdout.write(copyText(r));
          return r.exit_code;
        } finally {
          await from.close?.();
          await to.close?.();
        }
      }),
    );
}

function copyText(r: CopyResult): string {
  const o = [
    `copy ${r.from} -> ${r.to}`,
    `  ${r.copied.length} snapshot(s) copied, ${r.already_there.length} already there; ${r.objects_copied} object(s), ${formatBytes(r.bytes_copied)} transferred, ${r.objects_skipped} object(s) already there`,
  ];
  if (r.records_copied.length) o.push(`  records copied: ${r.records_copied.join(', ')}`);
  for (const x of r.refused) o.push(`  NOT COPIED: ${x.id}: ${x.why}`);
  for (const p of r.problems) o.push(`  PROBLEM: ${p}`);
  if (r.exit_code !== ExitCode.OK) o.push(`exit ${r.exit_code}`);
  return o.join('\n') + '\n';
}
