import type { Command } from 'commander';
import { BarysafeError, ExitCode } from '../errors.js';
import { formatBytes, parseSize } from '../units.js';
import { runVerify, type VerifyResult } from '../verify/repo/run.js';
import { parseSubset } from '../verify/repo/slices.js';
import { action, configFor, globals, loggerFor, printJson, storageFor } from './common.js';

interface VerifyFlags {
  all?: boolean;
  readData?: boolean;
  readDataSubset?: string;
  maxEgress?: string;
  live?: boolean;
  identity?: string;
  record: boolean;
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description(
      'prove the repository holds what its signed manifests say: inventory (signatures, chain, objects, age headers) by default, artifact contents with --read-data',
    )
    .argument('[snapshot]', 'one snapshot id (or a unique prefix, or "latest"); default: every snapshot')
    .option('--all', 'every snapshot (the default)')
    .option('--read-data', 'download, hash, decrypt and parse every artifact')
    .option(
      '--read-data-subset <n/t>',
      'read slice n of t (t runs read everything once), or auto/t: the next slice each run',
    )
    .option('--max-egress <size>', 'stop before downloading more than this (e.g. 2GiB, 500MB) and say what was left')
    .option('--live', "also check production's served JWKS against the keys the snapshots hold")
    .option('--identity <file>', 'age identity file (default: encryption.identity_file)')
    .option('--no-record', 'do not store a signed verify record (for a host without the signing key)')
    .action(
      action(async (ref: string | undefined, flags: VerifyFlags, cmd: Command) => {
        const g = globals(cmd);
        if (ref && flags.all)
          throw new BarysafeError('usage', 'give a snapshot or --all, not both', { exitCode: ExitCode.USAGE });
        if (flags.readData && flags.readDataSubset)
          throw new BarysafeError(
            'usage',
            '--read-data reads everything; --read-data-subset reads one slice: pick one',
            {
              exitCode: ExitCode.USAGE,
            },
          );
        const subset = flags.readDataSubset !== undefined ? parseSubset(flags.readDataSubset) : undefined;
        const maxEgress = flags.maxEgress !== undefined ? parseSize(flags.maxEgress) : undefined;
        const { config } = await configFor(g);
        const storage = storageFor(config);
        try {
          const r = await runVerify(config, {
            ...(ref ? { ref } : {}),
            readData: !!flags.readData || subset !== undefined,
            ...(subset ? { subset } : {}),
            ...(maxEgress !== undefined ? { maxEgress } : {}),
            live: !!flags.live,
            ...(flags.identity ? { identityFile: flags.identity } : {}),
            record: flags.record,
            storage,
            logger: loggerFor(g),
          });
          if (g.json) printJson({ ok: r.exit_code === ExitCode.OK, ...r });
          else process.stdout.write(verifyText(r));
          return r.exit_code;
        } finally {
          await storage.close?.();
        }
      }),
    );
}

export function verifyText(r: VerifyResult): string {
  const tier =
    r.tier === 'inventory'
      ? 'inventory'
      : r.subset
        ? `read-data slice ${r.subset.n}/${r.subset.t}${r.subset.auto ? ' (auto)' : ''}`
        : 'read-data';
  const o: string[] = [`verify (${tier}) of ${r.snapshots.length} snapshot(s) in ${r.repository}`];
  for (const s of r.snapshots) {
    const arts = s.objects.filter((x) => x.kind !== 'manifest');
    const data = arts.filter((x) => x.checks.includes('data')).length;
    const state = !s.ok ? 'DAMAGED' : s.signature === 'ok' ? 'ok' : 'INVALID';
    o.push(
      `  ${s.id}  ${state.padEnd(7)}  ${arts.length} objects${data ? `, ${data} read` : ''}; chain: ${s.chain.detail}`,
    );
  }
  if (r.rpo)
    o.push(
      `RPO: newest snapshot ${r.rpo.newest} is ${r.rpo.age_ms === null ? 'of unknown age' : `${(r.rpo.age_ms / 3_600_000).toFixed(1)} h old`} (checks.rpo = ${r.rpo.target})${r.rpo.ok ? '' : ' — TOO OLD'}`,
    );
  if (r.live) o.push(`live: ${r.live.verdict}: ${r.live.detail}`);
  o.push(
    `egress: ${formatBytes(r.egress.bytes_read)} read${r.egress.budget_bytes !== null ? ` of a ${formatBytes(r.egress.budget_bytes)} budget` : ''}` +
      (r.egress.stopped
        ? `; STOPPED before the budget: ${r.egress.left_objects} object(s), ${formatBytes(r.egress.left_bytes)} not read:\n` +
          r.left.map((l) => `    ${l.object} (${formatBytes(l.size)})`).join('\n')
        : ''),
  );
  if (r.next_slice !== undefined) o.push(`next auto run reads slice ${r.next_slice}/${r.subset!.t}`);
  if (r.record_key) o.push(`record: ${r.record_key}${r.evidence ? ` (evidence #${r.evidence.sequence})` : ''}`);
  if (r.record_error) o.push(`RECORD NOT STORED: ${r.record_error}`);
  for (const i of r.inconclusive) o.push(`NOT DECIDED: ${i}`);
  if (r.problems.length) {
    o.push(`PROBLEMS (exit ${r.exit_code}):`);
    for (const p of r.problems) o.push(`  ${p}`);
  } else {
    o.push(r.exit_code === ExitCode.OK ? 'everything checked is sound' : `exit ${r.exit_code}`);
  }
  return o.join('\n') + '\n';
}
