import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { BarysafeError, ExitCode } from '../errors.js';
import { loadVerifier, type Verifier } from '../crypto/signing.js';
import { detectFormat } from '../report/audit/attest.js';
import { verifyReport } from '../report/audit/verify-report.js';
import type { Storage } from '../repository/storage.js';
import { action, configFor, globals, printJson, storageFor, verifierFor } from './common.js';

interface Flags {
  key?: string;
}

export function registerVerifyReport(program: Command): void {
  program
    .command('verify-report')
    .description(
      "check a report's signature, that the file is unchanged, and (with the repository) every record it cites",
    )
    .argument('<file>', 'a report written by `barysafe report` (html, markdown, json, or pdf with FILE.intoto.jsonl)')
    .option(
      '--key <file>',
      "the evidence signing key's public half, to verify without barysafe.toml (no repository check then)",
    )
    .action(
      action(async (file: string, flags: Flags, cmd: Command) => {
        const g = globals(cmd);
        let verifier: Verifier | undefined;
        let storage: Storage | undefined;
        if (flags.key) verifier = await loadVerifier(flags.key);
        else {
          const { config } = await configFor(g);
          verifier = await verifierFor(config);
          storage = storageFor(config);
        }
        if (!verifier)
          throw new BarysafeError('usage', 'verify-report needs the key evidence is signed with', {
            exitCode: ExitCode.USAGE,
            hint: 'pass --key signing.pub.pem, or set encryption.verify_key in barysafe.toml',
          });
        try {
          const bytes = await readFile(file);
          const format = detectFormat(bytes);
          const sidecarFile = `${file}.intoto.jsonl`;
          const sidecar = format === 'pdf' && existsSync(sidecarFile) ? await readFile(sidecarFile) : undefined;
          const v = await verifyReport(bytes, format, {
            verifier,
            ...(storage ? { storage } : {}),
            ...(sidecar ? { sidecar } : {}),
          });
          if (g.json) printJson({ ...v, file });
          else {
            const head = v.report_id ? `report ${v.report_id} (${v.format})` : `${file} (${v.format})`;
            const lines = v.problems.map((p) => `BAD ${p}`);
            lines.push(
              v.ok
                ? `${head}: signature valid, file unchanged${v.repository_checked ? `, ${v.cites_checked} cited record(s) and document(s) present and unchanged` : ' (repository not checked)'}`
                : `${head}: NOT verified`,
            );
            process.stdout.write(lines.join('\n') + '\n');
          }
          return v.ok ? ExitCode.OK : ExitCode.INTEGRITY;
        } finally {
          await storage?.close?.();
        }
      }),
    );
}
