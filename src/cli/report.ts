import { Command, Option } from 'commander';
import { BarysafeError, ExitCode } from '../errors.js';
import { loadSigner } from '../crypto/signing.js';
import { produceReport } from '../report/audit/produce.js';
import type { AuditFormat } from '../report/audit/attest.js';
import { action, configFor, globals, printJson, storageFor } from './common.js';
import { parseSince } from './period.js';
import { checkOutputPath, writeOutputFile } from './output-file.js';

interface Flags {
  since: string;
  format: AuditFormat;
  output?: string;
  store?: boolean;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description(
      "the auditor's report: checks with framework controls, backups, drills, keys and the evidence chain, signed",
    )
    .option('--since <when>', 'start of the period: a date (2026-01-01) or a duration back from now (90d)', '90d')
    .addOption(
      new Option('--format <format>', 'output format').choices(['html', 'markdown', 'json', 'pdf']).default('html'),
    )
    .option('--output <file>', 'write the report here (required for pdf; default: stdout)')
    .option('--store', 'also keep the report in the repository as a record of the evidence chain')
    .action(
      action(async (flags: Flags, cmd: Command) => {
        const g = globals(cmd);
        const { config } = await configFor(g);
        if (!config.encryption.signing_key_file)
          throw new BarysafeError('usage', 'a report is a signed record: encryption.signing_key_file is not set', {
            exitCode: ExitCode.USAGE,
            hint: 'run the report where the signing key is (the backup host), or set encryption.signing_key_file',
          });
        if (flags.format === 'pdf' && !flags.output)
          throw new BarysafeError('usage', '--format pdf needs --output FILE', { exitCode: ExitCode.USAGE });
        if (g.json && !flags.output)
          throw new BarysafeError('usage', '--json prints a summary; give the report a file with --output', {
            exitCode: ExitCode.USAGE,
            hint: 'or use --format json to get the report itself on stdout',
          });
        if (flags.output) await checkOutputPath(flags.output);
        const signer = await loadSigner(config.encryption.signing_key_file);
        const storage = storageFor(config);
        try {
          const now = new Date();
          const r = await produceReport(config, {
            storage,
            signer,
            format: flags.format,
            since: parseSince(flags.since, now),
            now,
            store: !!flags.store,
            ...(flags.output ? { output: flags.output } : {}),
          });
          if (!flags.output) {
            process.stdout.write(r.content);
            return ExitCode.OK;
          }
          await writeOutputFile(flags.output, r.content, 0o644);
          if (r.sidecar) await writeOutputFile(`${flags.output}.intoto.jsonl`, r.sidecar, 0o644);
          const line = {
            ok: true,
            file: flags.output,
            ...(r.sidecar ? { attestation: `${flags.output}.intoto.jsonl` } : {}),
            status: r.report.summary.status,
            record: r.record ?? null,
          };
          if (g.json) printJson(line);
          else
            process.stdout.write(
              `report ${r.report.id} (${r.report.summary.status}) written to ${flags.output}${r.sidecar ? ` (signature: ${flags.output}.intoto.jsonl)` : ''}${r.record ? `; stored as evidence #${r.record.sequence}` : ''}\n`,
            );
          return ExitCode.OK;
        } finally {
          await storage.close?.();
        }
      }),
    );
}
