import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';
import { BarysafeError, ExitCode, errorText, isBarysafeError } from '../errors.js';
import { parseJwks, parsePrivateJwk } from '../barycenter/jwk.js';
import { onExit, setInterruptNotice } from '../platform/lifecycle.js';
import { lstatOrNull } from '../platform/safe-fs.js';
import { readPasswordFile, urlCarriesPassword, withPassword } from '../platform/pg-tools.js';
import { stateDir, verifyKeyFile, type BarysafeConfig } from '../config/schema.js';
import { parseDuration } from '../units.js';
import { AnchorStore } from '../repository/anchor.js';
import { resolveBarycenter } from '../config/barycenter.js';
import { inspectSqlite, type SqliteInspection } from '../barycenter/sqlite-inspect.js';
import { loadVerifier } from '../crypto/signing.js';
import type { Manifest } from '../repository/manifest.js';
import { Repository } from '../repository/repository.js';
import type { Storage } from '../repository/storage.js';
import { redactUrl } from '../redact.js';
import { makePrivateTempDir } from '../platform/private-temp.js';
import { openSnapshot } from './open-snapshot.js';
import { decryptToStream, fetchVerified } from './fetch-artifact.js';
import { RESTORED_MODES, extractArtifacts, identitiesFor, type ExtractedArtifact } from './extract.js';
import { refuseLiveTarget } from './live-guard.js';
import { refuseProductionDatabase } from './pg-target.js';
import { prepareRestoreTarget, unwritableTarget } from './target.js';

export interface RestoreOptions {
  ref: string;
  to: string;
  pgUrl?: string;
  /** A file holding the --pg-url password (instead of the URL or PGPASSWORD). */
  pgPasswordFile?: string;
  identityFile?: string;
  force?: boolean;
  clean?: boolean;
  /** Restore even when the repository no longer reaches this host's anchor (rolled back). */
  allowRollback?: boolean;
  /** Run integrity_check on the restored SQLite file even when the backup ran it on the same bytes. */
  checkIntegrity?: boolean;
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
  database: {
    engine: 'sqlite' | 'postgres';
    target: string;
    integrity_check?: string;
    /** When integrity_check ran on these bytes: by the backup (recorded in the signed manifest) or by this restore. */
    integrity_checked?: 'at backup' | 'at restore';
  };
  next_steps: string[];
  warnings: string[];
}

export async function runRestore(config: BarysafeConfig, o: RestoreOptions): Promise<RestoreResult> {
  const verifyKey = verifyKeyFile(config);
  const repo = new Repository(o.storage, verifyKey ? await loadVerifier(verifyKey) : undefined);
  const identities = await identitiesFor(o.identityFile ?? config.encryption.identity_file);
  const rpo = config.drill.rpo_target ?? config.checks.rpo;
  const opened = await openSnapshot(repo, o.ref, {
    anchors: new AnchorStore(stateDir(config)),
    allowRollback: o.allowRollback,
    rpoMs: parseDuration(rpo),
  });
  const { entry, chain } = opened;
  const m = entry.manifest;
  const warnings = [...(chain.ok ? [] : [`chain: ${chain.detail}`]), ...opened.warnings];
  for (const w of opened.warnings) o.logger.warn(w);
  const bc = resolveBarycenter(config.barycenter);

  let pgUrl: string | undefined;
  if (o.pgUrl) {
    if (urlCarriesPassword(o.pgUrl)) {
      const w =
        'the --pg-url argument carries a password, which every local user can read in ps while barysafe runs; put it in PGPASSWORD or --pg-password-file instead';
      warnings.push(w);
      o.logger.warn(w);
    }
    pgUrl = withPassword(o.pgUrl, o.pgPasswordFile ? await readPasswordFile(o.pgPasswordFile) : undefined);
    if (m.database.engine !== 'postgres')
      throw new BarysafeError(
        'usage',
        `--pg-url names a PostgreSQL target, but snapshot ${m.id} holds an SQLite database`,
        {
          exitCode: ExitCode.USAGE,
          hint: 'drop --pg-url: the SQLite file is restored into --to',
        },
      );
    await refuseProductionDatabase(pgUrl, bc);
  }
  const restorePg = m.database.engine === 'postgres' && pgUrl !== undefined;
  // The backup ran integrity_check on exactly the bytes it encrypted and signed the result; the
  // restored file is those bytes (the ciphertext's SHA-256 is the signed manifest's, and every age
  // chunk authenticates under its key). A second full check (~1.5 s per 256 MiB) proves nothing
  // more, so it runs only on request or for a snapshot that does not record a passing one.
  const checkedAtBackup = m.database.engine === 'sqlite' && m.database.integrity_check === 'ok' && !o.checkIntegrity;

  const to = await prepareRestoreTarget(o.to);
  const plan = m.artifacts.filter((a) => !(a.kind === 'database' && restorePg));
  await refuseLiveTarget(
    to,
    plan.map((a) => a.name),
    bc,
  );
  const clashes: string[] = [];
  for (const a of plan) {
    const st = await lstatOrNull(path.join(to, a.name));
    if (st?.isDirectory()) {
      throw new BarysafeError('restore', `${path.join(to, a.name)} is a directory; refusing to replace it`, {
        exitCode: ExitCode.USAGE,
        hint: 'restore into an empty directory',
      });
    }
    if (st) clashes.push(path.join(to, a.name));
  }
  if (clashes.length && !o.force) {
    throw new BarysafeError('restore', `refusing to overwrite ${clashes.join(', ')}`, {
      exitCode: ExitCode.USAGE,
      hint: 'restore into an empty directory, or pass --force',
    });
  }

  // All or nothing: everything is decrypted into a 0700 staging directory inside the target and
  // checked there; only then are the files renamed into place. A failure or a signal removes the
  // staging directory, so no plaintext (not even a dotfile) is left in the target.
  const staging = await mkdtemp(path.join(to, STAGING_PREFIX)).catch((e: unknown) => {
    throw unwritableTarget(to, e, 'write into');
  });
  const unregister = onExit(() => rmSync(staging, { recursive: true, force: true }));
  const unnotice = setInterruptNotice(
    `the restore of snapshot ${m.id} stopped; its partly decrypted files were removed; nothing was written to ${to}`,
  );
  const temp = await makePrivateTempDir(config.backup.temp_dir);
  const files: RestoredFile[] = [];
  let database: RestoreResult['database'];
  let inspection: SqliteInspection | undefined;
  try {
    const staged = await extractArtifacts(repo, plan, {
      identities,
      place: (a) => ({ dest: path.join(staging, a.name), mode: RESTORED_MODES[a.kind] }),
      onProgress: (a, n) => o.onProgress?.(a.name, n, a.size),
      onPlaced: ({ artifact: a, dest }) => {
        o.logger.info({ artifact: a.name }, `${a.name} decrypted and verified`);
        // integrity_check reads every page: in a worker, while the other artifacts are placed.
        if (a.kind === 'database' && m.database.engine === 'sqlite' && !checkedAtBackup)
          inspection = inspectSqlite(dest, []);
      },
    });
    await checkRestoredKey(staged, m);
    const stagedDb = staged.find((x) => x.artifact.kind === 'database');
    if (restorePg) {
      const a = m.artifacts.find((x) => x.kind === 'database')!;
      const fetched = await fetchVerified(repo, a, temp.dir, (n) => o.onProgress?.(a.name, n, a.size));
      const { restorePgDump } = await import('./pg-restore.js'); // pg only for --pg-url
      await restorePgDump(await decryptToStream(fetched, identities), pgUrl!, {
        clean: o.clean,
        binDir: config.backup.pg_bin_dir,
        privateDir: temp.dir,
      });
      database = { engine: 'postgres', target: redactUrl(pgUrl!) };
    } else if (m.database.engine === 'sqlite' && stagedDb) {
      const target = path.join(to, stagedDb.artifact.name);
      const facts = checkedAtBackup
        ? { integrity: 'ok' }
        : await inspection!.facts.catch((e: unknown) => {
            throw new BarysafeError('restore', `cannot open the restored database ${target}: ${errorText(e)}`, {
              exitCode: ExitCode.INTEGRITY,
              cause: e,
            });
          });
      database = {
        engine: 'sqlite',
        target,
        integrity_check: facts.integrity,
        integrity_checked: checkedAtBackup ? 'at backup' : 'at restore',
      };
    } else {
      database = { engine: 'postgres', target: path.join(to, 'barycenter.pgdump') };
    }
    for (const x of staged) {
      const final = path.join(to, x.artifact.name);
      await mkdir(path.dirname(final), { recursive: true, mode: 0o700 });
      await rename(x.dest, final);
      files.push({
        artifact: x.artifact.name,
        path: final,
        mode: '0' + x.mode.toString(8),
        restores: x.artifact.source,
      });
      o.logger.info({ artifact: x.artifact.name }, `restored ${x.artifact.name} to ${final}`);
    }
  } catch (e) {
    throw nothingWritten(e, to, files);
  } finally {
    await inspection?.cancel(); // a no-op once it answered; stops it when something else failed
    await rm(staging, { recursive: true, force: true });
    unregister();
    unnotice();
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

const STAGING_PREFIX = '.barysafe-restore-';

/**
 * The restored key and JWKS are the ones the signed manifest records (thumbprint and kid), as
 * the drill checks too: a file that decrypts but is another key is never handed to `install`.
 */
async function checkRestoredKey(staged: ExtractedArtifact[], m: Manifest): Promise<void> {
  const mismatch = (what: string) =>
    new BarysafeError('integrity', `the restored ${what} is not the one the signed manifest records`, {
      exitCode: ExitCode.INTEGRITY,
      hint: 'do not install it; restore another snapshot and investigate who can write to the repository',
    });
  const key = staged.find((x) => x.artifact.kind === 'key');
  if (key) {
    let facts;
    try {
      ({ facts } = await parsePrivateJwk(await readFile(key.dest, 'utf8'), 'the restored private_key.pem'));
    } catch (e) {
      throw new BarysafeError('integrity', errorText(e), { exitCode: ExitCode.INTEGRITY });
    }
    if (facts.thumbprint !== m.key.thumbprint || facts.kid !== m.key.kid)
      throw mismatch(`signing key (kid ${String(facts.kid)}, thumbprint ${facts.thumbprint})`);
  }
  const jwks = staged.find((x) => x.artifact.kind === 'jwks');
  if (jwks && Array.isArray(m.key.jwks?.thumbprints)) {
    let thumbprints: string[];
    try {
      thumbprints = (await parseJwks(await readFile(jwks.dest, 'utf8'), 'the restored jwks.json')).keys.map(
        (k) => k.thumbprint,
      );
    } catch (e) {
      throw new BarysafeError('integrity', errorText(e), { exitCode: ExitCode.INTEGRITY });
    }
    if (thumbprints.join(',') !== m.key.jwks.thumbprints.join(',')) throw mismatch('jwks.json');
  }
}

/** The error, saying what the target now holds: nothing (the normal case), or what was already moved. */
function nothingWritten(e: unknown, to: string, moved: RestoredFile[]): BarysafeError {
  const err = isBarysafeError(e)
    ? e
    : new BarysafeError('restore', `restore failed: ${errorText(e)}`, { exitCode: ExitCode.FAILURE, cause: e });
  const state = moved.length
    ? `; ${moved.length} file(s) were already in place: ${moved.map((f) => f.path).join(', ')}`
    : `; nothing was written to ${to}`;
  return new BarysafeError(err.kind, err.message + state, {
    exitCode: err.exitCode,
    ...(err.hint ? { hint: err.hint } : {}),
    cause: err,
  });
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
