import type { Command } from 'commander';
import { VERIFICATIONS_PREFIX } from '../repository/layout.js';
import { Repository, type SnapshotEntry } from '../repository/repository.js';
import {
  healthOf,
  usableVerifyRecords,
  verifyRecordSchema,
  type SnapshotHealth,
  type UsableVerifyRecord,
} from '../repository/verify-record.js';
import { action, configFor, globals, printJson, storageFor, verifierFor } from './common.js';
import { formatBytes } from '../units.js';

export function registerSnapshots(program: Command): void {
  program
    .command('snapshots')
    .description(
      'list the complete snapshots in the repository, oldest first: signature ok, data verified <date> (by `barysafe verify`) or DAMAGED',
    )
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const g = globals(cmd);
        const { config } = await configFor(g);
        const storage = storageFor(config);
        try {
          const repo = new Repository(storage, await verifierFor(config));
          const list = await repo.list();
          const records = usableVerifyRecords(
            await repo.listSignedDocuments(VERIFICATIONS_PREFIX, 'verify record', verifyRecordSchema),
          );
          const rows = list.map((e) => snapshotRow(e, records));
          if (g.json) {
            printJson({ ok: true, repository: storage.displayUrl, snapshots: rows });
            return;
          }
          if (rows.length === 0) {
            process.stdout.write(`no snapshots in ${storage.displayUrl}\n`);
            return;
          }
          const table = [['ID', 'CREATED', 'HOST', 'DB', 'SIZE', 'KEY KID', 'JWKS', 'STATUS']].concat(
            rows.map((r) => [
              r.id,
              r.created_at ?? '?',
              r.host ?? '?',
              r.database?.engine ?? '?',
              formatBytes(r.size),
              r.key_kid ?? '?',
              r.jwks_matches_key === null ? '?' : r.jwks_matches_key ? 'ok' : 'MISMATCH',
              r.status,
            ]),
          );
          const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
          for (const row of table)
            process.stdout.write(
              row
                .map((c, i) => c.padEnd(widths[i]!))
                .join('  ')
                .trimEnd() + '\n',
            );
          process.stdout.write(`${rows.length} snapshot(s) in ${storage.displayUrl}\n`);
        } finally {
          await storage.close?.();
        }
      }),
    );
}

/**
 * One row of the listing; a damaged snapshot shows only what is safe to show, and why. `signature`
 * is the manifest signature alone; `status` says what `barysafe verify` proved beyond it.
 */
function snapshotRow(e: SnapshotEntry, records: readonly UsableVerifyRecord[]) {
  const health = healthOf(e, records);
  const status = statusText(health);
  if (e.verified === false)
    return {
      id: e.id,
      status,
      health,
      created_at: e.partial.created_at ?? null,
      host: e.partial.host ?? null,
      signature: 'INVALID',
      error: e.error,
      manifest_sha256: e.sha256,
      key_kid: null,
      key_thumbprint: null,
      jwks_matches_key: null,
      database: null,
      artifacts: [] as string[],
      size: 0,
      warnings: [] as string[],
    };
  const m = e.manifest;
  return {
    id: e.id,
    status,
    health,
    created_at: m.created_at,
    host: m.host,
    signature: e.verified === true ? 'verified' : 'unchecked',
    manifest_sha256: e.sha256,
    key_kid: m.key.kid,
    key_thumbprint: m.key.thumbprint,
    jwks_matches_key: m.key.jwks.publishes_key_exactly as boolean | null,
    database: {
      engine: m.database.engine,
      migrations: m.database.migrations.length,
      row_counts: m.database.row_counts,
    },
    artifacts: m.artifacts.map((a) => a.name),
    size: m.artifacts.reduce((s, a) => s + a.size, 0),
    warnings: m.warnings,
  };
}

/** signature ok / data verified <date> / DAMAGED: what `barysafe verify` last proved, not more. */
function statusText(h: SnapshotHealth): string {
  switch (h.state) {
    case 'data verified':
      return `data verified ${h.data_verified_at!.slice(0, 10)}`;
    case 'damaged':
      return 'DAMAGED';
    default:
      return h.state;
  }
}
