import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { BarysafeError, ExitCode } from '../errors.js';
import { verifyKeyFile, type BarysafeConfig } from '../config/schema.js';
import { resolveBarycenter } from '../config/barycenter.js';
import { loadVerifier } from '../crypto/signing.js';
import type { Manifest } from '../repository/manifest.js';
import { Repository } from '../repository/repository.js';
import type { Storage } from '../repository/storage.js';
import { redactUrl } from '../redact.js';
import { makePrivateTempDir } from '../platform/private-temp.js';
import { openSnapshot } from './open-snapshot.js';
import { decryptToStream, fetchVerified } from './fetch-artifact.js';
import { RESTORED_MODES, extractArtifacts, identitiesFor } from './extract.js';
import { restorePgDump } from './pg-restore.js';
import { refuseLiveTarget } from './live-guard.js';

export interface RestoreOptions {
  ref: string;
  to: string;
  pgUrl?: string;
  identityFile?: string;
  force?: boolean;
  clean?: boolean;
  logger: Logger;
  storage: Storage;
  onProgress?: (artifact: string, bytes: number, total: number) => void;
}

export interface RestoredFile {
  artifact: string;
  path: string;
  mode: string;
  restores: string;
}

export interface RestoreResult {
  snapshot: { id: string; created_at: string; manifest_sha256: string; chain: { ok: boolean; detail: string } };
  files: RestoredFile[];
  database: { engine: 'sqlite' | 'postgres'; target: string; integrity_check?: string };
  next_steps: string[];
  warnings: string[];
}

export async function runRestore(config: BarysafeConfig, o: RestoreOptions): Promise<RestoreResult> {
  const verifyKey = verifyKeyFile(config);
  const repo = new Repository(o.storage, verifyKey ? await loadVerifier(verifyKey) : undefined);
  const identities = await identitiesFor(o.identityFile ?? config.encryption.identity_file);
  const { entry, chain } = await openSnapshot(repo, o.ref);
  const m = entry.manifest;
  const warnings = chain.ok ? [] : [`chain: ${chain.detail}`];
  const bc = resolveBarycenter(config.barycenter);
  const to = path.resolve(o.to);
  await refuseLiveTarget(to, bc);
  await mkdir(to, { recursive: true, mode: 0o700 });

  const plan = m.artifacts.filter((a) => !(a.kind === 'database' && m.database.engine === 'postgres' && o.pgUrl));
  const targets = plan.map((a) => ({ a, dest: path.join(to, a.name) }));
  const clashes = targets.filter((t) => existsSync(t.dest));
  if (clashes.length && !o.force) {
    throw new BarysafeError('restore', `refusing to overwrite ${clashes.map((t) => t.dest).join(', ')}`, {
      exitCode: ExitCode.USAGE,
      hint: 'restore into an empty directory, or pass --force',
    });
  }

  const temp = await makePrivateTempDir(config.backup.temp_dir);
  const files: RestoredFile[] = [];
  let database: RestoreResult['database'];
  try {
    const destOf = new Map(targets.map((t) => [t.a, t.dest]));
    await extractArtifacts(repo, plan, {
      identities,
      tempDir: temp.dir,
      place: (a) => ({ dest: destOf.get(a)!, mode: RESTORED_MODES[a.kind] }),
      onProgress: (a, n) => o.onProgress?.(a.name, n, a.size),
      onPlaced: ({ artifact: a, dest, mode }) => {
        files.push({ artifact: a.name, path: dest, mode: '0' + mode.toString(8), restores: a.source });
        o.logger.info({ artifact: a.name }, `restored ${a.name} to ${dest}`);
      },
    });
    if (m.database.engine === 'postgres' && o.pgUrl) {
      const a = m.artifacts.find((x) => x.kind === 'database')!;
      const { ciphertextPath } = await fetchVerified(repo, a, temp.dir, (n) => o.onProgress?.(a.name, n, a.size));
      await restorePgDump(await decryptToStream(ciphertextPath, identities), o.pgUrl, {
        clean: o.clean,
        binDir: config.backup.pg_bin_dir,
      });
      database = { engine: 'postgres', target: redactUrl(o.pgUrl) };
    } else if (m.database.engine === 'sqlite') {
      const f = files.find((x) => x.artifact === 'barycenter.db')!;
      const db = new Database(f.path, { readonly: true });
      try {
        database = {
          engine: 'sqlite',
          target: f.path,
          integrity_check: db.pragma('integrity_check', { simple: true }) as string,
        };
      } finally {
        db.close();
      }
    } else {
      database = { engine: 'postgres', target: path.join(to, 'barycenter.pgdump') };
    }
  } finally {
    await temp.cleanup();
  }
  return {
    snapshot: { id: m.id, created_at: m.created_at, manifest_sha256: entry.sha256, chain },
    files,
    database,
    next_steps: nextSteps(m, files, database, config),
    warnings,
  };
}

/** The exact steps left to the operator, from what the manifest knows of the deployment. */
function nextSteps(
  m: Manifest,
  files: RestoredFile[],
  db: RestoreResult['database'],
  config: BarysafeConfig,
): string[] {
  const user = config.barycenter.service_user ?? 'barycenter';
  const group = config.barycenter.service_group ?? user;
  const find = (name: string) => files.find((f) => f.artifact === name)?.path;
  const steps = [
    'Stop Barycenter (e.g. `systemctl stop barycenter`, `docker stop barycenter`, or scale the Deployment to 0).',
  ];
  const key = find('private_key.pem');
  const jwks = find('jwks.json');
  if (key) steps.push(`install -o ${user} -g ${group} -m 600 ${key} ${m.barycenter.private_key_path}`);
  if (jwks)
    steps.push(
      `install -o ${user} -g ${group} -m 600 ${jwks} ${m.barycenter.jwks_path}   # always together with the key: Barycenter never rewrites an existing jwks.json`,
    );
  if (db.engine === 'sqlite') {
    const source = m.artifacts.find((a) => a.kind === 'database')?.source;
    steps.push(
      `install -o ${user} -g ${group} -m 600 ${db.target} ${source}   # remove any stale ${source}-wal / -shm / -journal first`,
    );
  } else if (db.target.endsWith('.pgdump')) {
    steps.push(
      `pg_restore --no-owner --exit-on-error -d <empty barycenter database URL> ${db.target}   # or rerun with --pg-url`,
    );
  }
  const cfg = files.find((f) => f.artifact === path.basename(m.barycenter.config_path));
  if (cfg) steps.push(`install -o root -g ${group} -m 640 ${cfg.path} ${m.barycenter.config_path}`);
  const env = find('barycenter.env');
  if (env && m.barycenter.env_file) steps.push(`install -o root -g ${group} -m 640 ${env} ${m.barycenter.env_file}`);
  steps.push(
    'Start Barycenter and check that discovery answers and /.well-known/jwks.json shows kid ' + m.key.kid + '.',
  );
  steps.push(
    'Consider revoking refresh tokens and deleting sessions issued after the snapshot time (' +
      m.created_at +
      '): a restore re-activates the ones revoked since.',
  );
  steps.push(`Remove the restored plaintext from ${path.dirname(files[0]?.path ?? '.')} once installed.`);
  return steps;
}
