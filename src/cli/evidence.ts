import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { BarysafeError, ExitCode } from '../errors.js';
import { serializeEnvelope } from '../crypto/dsse.js';
import { loadSigner } from '../crypto/signing.js';
import { parseEvidenceKey } from '../repository/layout.js';
import { countersign, countersignStored } from '../repository/evidence-review.js';
import { action, configFor, globals, printJson, storageFor } from './common.js';
import { checkOutputPath, writeOutputFile } from './output-file.js';

interface SignFlags {
  key: string;
  output?: string;
}

/** `barysafe evidence sign`: a reviewer's countersignature on a record (docs/EVIDENCE.md). */
export function registerEvidence(program: Command): void {
  const evidence = program.command('evidence').description('work with the evidence chain');
  evidence
    .command('sign')
    .description("add a reviewer's signature to an evidence record (stored beside it; the record is unchanged)")
    .argument(
      '<record>',
      'a record number (42), its key (evidence/000000000042.intoto.jsonl), or a local envelope file',
    )
    .requiredOption('--key <file>', "the reviewer's Ed25519 private key (PKCS#8 PEM)")
    .option('--output <file>', 'with a local file: write the countersigned envelope here (default: stdout)')
    .action(
      action(async (record: string, flags: SignFlags, cmd: Command) => {
        const g = globals(cmd);
        const signer = await loadSigner(flags.key);
        const sequence = /^#?\d+$/.test(record) ? Number(record.replace('#', '')) : parseEvidenceKey(record);
        if (sequence === null) {
          if (!existsSync(record))
            throw new BarysafeError('usage', `${record} is neither a record number, a record key nor a file`, {
              exitCode: ExitCode.USAGE,
            });
          if (flags.output) await checkOutputPath(flags.output);
          const out = serializeEnvelope(countersign(await readFile(record), signer, record));
          if (flags.output) await writeOutputFile(flags.output, out, 0o644);
          else process.stdout.write(out);
          if (g.json && flags.output) printJson({ ok: true, file: flags.output, keyid: signer.keyId });
          return ExitCode.OK;
        }
        const { config } = await configFor(g);
        const storage = storageFor(config);
        try {
          const r = await countersignStored(storage, sequence, signer);
          if (g.json) printJson({ ok: true, sequence, key: r.key, keyid: signer.keyId });
          else process.stdout.write(`record #${sequence} countersigned by ${signer.keyId}: ${r.key}\n`);
          return ExitCode.OK;
        } finally {
          await storage.close?.();
        }
      }),
    );
}
