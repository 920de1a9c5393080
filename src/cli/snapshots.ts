import type { Command } from 'commander';
import { Repository } from '../repository/repository.js';
import { action, configFor, formatBytes, globals, printJson, storageFor, verifierFor } from './common.js';

export function registerSnapshots(program: Command): void {
  program
    .command('snapshots')
    .description('list the complete snapshots in the repository, oldest first, with their signature status')
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const g = globals(cmd);
        const { config } = await configFor(g);
        const storage = storageFor(config);
        try {
          const repo = new Repository(storage, await verifierFor(config));
          const list = await repo.list();
          const rows = list.map((e) => ({
            id: e.id,
            created_at: e.manifest.created_at ?? null,
            host: e.manifest.host ?? null,
            signature: e.verified === true ? 'verified' : e.verified === false ? 'INVALID' : 'unchecked',
            ...(e.error ? { error: e.error } : {}),
            manifest_sha256: e.sha256,
            key_kid: e.manifest.key?.kid ?? null,
            key_thumbprint: e.manifest.key?.thumbprint ?? null,
            jwks_matches_key: e.manifest.key?.jwks?.publishes_key_exactly ?? null,
            database: e.manifest.database
              ? {
                  engine: e.manifest.database.engine,
                  migrations: e.manifest.database.migrations.length,
                  row_counts: e.manifest.database.row_counts,
                }
              : null,
            artifacts: (e.manifest.artifacts ?? []).map((a) => a.name),
            size: (e.manifest.artifacts ?? []).reduce((s, a) => s + a.size, 0),
            warnings: e.manifest.warnings ?? [],
          }));
          if (g.json) {
            printJson({ repository: storage.displayUrl, snapshots: rows });
            return;
          }
          if (rows.length === 0) {
            process.stdout.write(`no snapshots in ${storage.displayUrl}\n`);
            return;
          }
          const table = [['ID', 'CREATED', 'HOST', 'DB', 'SIZE', 'KEY KID', 'JWKS', 'SIGNATURE']].concat(
            rows.map((r) => [
              r.id,
              r.created_at ?? '?',
              r.host ?? '?',
              r.database?.engine ?? '?',
              formatBytes(r.size),
              r.key_kid ?? '?',
              r.jwks_matches_key ? 'ok' : 'MISMATCH',
              r.signature,
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
