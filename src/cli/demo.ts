import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { createSampleDeployment } from '../barycenter/sample-deployment.js';
import { loadConfig } from '../config/load.js';
import { runBackup } from '../backup/pipeline.js';
import { Repository } from '../repository/repository.js';
import { openStorage } from '../repository/open-storage.js';
import { loadVerifier } from '../crypto/signing.js';
import { initConfig } from './init.js';
import { action, globals, loggerFor, printJson } from './common.js';
import { formatBytes } from '../units.js';
import { BarysafeError, ExitCode } from '../errors.js';
import { fsErrorText } from '../platform/fs-errors.js';
import { makeDirs } from '../platform/safe-fs.js';

/**
 * The embedded default: a sample SQLite deployment, a local-folder repository, one backup and
 * the snapshot list — everything a new user needs to see barysafe work, in one directory.
 */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'create a sample SQLite Barycenter deployment and a local repository under --dir, back it up and list the snapshots',
    )
    .option('--dir <dir>', 'where to put the demo', './barysafe-demo')
    .action(
      action(async (opts: { dir: string }, cmd: Command) => {
        const g = globals(cmd);
        const dir = path.resolve(opts.dir);
        const deployment = path.join(dir, 'barycenter');
        const cfgDir = path.join(dir, 'etc');
        // A folder that cannot be made (read-only, permission, a file in the way) is the user's to fix.
        await makeDirs(dir, 0o755).catch((e: unknown) => {
          throw new BarysafeError('usage', `cannot create --dir ${dir}: ${fsErrorText(e)}`, {
            exitCode: ExitCode.USAGE,
            hint: 'choose a --dir on a writable file system',
            cause: e,
          });
        });
        if (!existsSync(path.join(deployment, 'config.toml'))) await createSampleDeployment(deployment);
        if (!existsSync(path.join(cfgDir, 'barysafe.toml'))) {
          await initConfig({
            dir: cfgDir,
            barycenterConfig: path.join(deployment, 'config.toml'),
            workdir: deployment,
            repository: `file://${path.join(dir, 'repository')}`,
          });
        }
        const { config, path: configPath } = await loadConfig(path.join(cfgDir, 'barysafe.toml'));
        const storage = openStorage(config.repository);
        const r = await runBackup(config, { logger: loggerFor(g), storage });
        const all = await new Repository(storage, await loadVerifier(config.encryption.verify_key!)).list();
        if (g.json) {
          printJson({
            ok: true,
            config: configPath,
            snapshot: r.id,
            snapshots: all.map((s) => ({ id: s.id, verified: s.verified })),
          });
          return;
        }
        process.stdout.write(
          `sample deployment: ${deployment}\n` +
            `barysafe config:   ${configPath}\n` +
            `repository:        ${storage.displayUrl}\n\n` +
            `snapshot ${r.id}: ${r.manifest.artifacts.map((a) => `${a.name} (${formatBytes(a.size)})`).join(', ')}\n` +
            `key kid ${r.manifest.key.kid}, jwks.json ${r.manifest.key.jwks.publishes_key_exactly ? 'matches the key' : 'DOES NOT MATCH'}; ` +
            `${r.manifest.database.migrations.length} migrations; rows ${Object.entries(r.manifest.database.row_counts)
              .map(([t, n]) => `${t}=${n}`)
              .join(' ')}\n\n` +
            `${all.length} snapshot(s), all signatures ${all.every((s) => s.verified) ? 'verified' : 'NOT verified'}.\n` +
            `Next: barysafe --config ${configPath} snapshots\n` +
            `      age -d -i ${path.join(cfgDir, 'identity.txt')} ${path.join(dir, 'repository', 'snapshots', r.id, 'barycenter.db.age')} > restored.db\n`,
        );
      }),
    );
}
