import { Readable } from 'node:stream';
import { IN_TOTO_PAYLOAD_TYPE, parseEnvelope, signEnvelope, type DsseEnvelope } from '../../crypto/dsse.js';
import type { Signer } from '../../crypto/signing.js';
import {
  appendEvidence,
  buildStatement,
  describe,
  type DocumentRef,
  type EvidenceInput,
} from '../../repository/evidence.js';
import { reportKey } from '../../repository/layout.js';
import { sha256Hex } from '../../repository/signed-document.js';
import type { Storage } from '../../repository/storage.js';
import { HTML_ATTESTATION, renderAuditHtml } from './html.js';
import { MD_ATTESTATION, renderAuditMarkdown } from './markdown.js';
import type { AuditReport } from './model.js';

/**
 * A report is a signed record: its DSSE envelope (an in-toto Statement whose subject is the
 * rendered file, without the envelope, by SHA-256, and whose predicate is the whole report model)
 * is embedded in the file — a non-executed <script> block in HTML, a comment in Markdown, the
 * `attestation` member in JSON — or written beside a PDF as FILE.intoto.jsonl. With --store the
 * envelope is also the report's record in the evidence chain.
 */
export type AuditFormat = 'html' | 'markdown' | 'json' | 'pdf';

const JSON_TAIL = '  "attestation": null\n}\n';
const JSON_ATTESTATION = /\n {2}"attestation": (\{[^\n]*\})\n\}\n$/;

export function renderUnsigned(r: AuditReport, format: Exclude<AuditFormat, 'pdf'>): string {
  if (format === 'html') return renderAuditHtml(r);
  if (format === 'markdown') return renderAuditMarkdown(r);
  return JSON.stringify({ ...r, attestation: null }, null, 2) + '\n';
}

export function embed(unsigned: string, format: Exclude<AuditFormat, 'pdf'>, envelope: DsseEnvelope): string {
  const json = JSON.stringify(envelope);
  if (format === 'html')
    return unsigned.replace(
      HTML_ATTESTATION,
      () => `<script type="application/vnd.in-toto+json" id="barysafe-attestation">${json}</script>`,
    );
  if (format === 'markdown')
    return unsigned.replace(
      MD_ATTESTATION,
      () => `<!-- barysafe-attestation: ${Buffer.from(json).toString('base64')} -->\n`,
    );
  return unsigned.slice(0, unsigned.length - JSON_TAIL.length) + `  "attestation": ${json}\n}\n`;
}

/** The envelope a file carries and the file as it was before the envelope went in. */
export function extract(
  text: string,
  format: Exclude<AuditFormat, 'pdf'>,
): { envelope: DsseEnvelope | null; unsigned: string } {
  if (format === 'html') {
    const m = HTML_ATTESTATION.exec(text);
    return {
      envelope: m ? parseEnvelope(Buffer.from(m[1]!)) : null,
      unsigned: text.replace(
        HTML_ATTESTATION,
        '<script type="application/vnd.in-toto+json" id="barysafe-attestation"></script>',
      ),
    };
  }
  if (format === 'markdown') {
    const m = MD_ATTESTATION.exec(text);
    return {
      envelope: m ? parseEnvelope(Buffer.from(m[1]!, 'base64')) : null,
      unsigned: text.replace(MD_ATTESTATION, '<!-- barysafe-attestation:  -->\n'),
    };
  }
  const m = JSON_ATTESTATION.exec(text);
  return {
    envelope: m ? parseEnvelope(Buffer.from(m[1]!)) : null,
    unsigned: m ? text.slice(0, m.index) + '\n' + JSON_TAIL : text,
  };
}

export function detectFormat(bytes: Buffer): AuditFormat {
  const head = bytes.subarray(0, 64).toString('utf8').trimStart().toLowerCase();
  if (head.startsWith('%pdf')) return 'pdf';
  if (head.startsWith('<!doctype html') || head.startsWith('<html')) return 'html';
  if (head.startsWith('{')) return 'json';
  return 'markdown';
}

/**
 * Signs the report. `subject` is the rendered bytes without the envelope. With `store`, the JSON
 * model goes to reports/<id>.json and the envelope is appended to the chain (so it has a number and
 * a predecessor); without it, the statement carries sequence 0: signed, but not in the chain.
 */
export async function signReport(
  r: AuditReport,
  o: { signer: Signer; fileName: string; unsigned: Uint8Array; store?: Storage; startedAt: Date },
): Promise<{ envelope: DsseEnvelope; record?: { key: string; sequence: number }; stored?: DocumentRef }> {
  const subject: DocumentRef = { name: o.fileName, digest: { sha256: sha256Hex(o.unsigned) } };
  const input: EvidenceInput = {
    run: 'report',
    outcome: r.summary.status === 'fail' ? 'fail' : 'pass',
    exitCode: 0,
    summary: `report ${r.id} for ${r.period.since.slice(0, 10)} – ${r.period.until.slice(0, 10)}: ${r.summary.status}, ${r.cites.length} records cited`,
    startedAt: o.startedAt,
    finishedAt: new Date(r.generated_at),
    subject: [subject],
    cites: r.cites,
    predicate: { report: r },
  };
  if (!o.store) {
    const statement = buildStatement(input, 0, null);
    return { envelope: signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement)), o.signer) };
  }
  const key = reportKey(r.id);
  const bytes = Buffer.from(renderUnsigned(r, 'json'), 'utf8');
  await o.store.put(key, Readable.from([bytes]), { contentLength: bytes.length, ifNoneMatch: true });
  const stored = describe(key, bytes);
  const rec = await appendEvidence(o.store, o.signer, { ...input, cites: [...r.cites, stored] });
  return { envelope: rec.envelope, record: { key: rec.key, sequence: rec.sequence }, stored };
}
