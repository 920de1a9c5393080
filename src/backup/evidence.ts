import { createHash } from 'node:crypto';
import type { Logger } from '../log.js';
import { errorText, isBarysafeError, ExitCode } from '../errors.js';
import type { Signer } from '../crypto/signing.js';
import { tryAppendEvidence, type DocumentRef } from '../repository/evidence.js';
import { manifestKey } from '../repository/layout.js';
import type { Manifest } from '../repository/manifest.js';
import type { Storage } from '../repository/storage.js';

/**
 * The backup's evidence record (predicate https://barysafe.dev/evidence/backup/v1, docs/EVIDENCE.md):
 * the snapshot by manifest digest on success, the error on failure. A failed backup is recorded
 * whenever the repository can still be written: "did every scheduled backup run?" needs both.
 */
export type BackupEvidence = { key: string; sequence: number } | { error: string };

export async function recordBackup(
  storage: Storage,
  signer: Signer,
  r: { id: string; manifest: Manifest; manifestSha256: string },
  started: Date,
  finished: Date,
): Promise<BackupEvidence> {
  const m = r.manifest;
  const manifest: DocumentRef = {
    name: manifestKey(r.id),
    digest: { sha256: r.manifestSha256 },
    mediaType: 'application/json',
  };
  const bytes = m.artifacts.reduce((s, a) => s + a.size, 0);
  const res = await tryAppendEvidence(storage, signer, {
    run: 'backup',
    outcome: 'pass',
    exitCode: ExitCode.OK,
    summary: `snapshot ${r.id}: ${m.artifacts.length} artifacts, ${bytes} bytes encrypted${m.warnings.length ? `, ${m.warnings.length} warning(s)` : ''}`,
    startedAt: started,
    finishedAt: finished,
    subject: [manifest],
    cites: [manifest],
    predicate: {
      snapshot: {
        id: r.id,
        createdAt: m.created_at,
        artifacts: m.artifacts.length,
        bytes,
        recipients: m.recipients.map(recipientFingerprint),
        key: { kid: m.key.kid, thumbprint: m.key.thumbprint, jwksMatches: m.key.jwks.publishes_key_exactly },
        database: { engine: m.database.engine, migrations: m.database.migrations.length },
      },
      warnings: m.warnings,
    },
  });
  return res.ok ? { key: res.record.key, sequence: res.record.sequence } : { error: res.error };
}

export async function recordBackupFailure(
  storage: Storage,
  signer: Signer,
  error: unknown,
  started: Date,
  finished: Date,
  log: Logger,
): Promise<void> {
  const exitCode = isBarysafeError(error) ? error.exitCode : ExitCode.FAILURE;
  const res = await tryAppendEvidence(storage, signer, {
    run: 'backup',
    outcome: 'error',
    exitCode,
    summary: `backup failed: ${errorText(error)}`,
    startedAt: started,
    finishedAt: finished,
    subject: [],
    predicate: { error: { kind: isBarysafeError(error) ? error.kind : 'internal', exitCode } },
  });
  if (res.ok) log.info({ evidence: res.record.key }, `failed backup recorded as evidence #${res.record.sequence}`);
  else log.warn(`the failed backup could not be recorded in the evidence chain: ${res.error}`);
}

/** A short, stable name for an age recipient (they are public keys; this only keeps lists compact). */
export function recipientFingerprint(recipient: string): string {
  return 'sha256:' + createHash('sha256').update(recipient).digest('hex').slice(0, 16);
}
