import path from 'node:path';
import type { BarysafeConfig } from '../../config/schema.js';
import { serializeEnvelope } from '../../crypto/dsse.js';
import type { Signer } from '../../crypto/signing.js';
import type { Storage } from '../../repository/storage.js';
import { embed, renderUnsigned, signReport, type AuditFormat } from './attest.js';
import { htmlToPdf } from './browser.js';
import { gatherAuditReport } from './gather.js';
import type { AuditReport } from './model.js';

export interface ProducedReport {
  report: AuditReport;
  /** The file to write (signed, except PDF whose signature is `sidecar`). */
  content: Buffer;
  sidecar?: Buffer;
  record?: { key: string; sequence: number };
}

/** `barysafe report`: gather from the chain, render, sign (and with store, append), embed. */
export async function produceReport(
  config: BarysafeConfig,
  o: { storage: Storage; signer: Signer; format: AuditFormat; since: Date; now: Date; store: boolean; output?: string },
): Promise<ProducedReport> {
  const startedAt = new Date();
  const report = await gatherAuditReport(config, o.storage, o.signer, { now: o.now, since: o.since });
  const ext = { html: 'html', markdown: 'md', json: 'json', pdf: 'pdf' }[o.format];
  const fileName = o.output ? path.basename(o.output) : `barysafe-report-${report.id}.${ext}`;
  const unsigned =
    o.format === 'pdf'
      ? await htmlToPdf(renderUnsigned(report, 'html'))
      : Buffer.from(renderUnsigned(report, o.format));
  const signed = await signReport(report, {
    signer: o.signer,
    fileName,
    unsigned,
    startedAt,
    ...(o.store ? { store: o.storage } : {}),
  });
  if (o.format === 'pdf')
    return {
      report,
      content: unsigned,
      sidecar: serializeEnvelope(signed.envelope),
      ...(signed.record ? { record: signed.record } : {}),
    };
  return {
    report,
    content: Buffer.from(embed(unsigned.toString('utf8'), o.format, signed.envelope)),
    ...(signed.record ? { record: signed.record } : {}),
  };
}
