import os from 'node:os';
import type { Logger } from '../../log.js';
import { BarysafeError, ExitCode, errorText } from '../../errors.js';
import type { BarysafeConfig } from '../../config/schema.js';
import { verifyKeyFile } from '../../config/schema.js';
import { parseDuration } from '../../units.js';
import { loadIdentities, recipientOf } from '../../crypto/age.js';
import { loadSigner, loadVerifier, type Signer } from '../../crypto/signing.js';
import { makePrivateTempDir } from '../../platform/private-temp.js';
import { manifestKey, verifyRecordKey } from '../../repository/layout.js';
import { newSnapshotId, type Manifest } from '../../repository/manifest.js';
import { Repository, type GoodSnapshot } from '../../repository/repository.js';
import { sha256Hex } from '../../repository/signed-document.js';
import type { Storage } from '../../repository/storage.js';
import {
  VERIFY_RECORD_FORMAT,
  type VerifiedObject,
  type VerifiedSnapshot,
  type VerifyRecord,
  type VerifyTier,
} from '../../repository/verify-record.js';
import { VERSION } from '../../version.js';
import { readCursor, writeCursor } from './cursor.js';
import { EgressBudget } from './egress.js';
import { appendVerifyEvidence } from './evidence.js';
import { liveCheck } from './live.js';
import { inventoryObject, readDataObject, type Identities, type ObjectOutcome } from './objects.js';
import { sequenceProblem } from './sequence.js';
import { sliceOf, type SubsetSpec } from './slices.js';
import type { VerifyResult } from './types.js';

export interface VerifyOptions {
  /** A snapshot id (or unique prefix, or "latest"); undefined verifies every snapshot. */
  ref?: string;
  /** Download, decrypt and parse: every artifact, or one slice of them with `subset`. */
  readData: boolean;
  subset?: SubsetSpec;
  /** Egress budget in bytes. */
  maxEgress?: number;
  live: boolean;
  identityFile?: string;
  /** Store a signed verify record and an evidence record (needs encryption.signing_key_file). */
  record: boolean;
  storage: Storage;
  logger: Logger;
  now?: () => Date;
}

export type { VerifyResult } from './types.js';

/**
 * `barysafe verify`: proves what is in the repository is what the signed manifests say, in tiers.
 * Inventory (always): every manifest's signature, chain link and sequence; every object present
 * with its recorded size, its age header sealed to the manifest's recipients (opened with the
 * identity when one is configured); the newest snapshot's age against checks.rpo. --read-data adds
 * a download, hash, decryption and parse of each selected artifact. Every finding names its
 * snapshot and object. The result is stored as a signed record under verifications/.
 */
export async function runVerify(config: BarysafeConfig, opts: VerifyOptions): Promise<VerifyResult> {
  const now = opts.now ?? (() => new Date());
  const started = now();
  const log = opts.logger;
  const keyFile = verifyKeyFile(config);
  if (!keyFile)
    throw new BarysafeError('signature', 'verify needs the key that signs manifests', {
      exitCode: ExitCode.USAGE,
      hint: 'set encryption.verify_key (signing.pub.pem) or encryption.signing_key_file in barysafe.toml',
    });
  const verifier = await loadVerifier(keyFile);
  let signer: Signer | undefined;
  if (opts.record) {
    if (!config.encryption.signing_key_file)
      throw new BarysafeError('signature', 'cannot sign the verify record: encryption.signing_key_file is not set', {
        exitCode: ExitCode.USAGE,
        hint: 'verify records are signed like manifests; set encryption.signing_key_file, or pass --no-record',
      });
    signer = await loadSigner(config.encryption.signing_key_file);
  }
  const ids = await identitiesOf(opts.identityFile ?? config.encryption.identity_file, opts.readData);
  const repo = new Repository(opts.storage, verifier);
  const allIds = await repo.snapshotIds();
  const scopeIds = opts.ref ? [await repo.resolve(opts.ref)] : allIds;
  if (scopeIds.length === 0)
    throw new BarysafeError('snapshot', `the repository ${opts.storage.displayUrl} holds no snapshot`, {
      exitCode: ExitCode.REPOSITORY,
      hint: 'run `barysafe backup` first, or check repository.url',
    });

  const budget = new EgressBudget(opts.maxEgress ?? null);
  const tier: VerifyTier = !opts.readData ? 'inventory' : opts.subset ? 'read-data-subset' : 'read-data';
  const cursor = opts.subset?.n === 'auto' ? await readCursor(config.state.dir, opts.storage.displayUrl) : undefined;
  const slice =
    opts.subset === undefined
      ? undefined
      : opts.subset.n !== 'auto'
        ? opts.subset.n
        : cursor && cursor.t === opts.subset.t
          ? cursor.next
          : 1;
  const alreadyRead = new Set(opts.subset?.n === 'auto' && cursor?.t === opts.subset.t ? cursor.done : []);

  const snapshots: VerifiedSnapshot[] = [];
  const entries: GoodSnapshot[] = [];
  const read: string[] = [];
  const left: VerifyResult['left'] = [];
  let inconclusive: string[] = [];
  const temp = opts.readData ? await makePrivateTempDir(config.backup.temp_dir) : undefined;
  try {
    for (const id of scopeIds) {
      const v = await verifySnapshot(repo, id, {
        ids,
        budget,
        readData: opts.readData,
        select: (key) =>
          opts.readData && (slice === undefined || sliceOf(key, opts.subset!.t) === slice) && !alreadyRead.has(key),
        tempDir: temp?.dir,
        pgBinDir: config.backup.pg_bin_dir,
        log,
      });
      snapshots.push(v.snapshot);
      if (v.entry) entries.push(v.entry);
      read.push(...v.read);
      left.push(...v.left.map((l) => ({ snapshot: id, ...l })));
      inconclusive = inconclusive.concat(v.inconclusive);
    }
  } finally {
    await temp?.cleanup();
  }
  // Sequence numbers run up by one along the chain (for manifests that carry one).
  for (const s of snapshots) {
    const e = entries.find((x) => x.id === s.id);
    if (!e) continue;
    const seq = await sequenceProblem(repo, e);
    if (seq) {
      s.sequence = seq;
      if (!seq.ok) {
        s.ok = false;
        s.problems.push(`snapshot ${s.id}: ${manifestKey(s.id)}: ${seq.detail}`);
      }
    }
  }

  const problems = snapshots.flatMap((s) => s.problems);
  // The newest snapshot against the RPO target: a stale backup is a finding, not damage.
  let rpo: VerifyRecord['rpo'];
  const newestId = allIds[allIds.length - 1];
  const newestEntry = entries.find((e) => e.id === newestId);
  if (newestId && scopeIds.includes(newestId)) {
    const age = newestEntry ? started.getTime() - Date.parse(newestEntry.manifest.created_at) : null;
    const target = parseDuration(config.checks.rpo);
    rpo = {
      target: config.checks.rpo,
      newest: newestId,
      age_ms: age,
      ok: age !== null && age <= target,
    };
  }
  let live: VerifyRecord['live'];
  if (opts.live) {
    const all = opts.ref ? await repo.list() : entries;
    live = await liveCheck(config, all);
    if (live.verdict === 'fail') problems.push(...live.problems);
    if (live.verdict === 'inconclusive') inconclusive.push(`--live: ${live.detail}`);
  }

  const leftBytes = left.reduce((n, l) => n + l.size, 0);
  const exit_code = problems.length
    ? ExitCode.INTEGRITY
    : rpo && !rpo.ok
      ? ExitCode.CHECK_FAILED
      : left.length || inconclusive.length
        ? ExitCode.INCONCLUSIVE
        : ExitCode.OK;
  const finished = now();
  const record: VerifyRecord = {
    format: VERIFY_RECORD_FORMAT,
    id: newSnapshotId(started),
    started_at: started.toISOString(),
    finished_at: finished.toISOString(),
    host: os.hostname(),
    tool: { name: 'barysafe', version: VERSION },
    repository: opts.storage.displayUrl,
    tier,
    ...(opts.subset ? { subset: { n: slice!, t: opts.subset.t, auto: opts.subset.n === 'auto' } } : {}),
    scope: opts.ref ? scopeIds[0]! : 'all',
    verdict: exit_code === ExitCode.OK ? 'pass' : exit_code === ExitCode.INCONCLUSIVE ? 'inconclusive' : 'fail',
    exit_code,
    ...(rpo ? { rpo } : {}),
    ...(live ? { live } : {}),
    egress: {
      budget_bytes: budget.limit,
      bytes_read: budget.used,
      stopped: left.length > 0,
      left_objects: left.length,
      left_bytes: leftBytes,
    },
    snapshots,
    inconclusive,
    problems: [
      ...problems,
      ...(rpo && !rpo.ok
        ? [
            `snapshot ${rpo.newest}: the newest snapshot is ${rpo.age_ms === null ? 'of unknown age' : `${(rpo.age_ms / 3_600_000).toFixed(1)} h old`}, older than checks.rpo = ${rpo.target}`,
          ]
        : []),
    ],
  };
  const result: VerifyResult = { ...record, record_key: null, read, left };

  if (signer) {
    const key = verifyRecordKey(record.id);
    let stored: { sha256: string } | undefined;
    try {
      stored = await repo.putSignedDocument(key, record, signer);
      result.record_key = key;
    } catch (e) {
      result.record_error = `the verify record was not stored: ${errorText(e)}`;
    }
    if (stored) {
      try {
        const ev = await appendVerifyEvidence(
          opts.storage,
          signer,
          result,
          { key, sha256: stored.sha256 },
          entries,
          started,
          finished,
        );
        result.evidence = { key: ev.key, sequence: ev.sequence };
      } catch (e) {
        result.record_error = `the verify record is stored, but not in the evidence chain: ${errorText(e)}`;
      }
    }
    if (result.record_error) {
      log.error(result.record_error);
      // A verify that promised a record and left none did not do what it says.
      if (result.exit_code === ExitCode.OK) result.exit_code = ExitCode.REPOSITORY;
    }
  }

  if (opts.subset?.n === 'auto') {
    const complete = left.length === 0;
    const t = opts.subset.t;
    result.next_slice = complete ? (slice! % t) + 1 : slice!;
    await writeCursor(config.state.dir, opts.storage.displayUrl, {
      t,
      next: result.next_slice,
      done: complete ? [] : [...alreadyRead, ...read],
      updated_at: finished.toISOString(),
    });
  }
  return result;
}

interface SnapshotRun {
  ids: Identities | undefined;
  budget: EgressBudget;
  readData: boolean;
  select: (objectKey: string) => boolean;
  tempDir: string | undefined;
  pgBinDir: string | undefined;
  log: Logger;
}

async function verifySnapshot(
  repo: Repository,
  id: string,
  run: SnapshotRun,
): Promise<{
  snapshot: VerifiedSnapshot;
  entry?: GoodSnapshot;
  read: string[];
  left: Array<{ object: string; size: number }>;
  inconclusive: string[];
}> {
  const mkey = manifestKey(id);
  const snapshot: VerifiedSnapshot = {
    id,
    created_at: null,
    manifest_sha256: null,
    signature: 'invalid',
    chain: { ok: false, detail: 'not checked' },
    objects: [],
    ok: false,
    problems: [],
  };
  const read: string[] = [];
  const left: Array<{ object: string; size: number }> = [];
  const inconclusive: string[] = [];
  const problem = (object: string, what: string) => snapshot.problems.push(`snapshot ${id}: ${object}: ${what}`);
  let bytes: Buffer;
  try {
    bytes = await repo.readSmall(mkey, `manifest of snapshot ${id}`);
  } catch (e) {
    if (!(e instanceof BarysafeError) || e.exitCode !== ExitCode.INTEGRITY) throw e;
    problem(mkey, e.message);
    return { snapshot, read, left, inconclusive };
  }
  run.budget.add(bytes.length);
  snapshot.manifest_sha256 = sha256Hex(bytes);
  let entry: GoodSnapshot;
  try {
    entry = await repo.readManifest(id, { requireSignature: true });
  } catch (e) {
    if (!(e instanceof BarysafeError) || e.exitCode !== ExitCode.INTEGRITY) throw e;
    snapshot.objects.push(manifestObject(mkey, bytes.length, false, e.message));
    problem(mkey, e.message);
    return { snapshot, read, left, inconclusive };
  }
  snapshot.manifest_sha256 = entry.sha256;
  snapshot.signature = 'ok';
  snapshot.created_at = entry.manifest.created_at ?? null;
  snapshot.objects.push(manifestObject(mkey, bytes.length, true));
  snapshot.chain = await repo.chainLink(entry);
  if (!snapshot.chain.ok) problem(mkey, `chain link broken: ${snapshot.chain.detail}`);

  const m: Manifest = entry.manifest;
  // Inventory in parallel (a HEAD and a small ranged read each); bodies one at a time, so the
  // egress budget is decided before each download starts.
  const outcomes: Array<{ a: Manifest['artifacts'][number]; o: ObjectOutcome }> = await Promise.all(
    m.artifacts.map(async (a) => ({ a, o: await inventoryObject(repo.storage, a, m, run.ids, run.budget) })),
  );
  for (const x of outcomes) {
    if (!x.o.ok || x.o.left || !run.readData || !run.select(x.a.object)) continue;
    const d = await readDataObject(
      repo.storage,
      x.a,
      m,
      { ids: run.ids!, tempDir: run.tempDir!, ...(run.pgBinDir ? { pgBinDir: run.pgBinDir } : {}) },
      run.budget,
    );
    x.o = d.left ? { ...x.o, left: true } : { ...d, bytes: d.bytes + x.o.bytes };
    if (!d.left) read.push(x.a.object);
  }
  for (const { a, o } of outcomes) {
    const obj: VerifiedObject = {
      object: a.object,
      name: a.name,
      kind: a.kind,
      checks: o.checks,
      ok: o.ok,
      ...(o.problem ? { problem: o.problem } : {}),
      bytes_read: o.bytes,
    };
    snapshot.objects.push(obj);
    if (!o.ok) problem(a.object, o.problem ?? 'failed');
    if (o.left) left.push({ object: a.object, size: a.size });
    if (o.inconclusive) inconclusive.push(`snapshot ${id}: ${a.object}: ${o.inconclusive}`);
  }
  snapshot.ok = snapshot.problems.length === 0;
  if (!snapshot.ok) run.log.warn({ snapshot: id }, snapshot.problems.join('; '));
  return { snapshot, entry, read, left, inconclusive };
}

function manifestObject(key: string, size: number, ok: boolean, problem?: string): VerifiedObject {
  return {
    object: key,
    name: 'manifest',
    kind: 'manifest',
    checks: ['present', 'size'],
    ok,
    ...(problem ? { problem } : {}),
    bytes_read: size,
  };
}

/** The identity and the recipients it belongs to; required for --read-data, optional for the inventory. */
async function identitiesOf(file: string | undefined, required: boolean): Promise<Identities | undefined> {
  if (!file) {
    if (!required) return undefined;
    throw new BarysafeError('identity', '--read-data needs an age identity to decrypt the artifacts with', {
      exitCode: ExitCode.IDENTITY,
      hint: 'pass --identity FILE or set encryption.identity_file (the inventory tier needs none)',
    });
  }
  const identities = await loadIdentities(file);
  const recipients: string[] = [];
  for (const i of identities) recipients.push(await recipientOf(i));
  return { identities, recipients };
}
