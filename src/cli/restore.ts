import type { Command } from 'commander';
import { BarysafeError, ExitCode } from '../errors.js';
import { runRestore } from '../restore/restore.js';
import { action, configFor, globals, loggerFor, printJson, storageFor } from './common.js';
import { artifactLines, progressReporter } from './progress.js';

interface RestoreFlags {
  to?: string;
  pgUrl?: string;
  pgPasswordFile?: string;
  identity?: string;
  force?: boolean;
  clean?: boolean;
  verify?: boolean;
  allowRollback?: boolean;
  checkIntegrity?: boolean;
}

export function registerRestore(program: Command): void {
  program
    .command('restore')
    .description(
      'restore a snapshot into a directory (and a PostgreSQL database), or with --verify run a restore drill',
    )
    .argument('[snapshot]', 'snapshot id (or a unique prefix) or "latest"', 'latest')
    .option('--to <dir>', 'directory to write the key, jwks.json, SQLite file and config into')
    .option(
      '--pg-url <url>',
      'restore a PostgreSQL dump into this (empty) database with pg_restore; the password from PGPASSWORD or --pg-password-file, not the URL (ps shows it)',
    )
    .option('--pg-password-file <file>', 'file whose first line is the --pg-url password')
    .option('--identity <file>', 'age identity file (default: encryption.identity_file)')
    .option('--force', 'overwrite existing files in --to')
    .option('--clean', 'with --pg-url: drop and recreate the objects of a non-empty database')
    .option(
      '--check-integrity',
      'run PRAGMA integrity_check on the restored SQLite file (the backup already ran it on the same bytes)',
    )
    .option('--verify', 'restore into a scratch instance and prove the IdP works from the snapshot (a drill)')
    .option(
      '--allow-rollback',
      "go on although the repository no longer reaches this host's anchor (newer snapshots removed, its id changed)",
    )
    .action(
      action(async (ref: string, flags: RestoreFlags, cmd: Command) => {
        const g = globals(cmd);
        if (flags.verify) {
          const meaningless = (['to', 'pgUrl', 'pgPasswordFile', 'force', 'clean', 'checkIntegrity'] as const).filter(
            (f) => flags[f] !== undefined && flags[f] !== false,
          );
          if (meaningless.length)
            throw new BarysafeError(
              'usage',
              `--verify restores into a scratch instance of its own; ${meaningless.map((f) => `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} cannot be combined with it`,
              {
                exitCode: ExitCode.USAGE,
                hint: 'run the drill with `barysafe restore --verify [SNAPSHOT]`, or restore to a directory without --verify',
              },
            );
        }
        const { config } = await configFor(g);
        const logger = loggerFor(g);
        const storage = storageFor(config);
        try {
          if (flags.verify) {
            const { runDrillCommand } = await import('./drill-command.js');
            return await runDrillCommand(config, {
              ref,
              identityFile: flags.identity,
              allowRollback: flags.allowRollback,
              json: !!g.json,
              logger,
              storage,
            });
          }
          if (!flags.to) {
            throw new BarysafeError('usage', 'restore needs --to DIR (or --verify for a drill)', {
              exitCode: ExitCode.USAGE,
              hint: 'e.g. barysafe restore latest --to /srv/restore',
            });
          }
          const progress = progressReporter(!g.json);
          const lines = artifactLines('restore');
          const r = await runRestore(config, {
            ref,
            to: flags.to,
            pgUrl: flags.pgUrl,
            pgPasswordFile: flags.pgPasswordFile,
            identityFile: flags.identity,
            force: flags.force,
            clean: flags.clean,
            allowRollback: flags.allowRollback,
            checkIntegrity: flags.checkIntegrity,
            logger,
            storage,
            onProgress: (a, n, total) => {
              progress.update(a, n);
              lines(a, n, total);
            },
          });
          progress.stop();
          if (g.json) {
            printJson({ ok: true, ...r });
          } else {
            process.stdout.write(
              `restored snapshot ${r.snapshot.id} (${r.snapshot.created_at}); signature verified; chain ${r.snapshot.chain.ok ? 'ok' : 'BROKEN: ' + r.snapshot.chain.detail}\n` +
                r.files.map((f) => `  ${f.mode}  ${f.path}\n`).join('') +
                `  database: ${r.database.engine} → ${r.database.target}${r.database.integrity_check ? ` (integrity_check: ${r.database.integrity_check}${r.database.integrity_checked === 'at backup' ? ', run by the backup on these same bytes' : ''})` : ''}\n\n` +
                `Steps left to you:\n` +
                r.next_steps.map((s, i) => `  ${i + 1}. ${s}\n`).join('') +
                r.warnings.map((w) => `WARNING: ${w}\n`).join(''),
            );
          }
          return ExitCode.OK;
        } finally {
          await storage.close?.();
        }
      }),
    );
}
