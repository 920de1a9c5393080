import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Logger } from '../log.js';
import { BarysafeError, ExitCode, errorText, isBarysafeError } from '../errors.js';
import { stateDir, type BarysafeConfig } from '../config/schema.js';
import type { EffectiveBarycenter } from '../config/barycenter.js';
import { checkRecipient } from '../crypto/age.js';
import { loadSigner, type Signer } from '../crypto/signing.js';
import {
  MANIFEST_FORMAT,
  SNAPSHOT_ID,
  manifestKey,
  snapshotPrefix,
  type ArtifactKind,
  type ArtifactRecord,
  type Manifest,
  type DatabaseRecord,
} from '../repository/manifest.js';
import { Repository, repoError } from '../repository/repository.js';
import { acquireWriterLock, type WriterLock } from '../repository/lock.js';
import { SERVICE_ENV } from '../repository/layout.js';
import { signDocument } from '../repository/signed-document.js';
import { StorageError, type Storage } from '../repository/storage.js';
import { VERSION } from '../version.js';
import { makePrivateTempDir } from '../platform/private-temp.js';
import { schemaBuild } from '../barycenter/builds.js';
import { filesTheSettingsName, readDeployment, serviceEnvFile, type DeploymentView } from './deployment.js';
import { readKeyMaterial } from './sources/key.js';
import { storeArtifact, throwIfStopped } from './store-artifact.js';
import { planChain } from './chain-plan.js';
import { AnchorStore } from '../repository/anchor.js';
import { recordBackup, recordBackupFailure, type BackupEvidence } from './evidence.js';

/** Thrown by onLocked when the snapshot turns out not to be needed (another host already made it): a skip, not a failure. */
export class BackupNotNeeded extends Error {
  override name = 'BackupNotNeeded';
}

export interface BackupResult {
  id: string;
  manifest: Manifest;
  manifestSha256: string;
  durationMs: number;
  /** The evidence record of this backup, or why it could not be appended. */
  evidence?: BackupEvidence;
}

export interface BackupOptions {
  logger: Logger;
  storage: Storage;
  now?: () => Date;
  onProgress?: (artifact: string, plainBytes: number) => void;
  /**
   * Called once the writer lock is held, i.e. when this process really starts the snapshot. If it
   * throws, the lock is released and runBackup rejects with that error (a scheduler re-checks
   * under the lock whether another host already made the snapshot for this slot).
   */
  onLocked?: () => void | Promise<void>;
  /**
   * A scheduled run (the agent): another writer holding the lock then means another agent serves
   * this slot, which is a skip, not a failed backup for the evidence chain.
   */
  scheduled?: boolean;
  /** Aborting stops the backup cleanly: the objects uploaded so far are removed and no manifest is written. */
  signal?: AbortSignal;
}

/**
 * One snapshot: every artifact is encrypted and uploaded first, the signed manifest last, so a
 * snapshot is visible only when complete. On any failure the objects already uploaded for this
 * snapshot are deleted and the error says what to fix.
 */
export async function runBackup(config: BarysafeConfig, opts: BackupOptions): Promise<BackupResult> {
  const now = opts.now ?? (() => new Date());
  const started = now();
  const log = opts.logger;
  const deployment = await readDeployment(config);
  for (const r of config.encryption.recipients) await checkRecipient(r);
  const signer = await requireSigner(config);
  const storage = opts.storage;
  const run: BackupRun = { config, opts, deployment, signer, started };
  let result: BackupResult;
  try {
    result = await probedAndLocked(run);
  } catch (e) {
    const turnedAway =
      e instanceof BackupNotNeeded || (opts.scheduled && isBarysafeError(e) && e.exitCode === ExitCode.LOCKED);
    if (!turnedAway) await recordBackupFailure(storage, signer, e, started, now(), log);
    throw e;
  }
  result.evidence = await recordBackup(storage, signer, result, started, now());
  if ('error' in result.evidence)
    log.error(`snapshot ${result.id} is not in the evidence chain: ${result.evidence.error}`);
  return result;
}

/** What one backup works from, read and checked before the repository is touched. */
interface BackupRun {
  config: BarysafeConfig;
  opts: BackupOptions;
  deployment: DeploymentView;
  signer: Signer;
  started: Date;
}

async function probedAndLocked(run: BackupRun): Promise<BackupResult> {
  const { opts } = run;
  const storage = opts.storage;
  try {
    await storage.probeWritable();
  } catch (e) {
    throw repoError(storage, e);
  }
  const lock = await acquireWriterLock(storage, 'barysafe backup');
  try {
    await opts.onLocked?.();
    return await backupLocked(run, lock);
  } finally {
    await lock.release().catch((e) => opts.logger.warn(`could not release the repository lock: ${errorText(e)}`));
  }
}

async function backupLocked(run: BackupRun, lock: WriterLock): Promise<BackupResult> {
  const { config, opts, deployment, signer, started } = run;
  const now = opts.now ?? (() => new Date());
  const log = opts.logger;
  const storage = opts.storage;
  const repo = new Repository(storage, signer);
  const { bc } = deployment;
  const warnings: string[] = [...deployment.warnings];
  for (const w of deployment.warnings) log.warn(w);
  const key = await readKeyMaterial(bc.privateKeyPath, bc.jwksPath);
  if (!key.record.jwks.publishes_key_exactly) {
    for (const p of key.record.jwks.problems) {
      warnings.push(`KEY/JWKS MISMATCH: ${p}`);
      log.warn(
        { kid: key.record.kid },
        `KEY/JWKS MISMATCH — this deployment serves a JWKS that does not match its signing key: ${p}. barysafe records it and does not fix it.`,
      );
    }
  }
  if (key.signerRefusals.length) {
    const why = `Barycenter's signer refuses the signing key (${key.signerRefusals.join('; ')}): every token request answers 500`;
    warnings.push(why);
    log.warn({ kid: key.record.kid }, `${why}. barysafe backs it up as it is.`);
  }
  for (const w of key.warnings) {
    warnings.push(`KEY ROTATION: ${w}`);
    log.warn({ kid: key.record.kid }, w);
  }
  if (!bc.configExists) {
    warnings.push(
      `Barycenter's config ${bc.configPath} does not exist; Barycenter silently runs on defaults and environment overrides`,
    );
    log.warn(`Barycenter config ${bc.configPath} does not exist (Barycenter would silently use defaults)`);
  }
  if (bc.database.engine === 'sqlite' && bc.database.memory) {
    throw new BarysafeError(
      'sqlite',
      'Barycenter runs on an in-memory SQLite database (sqlite::memory:); there is nothing durable to back up',
      { exitCode: ExitCode.SOURCE },
    );
  }

  const chain = await planChain(repo, new AnchorStore(stateDir(config)), signer, now(), log);
  warnings.push(...chain.warnings);
  const { id, previous } = chain;
  await sweepCrashedSnapshot(storage, lock, log);
  await lock.note(id);
  const prefix = snapshotPrefix(id);
  const artifacts: ArtifactRecord[] = [];
  const temp = await makePrivateTempDir(config.backup.temp_dir);
  const put: Put = async (name, kind, source, body, { mode, release } = {}) => {
    throwIfStopped(opts.signal);
    const object = `${prefix}${name}.age`;
    log.info({ artifact: name, snapshot: id }, `encrypting and uploading ${name}`);
    const stored = await storeArtifact(storage, config.encryption.recipients, object, body, {
      onProgress: (n) => opts.onProgress?.(name, n),
      signal: opts.signal,
      ...(release ? { release } : {}),
    });
    artifacts.push({ name, kind, object, source, ...(mode ? { mode } : {}), ...stored });
  };
  try {
    const database = await backupDatabase(bc, config, temp.dir, put);
    const schema = schemaBuild(database.migrations);
    database.schema = schema;
    if (schema.unknown_migrations.length)
      warnings.push(
        `the database holds migrations no Barycenter build known to barysafe writes: ${schema.unknown_migrations.join(', ')}; a drill needs a build that has them`,
      );
    await put('private_key.pem', 'key', bc.privateKeyPath, Readable.from([key.keyBytes]), {
      mode: await modeOf(bc.privateKeyPath),
    });
    await put('jwks.json', 'jwks', bc.jwksPath, Readable.from([key.jwksBytes]), { mode: await modeOf(bc.jwksPath) });
    if (bc.configExists)
      await put(path.basename(bc.configPath), 'config', bc.configPath, createReadStream(bc.configPath), {
        mode: await modeOf(bc.configPath),
      });
    if (bc.envFile) await putFileIfPresent(bc.envFile, 'barycenter.env', 'env', put, warnings);
    const serviceEnv = serviceEnvFile(bc);
    if (serviceEnv) await put(SERVICE_ENV, 'env', bc.service!.source, Readable.from([Buffer.from(serviceEnv)]));
    const extras = new Set<string>();
    const names = new Set<string>();
    // Two files with the same base name must not become the same object.
    const nameFor = (file: string) => {
      let name = `extra/${path.basename(file)}`;
      for (let i = 2; names.has(name); i++) name = `extra/${i}-${path.basename(file)}`;
      names.add(name);
      return name;
    };
    for (const extra of config.barycenter.extra_files) {
      extras.add(path.resolve(extra));
      await putFileIfPresent(extra, nameFor(extra), 'extra', put, warnings);
    }
    for (const { file, why } of await filesTheSettingsName(bc)) {
      if (extras.has(file)) continue;
      extras.add(file);
      await putFileIfPresent(file, nameFor(file), 'extra', put, warnings, `named by ${why}`);
    }

    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      id,
      created_at: now().toISOString(),
      started_at: started.toISOString(),
      host: os.hostname(),
      tool: { name: 'barysafe', version: VERSION },
      previous,
      sequence: chain.sequence,
      repository_id: chain.repositoryId,
      recipients: [...config.encryption.recipients],
      barycenter: {
        config_path: bc.configPath,
        config_present: bc.configExists,
        workdir: bc.workdir,
        ...(bc.envFile ? { env_file: bc.envFile } : {}),
        issuer: bc.issuer,
        ...(bc.settings.server.public_base_url !== undefined
          ? { public_base_url: bc.settings.server.public_base_url }
          : {}),
        port: bc.settings.server.port,
        admin_port: bc.adminPort,
        private_key_path: bc.privateKeyPath,
        jwks_path: bc.jwksPath,
        build: deployment.build,
        setting_sources: bc.sourceDetail,
        ...(bc.service
          ? {
              service: {
                kind: bc.service.kind,
                source: bc.service.source,
                variables: bc.service.env.flatMap((l) => Object.keys(l.vars)).sort(),
                unknown: bc.service.env.flatMap((l) => Object.keys(l.unknown)).sort(),
              },
            }
          : {}),
      },
      key: key.record,
      database,
      artifacts,
      warnings,
    };
    throwIfStopped(opts.signal);
    const signed = signDocument(manifest, signer);
    const { sha256 } = await repo.putDocument(manifestKey(id), signed);
    log.info({ snapshot: id, artifacts: artifacts.length }, 'snapshot complete');
    await chain.anchor({ id, manifest: signed, sha256, verified: true });
    return { id, manifest: signed, manifestSha256: sha256, durationMs: now().getTime() - started.getTime() };
  } catch (e) {
    await removeObjects(storage, prefix, log);
    if (opts.signal?.aborted)
      throw new BarysafeError(
        'interrupted',
        `the backup of snapshot ${id} stopped before it was complete; its partial objects were removed and the repository lock released; nothing was saved`,
        { exitCode: ExitCode.INTERRUPTED, cause: e },
      );
    if (e instanceof BarysafeError) throw e;
    if (e instanceof StorageError) throw repoError(storage, e);
    throw new BarysafeError('backup', `backup failed: ${errorText(e)}`, { cause: e });
  } finally {
    await temp.cleanup();
  }
}

type Put = (
  name: string,
  kind: ArtifactKind,
  source: string,
  body: Readable | AsyncIterable<Uint8Array>,
  opts?: {
    /** The source file's permission bits, as the manifest records them ("0600"). */
    mode?: string | undefined;
    /** Takes back each buffer of `body` once it was encrypted (a source that reuses its buffers). */
    release?: (chunk: Uint8Array) => void;
  },
) => Promise<void>;

async function backupDatabase(bc: EffectiveBarycenter, config: BarysafeConfig, tempDir: string, put: Put) {
  const db = bc.database;
  // Each engine's client (pg, better-sqlite3) is loaded only for the engine in use.
  if (db.engine === 'postgres') {
    const { dumpPostgres } = await import('./sources/postgres.js');
    const dump = await dumpPostgres(db.url, {
      binDir: config.backup.pg_bin_dir,
      compress: config.backup.pg_compress,
      privateDir: tempDir,
    });
    try {
      const [s, r] = await Promise.allSettled([
        put('barycenter.pgdump', 'database', dump.source, dump.stream, { release: dump.release }),
        dump.record,
      ]);
      if (s.status === 'rejected') throw s.reason;
      if (r.status === 'rejected') throw r.reason;
      return r.value;
    } finally {
      await dump.close();
    }
  }
  const { snapshotSqlite } = await import('./sources/sqlite.js');
  const snap = await snapshotSqlite(db.path!, tempDir);
  const copy = snap.open();
  // The copy is encrypted while a worker checks it, and the snapshot needs both: a failed check
  // stops the encryption (and is the error reported), a failed upload stops the check.
  let cancelled = false;
  let checkFailed = false;
  const stored = put('barycenter.db', 'database', db.path!, copy, {
    mode: await modeOf(db.path!),
    release: snap.release,
  }).catch((e: unknown) => {
    if (!checkFailed) {
      cancelled = true;
      void snap.cancel();
    }
    throw e;
  });
  const checked = snap.record.catch((e: unknown) => {
    if (!cancelled) {
      checkFailed = true;
      copy.destroy(e as Error);
    }
    throw e;
  });
  const [s, c] = await Promise.allSettled([stored, checked]);
  if (c.status === 'rejected' && checkFailed) throw c.reason;
  if (s.status === 'rejected') throw s.reason;
  return (c as PromiseFulfilledResult<DatabaseRecord>).value;
}

async function putFileIfPresent(
  file: string,
  name: string,
  kind: ArtifactKind,
  put: Put,
  warnings: string[],
  why?: string,
) {
  try {
    await stat(file);
  } catch {
    warnings.push(`${file}${why ? ` (${why})` : ''} does not exist; not backed up`);
    return;
  }
  await put(name, kind, file, createReadStream(file), { mode: await modeOf(file) });
}

async function modeOf(file: string): Promise<string | undefined> {
  try {
    return '0' + ((await stat(file)).mode & 0o777).toString(8);
  } catch {
    return undefined;
  }
}

async function requireSigner(config: BarysafeConfig): Promise<Signer> {
  if (!config.encryption.signing_key_file) {
    throw new BarysafeError('signing-key', 'encryption.signing_key_file is not set; manifests must be signed', {
      exitCode: ExitCode.USAGE,
      hint: 'create a key with `barysafe init` or `openssl genpkey -algorithm ed25519 -out signing.pem` and set encryption.signing_key_file',
    });
  }
  return loadSigner(config.encryption.signing_key_file);
}

/**
 * A backup killed outright (SIGKILL, power loss) left the objects of its unfinished snapshot; the
 * lock it held names that snapshot. Removed only when it has no manifest: a writer that saved its
 * manifest and died before releasing the lock made a real snapshot.
 */
async function sweepCrashedSnapshot(storage: Storage, lock: WriterLock, log: Logger): Promise<void> {
  const crashed = lock.takenOver?.snapshot;
  if (!crashed || !SNAPSHOT_ID.test(crashed)) return;
  if (await storage.head(manifestKey(crashed)).catch(() => null)) return;
  log.warn(
    `removing the partial objects of snapshot ${crashed}, left by an interrupted backup (pid ${lock.takenOver!.pid} on ${lock.takenOver!.host})`,
  );
  await removeObjects(storage, snapshotPrefix(crashed), log);
}

async function removeObjects(storage: Storage, prefix: string, log: Logger): Promise<void> {
  try {
    for await (const o of storage.list(prefix)) await storage.delete(o.key);
  } catch (e) {
    log.warn(
      `could not remove the partial objects under ${prefix}: ${errorText(e)}; they are not a snapshot (no manifest) and can be deleted`,
    );
  }
}
