import { errorText } from '../../errors.js';
import { verifyKeyFile } from '../../config/schema.js';
import { redactText, redactUrl } from '../../redact.js';
import { loadVerifier, type Verifier } from '../../crypto/signing.js';
import { openStorage } from '../../repository/open-storage.js';
import { VERIFICATIONS_PREFIX } from '../../repository/layout.js';
import { Repository, type DrillRecordRef, type SnapshotEntry } from '../../repository/repository.js';
import { usableVerifyRecords, verifyRecordSchema, type UsableVerifyRecord } from '../../repository/verify-record.js';
import { drillsFromEvidence } from '../../repository/evidence-drills.js';
import type { BucketProtection } from '../../repository/storage.js';
import type { CheckContext, Lookup } from '../types.js';

export interface RepositoryFacts {
  displayUrl: string;
  /** Key id of the manifest verify key, or null when none is configured (manifests then unverified). */
  verifierKeyId: string | null;
  verifierError: string | null;
  snapshots: SnapshotEntry[];
  drills: DrillRecordRef[];
  /** `barysafe verify` results whose signature holds, oldest first. */
  verifications: UsableVerifyRecord[];
}

/** Lists snapshots and drills (from the evidence chain, then drills/) once per run, verifying each with the configured key. */
export function readRepository(ctx: CheckContext): Promise<Lookup<RepositoryFacts>> {
  return ctx.memo('repository', async () => {
    const displayUrl = redactUrl(ctx.config.repository.url);
    const keyFile = verifyKeyFile(ctx.config);
    let verifier: Verifier | undefined;
    let verifierError: string | null = null;
    if (keyFile) {
      try {
        verifier = await loadVerifier(keyFile);
      } catch (e) {
        verifierError = errorText(e);
      }
    }
    try {
      const storage = openStorage(ctx.config.repository);
      try {
        const repo = new Repository(storage, verifier);
        const snapshots = await repo.list();
        // The evidence chain first; drills/ records only for drills the chain does not hold (older ones).
        const chain = await drillsFromEvidence(storage, verifier);
        const legacy = (await repo.listDrillRecords()).filter((d) => !chain.cited.has(d.key));
        const drills = [...chain.refs, ...legacy];
        const verifications = usableVerifyRecords(
          await repo.listSignedDocuments(VERIFICATIONS_PREFIX, 'verify record', verifyRecordSchema),
        );
        return {
          ok: true,
          source: `repository ${storage.displayUrl}`,
          value: {
            displayUrl: storage.displayUrl,
            verifierKeyId: verifier?.keyId ?? null,
            verifierError,
            snapshots,
            drills,
            verifications,
          },
        };
      } finally {
        await storage.close?.();
      }
    } catch (e) {
      return { ok: false, source: `repository ${displayUrl}`, reason: redactText(errorText(e)) };
    }
  });
}

/**
 * Versioning and Object Lock of the repository's bucket, as GetBucketVersioning and
 * GetObjectLockConfiguration answer; null for a file:// repository, which has neither.
 */
export function readProtection(ctx: CheckContext): Promise<Lookup<BucketProtection | null>> {
  return ctx.memo('repository-protection', async () => {
    const displayUrl = redactUrl(ctx.config.repository.url);
    try {
      const storage = openStorage(ctx.config.repository);
      try {
        const source = `GetBucketVersioning, GetObjectLockConfiguration on ${storage.displayUrl}`;
        if (!storage.protection) return { ok: true, source: `repository ${storage.displayUrl}`, value: null };
        return { ok: true, source, value: await storage.protection() };
      } finally {
        await storage.close?.();
      }
    } catch (e) {
      return { ok: false, source: `repository ${displayUrl}`, reason: redactText(errorText(e)) };
    }
  });
}
