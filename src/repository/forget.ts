import os from 'node:os';
import type { Logger } from '../log.js';
import { publicUrlOf } from '../barycenter/public-url.js';
import { fetchServedJwks } from '../barycenter/served-jwks.js';
import type { BarysafeConfig } from '../config/schema.js';
import type { Signer, Verifier } from '../crypto/signing.js';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import { VERSION } from '../version.js';
import { FUTURE_SKEW_MS, idTime } from './chain.js';
import { drillsFromEvidence } from './evidence-drills.js';
import { appendEvidence, type DocumentRef } from './evidence.js';
import { SNAPSHOTS_PREFIX, manifestKey, snapshotIdOfKey, snapshotPrefix, tombstoneKey } from './layout.js';
import { acquireWriterLock } from './lock.js';
import { newSnapshotId } from './manifest.js';
import { Repository, repoError, type GoodSnapshot } from './repository.js';
import { applyPolicy, hasRule, policyText, type RetentionPolicy } from './retention.js';
import type { Storage } from './storage.js';
import { TOMBSTONE_FORMAT, type RemovedSnapshot, type Tombstone } from './tombstone.js';

const DAY = 86_400_000;

export interface ForgetOptions {
  policy: RetentionPolicy;
  /** Without it nothing is written or deleted: the plan is only reported. */
  confirm: boolean;
  storage: Storage;
  verifier: Verifier;
  /** Signs the tombstone; required with `confirm`. */
  signer?: Signer;
  logger: Logger;
  now?: () => Date;
}

export interface ForgetSnapshot {
  id: string;
  created_at: string;
  action: 'keep' | 'remove';
  /** Why it is kept: the rules that keep it and what protects it. Empty when it is removed. */
  reasons: string[];
}

export interface ForgetResult {
  format: 'barysafe.forget-result/v1';
  repository: string;
  dry_run: boolean;
  policy: RetentionPolicy;
  policy_text: string;
  evidence_days: number;
  /** Every snapshot judged, newest first. */
  snapshots: ForgetSnapshot[];
  /** Snapshots left alone because they could not be judged (manifest does not verify, dated in the future). */
  not_judged: Array<{ id: string; why: string }>;
  /** Objects under snapshots/ that belong to no snapshot (an interrupted backup or forget). */
  orphans: string[];
  /** What production's JWKS said (the keys whose last snapshot is kept). */
  production_jwks: { url: string | null; error: string | null; thumbprints: string[] };
  /** With --confirm: the tombstone written before anything was deleted. */
  tombstone: string | null;
  /** With --confirm: snapshots and orphan objects actually deleted. */
  removed: string[];
  removed_orphans: string[];
  warnings: string[];
  /** What went wrong deleting (the next run removes what was left). */
  errors: string[];
  exit_code: number;
}

/**
 * `barysafe forget`: applies the retention policy, then never removes the newest snapshot, the
 * last snapshot holding each key production still publishes, a snapshot a drill record cites
 * within retention.evidence_days, or a snapshot any of whose objects is under Object Lock
 * retention. With `confirm`, under the writer lock: a signed tombstone first (what goes, why, by
 * whom), then each manifest, then its objects — so a crash leaves objects without a manifest
 * (orphans, removed by the next run) and never a listed snapshot with missing objects. Manifests
 * that do not verify are never judged: an unverifiable snapshot is not barysafe's to delete.
 */
export async function runForget(config: BarysafeConfig, o: ForgetOptions): Promise<ForgetResult> {
  const now = (o.now ?? (() => new Date()))();
  if (!hasRule(o.policy))
    throw new BarysafeError('usage', 'no retention rule: forget would keep everything', {
      exitCode: ExitCode.USAGE,
      hint: 'set keep_* in [retention] of barysafe.toml, or pass --keep-daily, --keep-weekly, --keep-within …',
    });
  if (o.confirm && !o.signer)
    throw new BarysafeError(
      'signature',
      'forget --confirm signs a tombstone, but encryption.signing_key_file is not set',
      {
        exitCode: ExitCode.USAGE,
        hint: 'run forget where the signing key is, or without --confirm to see the plan',
      },
    );
  const lock = o.confirm ? await acquireWriterLock(o.storage, 'barysafe forget') : undefined;
  try {
    return await forgetLocked(config, o, now);
  } finally {
    await lock?.release().catch((e) => o.logger.warn(`could not release the repository lock: ${errorText(e)}`));
  }
}

async function forgetLocked(config: BarysafeConfig, o: ForgetOptions, now: Date): Promise<ForgetResult> {
  const storage = o.storage;
  const repo = new Repository(storage, o.verifier);
  const entries = await repo.list();
  const notJudged: ForgetResult['not_judged'] = [];
  const good: GoodSnapshot[] = [];
  for (const e of entries) {
    if (e.verified !== true) notJudged.push({ id: e.id, why: e.verified === false ? e.error : 'not verified' });
    else if (idTime(e.id) > now.getTime() + FUTURE_SKEW_MS) notJudged.push({ id: e.id, why: 'dated in the future' });
    else good.push(e);
  }
  const warnings: string[] = [];
  const decisions = applyPolicy(
    good.map((e) => ({ id: e.id, time: Date.parse(e.manifest.created_at) })),
    o.policy,
  );
  const reasons = new Map(decisions.map((d) => [d.id, [...d.reasons]]));
  const protect = (id: string, why: string) => reasons.get(id)?.push(why);
  const byId = new Map(good.map((e) => [e.id, e]));

  // The newest snapshot, whatever the policy says.
  const newest = good[good.length - 1];
  if (newest) protect(newest.id, 'newest snapshot');

  // The last snapshot of each key production still publishes: the only copy of that private key.
  const base = publicUrlOf(config.barycenter.public_url, newest?.manifest.barycenter.public_base_url);
  const served: { url: string | null; keys?: Array<{ thumbprint: string }>; error?: string } = base
    ? await fetchServedJwks(base)
    : { url: null, error: 'no public URL: set barycenter.public_url' };
  const servedThumbs = new Set(served.keys?.map((k) => k.thumbprint));
  if (!served.keys)
    warnings.push(
      `production's JWKS is unknown (${[served.url, served.error].filter(Boolean).join(' ')}): the last snapshot of every key is kept`,
    );
  const lastOfKey = new Map<string, GoodSnapshot>();
  for (const e of good) lastOfKey.set(e.manifest.key.thumbprint, e);
  for (const [thumb, e] of lastOfKey)
    if (!served.keys || servedThumbs.has(thumb))
      protect(
        e.id,
        `last snapshot holding key ${e.manifest.key.kid ?? thumb}${served.keys ? ', which production publishes' : ''}`,
      );

  // Snapshots a drill record cites, while the drill is inside the evidence window.
  const evidenceDays = config.retention.evidence_days;
  const since = now.getTime() - evidenceDays * DAY;
  const chain = await drillsFromEvidence(storage, o.verifier);
  const legacy = (await repo.listDrillRecords()).filter((d) => !chain.cited.has(d.key));
  for (const d of [...chain.refs, ...legacy]) {
    if (d.verified !== true) continue;
    const r = d.record;
    if (r.snapshot_id && byId.has(r.snapshot_id) && Date.parse(r.finished_at) > since)
      protect(
        r.snapshot_id,
        `cited by drill ${r.id} (${r.finished_at}), inside retention.evidence_days = ${evidenceDays}`,
      );
  }

  // Object Lock: the retention the store reports on any object, and the configured retention as a
  // lower bound (a store may not report it on HEAD).
  const objectsOf = new Map<string, string[]>();
  const lockDays = config.repository.object_lock?.days;
  for (const e of good) {
    const r = reasons.get(e.id)!;
    if (r.length) continue;
    if (lockDays !== undefined && Date.parse(e.manifest.created_at) + lockDays * DAY > now.getTime()) {
      r.push(`inside repository.object_lock = ${lockDays} days`);
      continue;
    }
    const keys = await listKeys(storage, snapshotPrefix(e.id));
    objectsOf.set(e.id, keys);
    const stats = await Promise.all(keys.map((k) => storage.head(k).catch(() => null)));
    const locked = stats.find((s) => s?.retention && Date.parse(s.retention.until) > now.getTime());
    if (locked) r.push(`under Object Lock (${locked.retention!.mode}) until ${locked.retention!.until}: ${locked.key}`);
  }

  const snapshots: ForgetSnapshot[] = decisions.map((d) => {
    const r = reasons.get(d.id)!;
    return {
      id: d.id,
      created_at: byId.get(d.id)!.manifest.created_at,
      action: r.length ? 'keep' : 'remove',
      reasons: r,
    };
  });
  const orphans: string[] = [];
  for (const k of await findOrphans(storage, new Set(entries.map((e) => e.id)))) {
    const st = await storage.head(k).catch(() => null);
    if (st?.retention && Date.parse(st.retention.until) > now.getTime())
      warnings.push(`orphan ${k} is under Object Lock until ${st.retention.until}; left until then`);
    else if (st) orphans.push(k);
  }
  const result: ForgetResult = {
    format: 'barysafe.forget-result/v1',
    repository: storage.displayUrl,
    dry_run: !o.confirm,
    policy: o.policy,
    policy_text: policyText(o.policy),
    evidence_days: evidenceDays,
    snapshots,
    not_judged: notJudged,
    orphans,
    production_jwks: { url: served.url, error: served.error ?? null, thumbprints: [...servedThumbs] },
    tombstone: null,
    removed: [],
    removed_orphans: [],
    warnings,
    errors: [],
    exit_code: ExitCode.OK,
  };
  for (const w of warnings) o.logger.warn(w);
  const doomed = snapshots.filter((s) => s.action === 'remove').map((s) => byId.get(s.id)!);
  if (!o.confirm || (doomed.length === 0 && orphans.length === 0)) return result;

  // 1. The tombstone, signed, before anything is deleted: the chain's gap is explained from the start.
  const removed: RemovedSnapshot[] = [];
  for (const e of doomed)
    removed.push({
      id: e.id,
      created_at: e.manifest.created_at,
      manifest_sha256: e.sha256,
      previous: e.manifest.previous,
      ...(typeof e.manifest.sequence === 'number' ? { sequence: e.manifest.sequence } : {}),
      key_thumbprint: e.manifest.key.thumbprint,
      objects: objectsOf.get(e.id) ?? (await listKeys(storage, snapshotPrefix(e.id))),
      reason: `no rule keeps it (${result.policy_text}) and nothing protects it`,
    });
  const tombstone: Tombstone = {
    format: TOMBSTONE_FORMAT,
    id: newSnapshotId(now),
    created_at: now.toISOString(),
    by: { user: userName(), host: os.hostname(), tool: { name: 'barysafe', version: VERSION } },
    reason: `barysafe forget: ${result.policy_text}`,
    policy: { ...o.policy, evidence_days: evidenceDays },
    removed,
    orphans,
  };
  const key = tombstoneKey(tombstone.id);
  let stored: { sha256: string };
  try {
    stored = await repo.putSignedDocument(key, tombstone, o.signer!);
  } catch (e) {
    throw repoError(storage, e);
  }
  repo.forgetCachedTombstones();
  result.tombstone = key;
  o.logger.info({ tombstone: key, snapshots: removed.length, orphans: orphans.length }, 'tombstone written');

  // 2. Each manifest (the snapshot stops being listed), then its objects.
  for (const r of removed) {
    try {
      await storage.delete(manifestKey(r.id));
    } catch (e) {
      result.errors.push(`snapshot ${r.id}: ${manifestKey(r.id)} not deleted: ${errorText(e)}`);
      continue;
    }
    result.removed.push(r.id);
    for (const k of r.objects.filter((x) => x !== manifestKey(r.id))) {
      try {
        await storage.delete(k);
      } catch (e) {
        result.errors.push(`snapshot ${r.id}: ${k} not deleted (an orphan the next forget removes): ${errorText(e)}`);
      }
    }
  }
  // 3. Objects that belonged to no snapshot when this run started.
  for (const k of orphans) {
    try {
      await storage.delete(k);
      result.removed_orphans.push(k);
    } catch (e) {
      result.errors.push(`orphan ${k} not deleted: ${errorText(e)}`);
    }
  }
  if (result.errors.length) result.exit_code = ExitCode.REPOSITORY;

  // 4. The run in the evidence chain: which manifests went (by the digest they had), which stayed.
  const ref = (id: string, sha256: string): DocumentRef => ({
    name: manifestKey(id),
    digest: { sha256 },
    mediaType: 'application/json',
  });
  const gone = removed.filter((r) => result.removed.includes(r.id)).map((r) => ref(r.id, r.manifest_sha256));
  const stone: DocumentRef = { name: key, digest: { sha256: stored.sha256 }, mediaType: 'application/json' };
  try {
    await appendEvidence(storage, o.signer!, {
      run: 'forget',
      outcome: result.errors.length ? 'error' : 'pass',
      exitCode: result.exit_code,
      summary: `removed ${result.removed.length} snapshot(s) and ${result.removed_orphans.length} orphan(s): ${result.policy_text}`,
      startedAt: now,
      finishedAt: o.now ? now : new Date(),
      subject: gone.length ? gone : [stone],
      cites: [stone],
      predicate: {
        policy: { ...o.policy, evidence_days: evidenceDays },
        kept: snapshots.filter((x) => x.action === 'keep').map((x) => ref(x.id, byId.get(x.id)!.sha256)),
        removed: gone,
        tombstone: stone,
      },
    });
  } catch (e) {
    result.errors.push(`the forget is done, but not in the evidence chain: ${errorText(e)}`);
    result.exit_code = ExitCode.REPOSITORY;
  }
  for (const e of result.errors) o.logger.error(e);
  return result;
}

async function listKeys(storage: Storage, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  try {
    for await (const o of storage.list(prefix)) keys.push(o.key);
  } catch (e) {
    throw repoError(storage, e);
  }
  return keys.sort();
}

/**
 * Keys under snapshots/<id>/ whose snapshot has no manifest. Only safe to delete under the writer
 * lock: a backup in progress writes its artifacts before its manifest.
 */
async function findOrphans(storage: Storage, listed: Set<string>): Promise<string[]> {
  const out: string[] = [];
  for (const k of await listKeys(storage, SNAPSHOTS_PREFIX)) {
    const id = snapshotIdOfKey(k);
    if (id && !listed.has(id)) out.push(k);
  }
  return out;
}

function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}
