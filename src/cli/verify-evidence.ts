import type { Command } from 'commander';
import { BarysafeError, ExitCode } from '../errors.js';
import { loadVerifier } from '../crypto/signing.js';
import { verifyEvidence, type EvidenceVerification } from '../repository/evidence-verify.js';
import { action, configFor, globals, printJson, storageFor, verifierFor } from './common.js';
import { collect, parseSince } from './period.js';

interface Flags {
  since?: string;
  reviewerKey?: string[];
  expectHead?: string;
}

export function registerVerifyEvidence(program: Command): void {
  program
    .command('verify-evidence')
    .description(
      'prove the evidence chain: every record signed, no gap, no fork, every cited document present and unchanged; list the runs',
    )
    .option(
      '--since <date>',
      'list runs from this date (2026-01-01) or this far back (90d); the whole chain is verified',
    )
    .option('--reviewer-key <file>', "a reviewer's Ed25519 public key, to verify their countersignatures", collect)
    .option('--expect-head <n[:sha256]>', 'fail unless the chain still holds this record (a head seen earlier)')
    .action(
      action(async (flags: Flags, cmd: Command) => {
        const g = globals(cmd);
        const { config } = await configFor(g);
        const verifier = await verifierFor(config);
        if (!verifier)
          throw new BarysafeError('usage', 'verify-evidence needs the key evidence is signed with', {
            exitCode: ExitCode.USAGE,
            hint: 'set encryption.verify_key (the public key is enough) or encryption.signing_key_file',
          });
        const reviewerKeys = await Promise.all((flags.reviewerKey ?? []).map((f) => loadVerifier(f)));
        const storage = storageFor(config);
        try {
          const v = await verifyEvidence(storage, verifier, {
            ...(flags.since ? { since: parseSince(flags.since) } : {}),
            reviewerKeys,
            ...(flags.expectHead ? { expectHead: parseHead(flags.expectHead) } : {}),
          });
          if (g.json) printJson(verificationJson(v));
          else process.stdout.write(verificationText(v));
          return v.ok ? ExitCode.OK : ExitCode.INTEGRITY;
        } finally {
          await storage.close?.();
        }
      }),
    );
}

function parseHead(text: string): { sequence: number; sha256?: string } {
  const m = /^#?(\d+)(?::([0-9a-f]{64}))?$/.exec(text.trim());
  if (!m)
    throw new BarysafeError('usage', `--expect-head ${text}: expected N or N:SHA256`, { exitCode: ExitCode.USAGE });
  return { sequence: Number(m[1]), ...(m[2] ? { sha256: m[2] } : {}) };
}

/** The stable --json document (docs/EVIDENCE.md). */
export function verificationJson(v: EvidenceVerification) {
  return {
    ok: v.ok,
    format: 'barysafe.evidence-verification/v1',
    repository: v.repository,
    key_id: v.keyId,
    since: v.since,
    records: v.total,
    head: v.head,
    runs: v.runs.map((r) => ({
      sequence: r.sequence,
      key: r.key,
      sha256: r.sha256,
      run: r.info.run,
      predicate_type: r.statement.predicateType,
      outcome: r.info.outcome,
      exit_code: r.info.exitCode,
      host: r.info.host,
      started_at: r.info.startedAt,
      finished_at: r.info.finishedAt,
      summary: r.info.summary,
      subject: r.statement.subject,
      cites: r.info.cites,
      reviews: r.reviews.map(({ keyid, status }) => ({ keyid, status })),
    })),
    problems: v.problems,
    notes: v.notes,
  };
}

function verificationText(v: EvidenceVerification): string {
  const out: string[] = [];
  const rows = v.runs.map((r) => [
    `#${r.sequence}`,
    r.info.finishedAt.replace(/\.\d+Z$/, 'Z'),
    r.info.run,
    r.info.outcome.toUpperCase(),
    r.info.host,
    r.info.summary +
      (r.reviews.length ? ` [reviewed: ${r.reviews.map((x) => `${x.keyid} ${x.status}`).join(', ')}]` : ''),
  ]);
  const table = [['#', 'FINISHED', 'RUN', 'OUTCOME', 'HOST', 'SUMMARY'], ...rows];
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) out.push(row.map((c, i) => (i < 5 ? c.padEnd(widths[i]!) : c)).join('  '));
  out.push('');
  const window = v.since ? ` since ${v.since}` : '';
  out.push(`${v.runs.length} run(s)${window}; ${v.total} record(s) in ${v.repository}, signed by ${v.keyId}`);
  if (v.head) out.push(`head: #${v.head.sequence} ${v.head.key} sha256 ${v.head.sha256}`);
  for (const n of v.notes) out.push(`note: ${n}`);
  for (const p of v.problems) out.push(`BAD ${p.key}: ${p.problem}`);
  out.push(v.ok ? 'evidence chain verified' : `evidence chain NOT verified: ${v.problems.length} problem(s)`);
  return out.join('\n') + '\n';
}
