import type { Command } from 'commander';
import { runBackup } from '../backup/pipeline.js';
import { ExitCode } from '../errors.js';
import { holdSignalExit, shutdownSignal } from '../platform/lifecycle.js';
import { reportInterrupted, reportLateInterrupt } from './interrupted.js';
import { action, configFor, globals, loggerFor, printJson, storageFor } from './common.js';
import { formatBytes } from '../units.js';
import { progressReporter } from './progress.js';

export function registerBackup(program: Command): void {
  program
    .command('backup')
    .description(
      'take one snapshot: signing key + jwks.json, a consistent database dump and the config, encrypted and signed',
    )
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const g = globals(cmd);
        const { config } = await configFor(g);
        const logger = loggerFor(g);
        const storage = storageFor(config);
        const progress = progressReporter(!g.json);
        // A signal aborts the backup instead of ending the process at once: the partial objects
        // are removed and the lock released first; then one line says so and the process exits.
        const releaseExit = holdSignalExit();
        try {
          let r;
          try {
            r = await runBackup(config, { logger, storage, onProgress: progress.update, signal: shutdownSignal });
          } catch (e) {
            return reportInterrupted(e, progress.stop);
          }
          progress.stop();
          reportLateInterrupt(`snapshot ${r.id} was saved`);
          const m = r.manifest;
          if (g.json) {
            printJson({
              ok: !(r.evidence && 'error' in r.evidence),
              snapshot: {
                id: r.id,
                manifest_sha256: r.manifestSha256,
                created_at: m.created_at,
                duration_ms: r.durationMs,
                key: m.key,
                database: m.database,
                artifacts: m.artifacts,
                warnings: m.warnings,
              },
              evidence: r.evidence ?? null,
            });
          } else {
            const total = m.artifacts.reduce((s, a) => s + a.size, 0);
            process.stdout.write(
              `snapshot ${r.id} saved to ${storage.displayUrl}\n` +
                `  key      kid ${m.key.kid} (RSA ${m.key.modulus_bits} bits), jwks.json ${jwksWord(m.key.jwks)}\n` +
                `  database ${m.database.engine}, ${m.database.migrations.length} migrations, ${Object.entries(
                  m.database.row_counts,
                )
                  .map(([t, n]) => `${t}=${n}`)
                  .join(' ')}\n` +
                `  ${m.artifacts.length} artifacts, ${formatBytes(total)} encrypted, ${(r.durationMs / 1000).toFixed(1)} s\n` +
                m.warnings.map((w) => `  WARNING: ${w}\n`).join('') +
                (r.evidence && 'error' in r.evidence
                  ? `  EVIDENCE NOT RECORDED: ${r.evidence.error}\n`
                  : r.evidence
                    ? `  evidence #${r.evidence.sequence} (${r.evidence.key})\n`
                    : ''),
            );
          }
          // The snapshot exists, but the run is missing from the evidence chain: say so in the exit code.
          if (r.evidence && 'error' in r.evidence) return ExitCode.REPOSITORY;
          return m.warnings.some((w) => w.startsWith('KEY/JWKS MISMATCH') || w.startsWith('ROLLBACK:'))
            ? ExitCode.CHECK_FAILED
            : ExitCode.OK;
        } finally {
          progress.stop();
          await storage.close?.();
          releaseExit();
        }
      }),
    );
}

/** A jwks.json that publishes the key beside other public keys (a rotation) matches; it is not exact. */
function jwksWord(j: { publishes_key_exactly: boolean; problems: string[]; thumbprints: string[] }): string {
  if (j.publishes_key_exactly) return 'matches';
  if (j.problems.length === 0) return `publishes the key and ${j.thumbprints.length - 1} other public key(s)`;
  return 'DOES NOT MATCH';
}
