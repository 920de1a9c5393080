import { Readable } from 'node:stream';
import type { BarysafeConfig } from '../config/schema.js';
import { errorText } from '../errors.js';
import { redactText } from '../redact.js';
import { loadSigner } from '../crypto/signing.js';
import { appendEvidence, describe, type Outcome } from '../repository/evidence.js';
import { checkReportKey } from '../repository/layout.js';
import { newSnapshotId } from '../repository/manifest.js';
import { openStorage } from '../repository/open-storage.js';
import type { CheckReport } from '../checks/report.js';

/**
 * A check run in the evidence chain (predicate https://barysafe.dev/evidence/check/v1): the JSON
 * report is stored at checks/<id>.json and the record cites it by digest. Needs
 * encryption.signing_key_file; without it the run is simply not recorded (and says so).
 */
export type CheckEvidence = { key: string; sequence: number; report: string } | { error: string } | { skipped: string };

export async function recordCheckRun(
  config: BarysafeConfig,
  report: CheckReport,
  started: Date,
  finished: Date,
): Promise<CheckEvidence> {
  if (!config.encryption.signing_key_file) return { skipped: 'encryption.signing_key_file is not set' };
  const storage = openStorage(config.repository);
  try {
    const signer = await loadSigner(config.encryption.signing_key_file);
    const key = checkReportKey(newSnapshotId(started));
    const bytes = Buffer.from(JSON.stringify(report, null, 2) + '\n', 'utf8');
    await storage.put(key, Readable.from([bytes]), { contentLength: bytes.length, ifNoneMatch: true });
    const doc = describe(key, bytes);
    const s = report.summary;
    const outcome: Outcome = s.fail > 0 ? 'fail' : s.error > 0 ? 'error' : 'pass';
    const r = await appendEvidence(storage, signer, {
      run: 'check',
      outcome,
      exitCode: report.exit_code,
      summary: `${s.total} checks: ${s.pass} pass, ${s.fail} fail, ${s.warn} warn, ${s.error} error, ${s.waived} waived`,
      startedAt: started,
      finishedAt: finished,
      subject: [doc],
      cites: [doc],
      predicate: {
        report: key,
        deployment: report.deployment.type,
        issuer: report.barycenter.issuer,
        summary: s,
        results: report.results.map((x) => ({
          id: x.id,
          status: x.status,
          rawStatus: x.raw_status,
          severity: x.severity,
        })),
      },
    });
    return { key: r.key, sequence: r.sequence, report: key };
  } catch (e) {
    return { error: redactText(errorText(e)) };
  } finally {
    await storage.close?.();
  }
}
