import { checkSignatures, payloadBytes, type DsseEnvelope } from '../../crypto/dsse.js';
import type { Verifier } from '../../crypto/signing.js';
import { PREDICATE_TYPES, readObject, type Statement } from '../../repository/evidence.js';
import { evidenceKey } from '../../repository/layout.js';
import { sha256Hex } from '../../repository/signed-document.js';
import { parseEnvelope } from '../../crypto/dsse.js';
import { StorageNotFoundError, type Storage } from '../../repository/storage.js';
import { extract, renderUnsigned, type AuditFormat } from './attest.js';
import type { AuditReport } from './model.js';

/**
 * verify-report: the file's signature holds, the file is byte for byte what was signed (so no
 * status, number or row was changed or removed), and — with the repository — every record and
 * document the report cites still exists with the digest it names.
 */
export interface ReportVerification {
  ok: boolean;
  format: AuditFormat;
  report_id: string | null;
  signed_by: string | null;
  /** The report's number in the evidence chain; 0 when it was not stored. */
  sequence: number | null;
  repository_checked: boolean;
  cites_checked: number;
  problems: string[];
}

export async function verifyReport(
  bytes: Buffer,
  format: AuditFormat,
  o: { verifier: Verifier; storage?: Storage; sidecar?: Buffer },
): Promise<ReportVerification> {
  const problems: string[] = [];
  const out: ReportVerification = {
    ok: false,
    format,
    report_id: null,
    signed_by: null,
    sequence: null,
    repository_checked: false,
    cites_checked: 0,
    problems,
  };
  let envelope: DsseEnvelope | null;
  let unsigned: Buffer;
  if (format === 'pdf') {
    envelope = o.sidecar ? parseEnvelope(o.sidecar) : null;
    unsigned = bytes;
    if (!o.sidecar) problems.push('a PDF report is signed in FILE.intoto.jsonl beside it, and there is none');
  } else {
    const x = extract(bytes.toString('utf8'), format);
    envelope = x.envelope;
    unsigned = Buffer.from(x.unsigned, 'utf8');
  }
  if (!envelope) {
    if (!problems.length)
      problems.push('the file carries no barysafe attestation (not a signed barysafe report, or it was cut)');
    return out;
  }
  const sig = checkSignatures(envelope, [o.verifier]).find((s) => s.keyid === o.verifier.keyId);
  if (!sig) {
    problems.push(`the report is not signed by the trusted key ${o.verifier.keyId}`);
    return out;
  }
  if (sig.status !== 'valid') {
    problems.push('the signature is invalid: the embedded record was altered');
    return out;
  }
  out.signed_by = sig.keyid;
  const statement = JSON.parse(payloadBytes(envelope).toString('utf8')) as Statement;
  const model = (statement.predicate as { report?: AuditReport }).report;
  if (statement.predicateType !== PREDICATE_TYPES.report || !model) {
    problems.push(`the signed statement is not a barysafe report (${statement.predicateType})`);
    return out;
  }
  out.report_id = model.id;
  out.sequence = statement.predicate.barysafe.sequence;
  const want = statement.subject[0]?.digest.sha256;
  if (want !== sha256Hex(unsigned)) {
    problems.push(
      `the file was changed after it was signed (sha256 ${sha256Hex(unsigned).slice(0, 16)}… ≠ signed ${String(want).slice(0, 16)}…)`,
    );
    if (format !== 'pdf') {
      const where = firstDifference(renderUnsigned(model, format), unsigned.toString('utf8'));
      if (where) problems.push(where);
    }
  }
  if (o.storage) {
    out.repository_checked = true;
    const cites = statement.predicate.barysafe.cites ?? [];
    for (const c of cites) {
      out.cites_checked++;
      try {
        const got = sha256Hex(await readObject(o.storage, c.name));
        if (got !== c.digest.sha256)
          problems.push(
            `${c.name} changed since the report cited it (sha256 ${got.slice(0, 16)}… ≠ ${c.digest.sha256.slice(0, 16)}…)`,
          );
      } catch (e) {
        if (!(e instanceof StorageNotFoundError)) throw e;
        problems.push(`${c.name}, which the report cites, is missing from the repository`);
      }
    }
    if (out.sequence && out.sequence > 0) {
      const key = evidenceKey(out.sequence);
      try {
        const stored = parseEnvelope(await readObject(o.storage, key));
        if (!stored || stored.payload !== envelope.payload) problems.push(`${key} is not this report's record`);
      } catch (e) {
        if (!(e instanceof StorageNotFoundError)) throw e;
        problems.push(`the report's own record ${key} is missing from the repository`);
      }
    }
  }
  out.ok = problems.length === 0;
  return out;
}

/** Where the file stops matching what the signed model renders to (same barysafe version only). */
function firstDifference(expected: string, actual: string): string | null {
  const a = expected.split('\n');
  const b = actual.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) {
      const clip = (s: string | undefined) => (s === undefined ? '(nothing)' : s.trim().slice(0, 160));
      return `first difference at line ${i + 1}: signed «${clip(a[i])}», file «${clip(b[i])}»`;
    }
  }
  return null;
}
