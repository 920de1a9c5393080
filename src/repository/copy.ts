import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import type { Logger } from '../log.js';
import * as z from 'zod';
import type { Verifier } from '../crypto/signing.js';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import { DRILLS_PREFIX, REPOSITORY_ID_KEY, TOMBSTONES_PREFIX, manifestKey } from './layout.js';
import { acquireWriterLock } from './lock.js';
import { artifactProblems } from './manifest.js';
import { Repository, repoError } from './repository.js';
import { StorageExistsError, StorageNotFoundError, type Storage } from './storage.js';

/** Records are copied as bytes; the schema only has to accept any signed document. */
const anyDocument = z.looseObject({});

export interface CopyOptions {
  from: Storage;
  to: Storage;
  /** Only manifests that verify are copied: a copy must not spread what the source cannot vouch for. */
  verifier: Verifier;
  /** Snapshot ids (or unique prefixes); none copies every snapshot. */
  refs?: string[];
  logger: Logger;
}

export interface CopyResult {
  format: 'barysafe.copy-result/v1';
  from: string;
  to: string;
  /** Snapshots now complete in the target because of this run. */
  copied: string[];
  /** Snapshots the target already held byte for byte. */
  already_there: string[];
  /** Snapshots not copied, and why (manifest does not verify, an object is damaged). */
  refused: Array<{ id: string; why: string }>;
  /** Signed records copied beside the snapshots (tombstones, drill records, the repository id). */
  records_copied: string[];
  objects_copied: number;
  bytes_copied: number;
  objects_skipped: number;
  problems: string[];
  exit_code: number;
}

/**
 * `barysafe copy --to URL`: snapshots copied byte for byte to a second repository (the 3-2-1
 * rule), so every signature, chain link and sequence holds there unchanged. Per snapshot, oldest
 * first: each artifact (skipped when the target already has it at the recorded size; hashed on the
 * way and compared with the manifest), then the manifest's exact bytes last, so the target shows
 * a snapshot only when it is complete, as a backup would. Tombstones (which explain pruned links),
 * drill records and the repository id come along; nothing already in the target is replaced.
 */
export async function runCopy(o: CopyOptions): Promise<CopyResult> {
  if (o.from.displayUrl === o.to.displayUrl)
    throw new BarysafeError('usage', `copy source and target are the same repository (${o.to.displayUrl})`, {
      exitCode: ExitCode.USAGE,
      hint: 'name a second repository with --to',
    });
  const result: CopyResult = {
    format: 'barysafe.copy-result/v1',
    from: o.from.displayUrl,
    to: o.to.displayUrl,
    copied: [],
    already_there: [],
    refused: [],
    records_copied: [],
    objects_copied: 0,
    bytes_copied: 0,
    objects_skipped: 0,
    problems: [],
    exit_code: ExitCode.OK,
  };
  // The source first: one that does not exist (a typo) must not leave an empty target behind.
  await new Repository(o.from, o.verifier).snapshotIds();
  try {
    await o.to.probeWritable();
  } catch (e) {
    throw repoError(o.to, e);
  }
  const lock = await acquireWriterLock(o.to, 'barysafe copy');
  try {
    await copyLocked(o, result);
  } finally {
    await lock.release().catch((e) => o.logger.warn(`could not release the target's lock: ${errorText(e)}`));
  }
  // A snapshot left behind (damaged in the source) or a target holding other bytes under the same
  // name: the copy is not what the source vouches for.
  if (result.refused.length || result.problems.length) result.exit_code = ExitCode.INTEGRITY;
  return result;
}

async function copyLocked(o: CopyOptions, result: CopyResult): Promise<void> {
  const source = new Repository(o.from, o.verifier);
  const ids = o.refs?.length
    ? [...new Set(await Promise.all(o.refs.map((r) => source.resolve(r))))].sort()
    : await source.snapshotIds();
  // Records first: a copied snapshot whose predecessor was pruned links through its tombstone.
  for (const prefix of [TOMBSTONES_PREFIX, DRILLS_PREFIX]) {
    for (const ref of await source.listSignedDocuments(prefix, 'record', anyDocument)) {
      if (ref.verified !== true) continue;
      await copyDocument(o, ref.key, result);
    }
  }
  if (await o.from.head(REPOSITORY_ID_KEY).catch(() => null)) await copyDocument(o, REPOSITORY_ID_KEY, result);

  for (const id of ids) {
    let entry;
    try {
      entry = await source.readManifest(id, { requireSignature: true });
    } catch (e) {
      if (!(e instanceof BarysafeError) || e.exitCode !== ExitCode.INTEGRITY) throw e;
      result.refused.push({ id, why: e.message });
      continue;
    }
    const unsafe = artifactProblems(entry.manifest);
    if (unsafe.length) {
      result.refused.push({ id, why: unsafe.join('; ') });
      continue;
    }
    const mkey = manifestKey(id);
    const bytes = await source.readSmall(mkey, `manifest of snapshot ${id}`);
    const there = await readIfPresent(o.to, mkey);
    if (there) {
      if (there.equals(bytes)) result.already_there.push(id);
      else result.problems.push(`snapshot ${id}: the target's ${mkey} differs from the source's; left as it is`);
      continue;
    }
    let ok = true;
    for (const a of entry.manifest.artifacts) {
      const st = await o.to.head(a.object);
      if (st && st.size === a.size) {
        result.objects_skipped++;
        continue;
      }
      const why = await copyObject(o, a.object, a.size, a.sha256, result);
      if (why) {
        result.refused.push({ id, why: `${a.object}: ${why}` });
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    await putBytes(o.to, mkey, bytes);
    result.objects_copied++;
    result.bytes_copied += bytes.length;
    result.copied.push(id);
    o.logger.info({ snapshot: id, to: o.to.displayUrl }, 'snapshot copied');
  }
}

/** Streams one artifact across, hashing it; a wrong size or digest removes the copy and says why. */
async function copyObject(
  o: CopyOptions,
  key: string,
  size: number,
  sha256: string,
  result: CopyResult,
): Promise<string | undefined> {
  let body: Readable;
  try {
    body = await o.from.get(key);
  } catch (e) {
    if (e instanceof StorageNotFoundError) return 'missing from the source';
    throw repoError(o.from, e);
  }
  const hash = createHash('sha256');
  let n = 0;
  const counted = body.pipe(
    new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        n += chunk.length;
        done(null, chunk);
      },
    }),
  );
  body.on('error', (e) => counted.destroy(e));
  try {
    await o.to.put(key, counted, { contentLength: size });
  } catch (e) {
    if (n !== size) return `the source holds ${n} bytes, the manifest says ${size}`;
    throw repoError(o.to, e);
  }
  const digest = hash.digest('hex');
  if (n !== size || digest !== sha256) {
    await o.to.delete(key).catch(() => undefined);
    return n !== size
      ? `the source holds ${n} bytes, the manifest says ${size}`
      : `the source's bytes do not match the manifest's sha256 (${digest.slice(0, 16)}… ≠ ${sha256.slice(0, 16)}…)`;
  }
  result.objects_copied++;
  result.bytes_copied += n;
  return undefined;
}

async function copyDocument(o: CopyOptions, key: string, result: CopyResult): Promise<void> {
  const bytes = await new Repository(o.from).readSmall(key, key);
  const there = await readIfPresent(o.to, key);
  if (there) {
    if (!there.equals(bytes)) result.problems.push(`${key}: the target holds a different document; left as it is`);
    return;
  }
  await putBytes(o.to, key, bytes);
  result.records_copied.push(key);
  result.objects_copied++;
  result.bytes_copied += bytes.length;
}

async function readIfPresent(storage: Storage, key: string): Promise<Buffer | undefined> {
  if (!(await storage.head(key))) return undefined;
  return new Repository(storage).readSmall(key, key);
}

async function putBytes(storage: Storage, key: string, bytes: Buffer): Promise<void> {
  try {
    await storage.put(key, Readable.from([bytes]), { contentLength: bytes.length, ifNoneMatch: true });
  } catch (e) {
    if (e instanceof StorageExistsError) return; // written meanwhile by another run: compared next time
    throw repoError(storage, e);
  }
}
