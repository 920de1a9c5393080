import os from 'node:os';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import { loadSigner } from '../crypto/signing.js';
import type { Repository } from '../repository/repository.js';
import { signDocument } from '../repository/signed-document.js';
import { DRILL_RECORD_FORMAT, drillRecordKey, type DrillRecord } from '../repository/drill-record.js';
import { VERSION } from '../version.js';
import type { DrillResult } from './types.js';

export function buildDrillRecord(r: DrillResult): DrillRecord {
  return {
    format: DRILL_RECORD_FORMAT,
    id: r.drill_id,
    snapshot_id: r.snapshot_id,
    snapshot_sha256: r.snapshot_sha256,
    started_at: r.started_at,
    finished_at: r.finished_at,
    verdict: r.verdict,
    steps: r.steps.map(({ name, verdict, duration_ms, detail, evidence, warnings }) => ({
      name,
      verdict,
      duration_ms,
      detail,
      ...(evidence ? { evidence } : {}),
      ...(warnings?.length ? { warnings } : {}),
    })),
    rto_ms: r.rto_ms,
    rpo_ms: r.rpo_ms,
    ...(r.rto_target_ms !== undefined ? { rto_target_ms: r.rto_target_ms } : {}),
    ...(r.rpo_target_ms !== undefined ? { rpo_target_ms: r.rpo_target_ms } : {}),
    barycenter_build: r.barycenter_build,
    host: os.hostname(),
    tool: { name: 'barysafe', version: VERSION },
  };
}

/**
 * Signs the record with the manifest signing key (encryption.signing_key_file) and stores it at
 * drills/<id>.json, never replacing an existing one. Failed drills are recorded too: "when was
 * restoration last tested, and did it work" needs both.
 */
export async function storeDrillRecord(
  repo: Repository,
  signingKeyFile: string | undefined,
  record: DrillRecord,
): Promise<string> {
  if (!signingKeyFile) {
    throw new BarysafeError('drill-record', 'cannot sign the drill record: encryption.signing_key_file is not set', {
      exitCode: ExitCode.USAGE,
      hint: 'drill records are signed like manifests; set encryption.signing_key_file on the host that runs drills',
    });
  }
  const signed = signDocument(record, await loadSigner(signingKeyFile));
  const key = drillRecordKey(record.id);
  try {
    await repo.putDocument(key, signed);
  } catch (e) {
    throw new BarysafeError(
      'drill-record',
      `cannot store the drill record ${key} in ${repo.storage.displayUrl}: ${errorText(e)}`,
      { exitCode: ExitCode.REPOSITORY },
    );
  }
  return key;
}
