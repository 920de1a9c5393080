import type { Logger } from '../log.js';
import { BarysafeError, ExitCode, isBarysafeError } from '../errors.js';
import type { BarysafeConfig } from '../config/schema.js';
import { loadVerifier } from '../crypto/signing.js';
import { BackupNotNeeded, runBackup } from '../backup/pipeline.js';
import { Repository, type GoodSnapshot } from '../repository/repository.js';
import type { Storage } from '../repository/storage.js';
import { runDrill } from '../verify/drill.js';
import { runVerify, type VerifyResult } from '../verify/repo/run.js';
import { parseSubset } from '../verify/repo/slices.js';
import type { BackupFacts, CheckFacts, DrillFacts, JobState, VerifyFacts } from './state.js';
import type { JobName } from './schedule.js';

/**
 * The job table: what each scheduled job runs, in-process, through the same use cases as the
 * commands. A job either ran (exit code, as its command would exit) or was skipped because its
 * purpose was already met or is being met elsewhere (another agent holds the repository lock, or
 * already made the snapshot for this slot): a skip is neither a failure nor an alert.
 */
export interface JobContext {
  config: BarysafeConfig;
  configPath: string;
  logger: Logger;
  storage: Storage;
  /** Aborted when the agent gives up waiting for the job at stop. */
  signal: AbortSignal;
  /** The schedule slot this run serves (null for --run-now). */
  slot: Date | null;
  previous: JobState;
  /** The job really starts now (heartbeat /start); called by the runner unless the job reports it itself. */
  began(): void;
}

export interface JobFacts {
  backup?: BackupFacts;
  drill?: DrillFacts;
  check?: CheckFacts;
  verify?: VerifyFacts;
}

export type JobOutcome =
  | {
      kind: 'done';
      exitCode: number;
      summary: string;
      snapshotId?: string;
      bytes?: number;
      facts?: JobFacts;
    }
  | { kind: 'skipped'; reason: string; coveredAt?: string; facts?: JobFacts };

export interface JobSpec {
  name: JobName;
  /** Writes the repository: never runs at the same time as another writer of this agent. */
  writer: boolean;
  /** Calls ctx.began() itself (the backup does, once it holds the repository lock). */
  reportsBegin?: boolean;
  run(ctx: JobContext): Promise<JobOutcome>;
}

/** What the commands layer lends the agent: use cases that live with their command. */
export interface JobDeps {
  /** `barysafe check` for the config file: its exit code and the report's counts per status. */
  runCheck?: (configPath: string) => Promise<{ exitCode: number; counts: Record<string, number>; line: string }>;
  /** `barysafe forget` (retention): exit code and a one-line summary. */
  runForget?: (ctx: JobContext) => Promise<{ exitCode: number; summary: string }>;
}

/** Every job this build knows; check and forget only when their use cases are lent. */
export function jobTable(deps: JobDeps = {}): Map<JobName, JobSpec> {
  const t = new Map<JobName, JobSpec>();
  t.set('backup', { name: 'backup', writer: true, reportsBegin: true, run: backupJob });
  // A writer: it stores a signed verify record and appends to the evidence chain.
  t.set('verify', { name: 'verify', writer: true, run: verifyJob });
  t.set('drill', { name: 'drill', writer: true, run: drillJob });
  if (deps.runCheck) {
    const runCheck = deps.runCheck;
    t.set('check', {
      name: 'check',
      writer: false,
      run: async (ctx) => {
        const r = await runCheck(ctx.configPath);
        return {
          kind: 'done',
          exitCode: r.exitCode,
          summary: r.line,
          facts: { check: { finished_at: new Date().toISOString(), counts: r.counts } },
        };
      },
    });
  }
  if (deps.runForget) {
    const runForget = deps.runForget;
    t.set('forget', {
      name: 'forget',
      writer: true,
      run: async (ctx) => ({ kind: 'done', ...(await runForget(ctx)) }),
    });
  }
  return t;
}

class SlotCovered extends BackupNotNeeded {
  constructor(readonly entry: GoodSnapshot) {
    super(`snapshot ${entry.id} (from ${entry.manifest.host}) already covers this slot`);
  }
}

async function repositoryOf(ctx: JobContext): Promise<Repository> {
  const key = ctx.config.encryption.verify_key ?? ctx.config.encryption.signing_key_file;
  return new Repository(ctx.storage, key ? await loadVerifier(key) : undefined);
}

/** The newest snapshot whose signature verifies: an unsigned or forged manifest must not make agents skip backups. */
async function newestVerified(repo: Repository): Promise<GoodSnapshot | undefined> {
  if (!repo.verifier) return undefined;
  const ids = await repo.snapshotIds();
  for (let i = ids.length - 1; i >= 0 && i >= ids.length - 5; i--) {
    try {
      return await repo.readManifest(ids[i]!);
    } catch {
      /* a bad manifest is the checks' business; look at the one before */
    }
  }
  return undefined;
}

async function backupJob(ctx: JobContext): Promise<JobOutcome> {
  const repo = await repositoryOf(ctx);
  const slot = ctx.slot;
  try {
    const r = await runBackup(ctx.config, {
      logger: ctx.logger,
      storage: ctx.storage,
      signal: ctx.signal,
      scheduled: slot !== null,
      onLocked: async () => {
        // Under the lock, so of several agents sharing the repository and the schedule exactly one
        // makes the slot's snapshot, however their start times and jitters fall.
        if (slot) {
          const newest = await newestVerified(repo);
          if (newest && Date.parse(newest.manifest.started_at) >= slot.getTime()) throw new SlotCovered(newest);
        }
        ctx.began();
      },
    });
    const m = r.manifest;
    const bytes = m.artifacts.reduce((s, a) => s + a.size, 0);
    const mismatch = m.warnings.some((w) => w.startsWith('KEY/JWKS MISMATCH'));
    return {
      kind: 'done',
      exitCode: mismatch ? ExitCode.CHECK_FAILED : ExitCode.OK,
      summary: `snapshot ${r.id}: ${m.artifacts.length} artifacts, ${bytes} bytes encrypted${mismatch ? '; KEY/JWKS MISMATCH: the deployment serves a JWKS that does not match its key' : ''}`,
      snapshotId: r.id,
      bytes,
      facts: { backup: await backupFacts(repo, { id: r.id, manifest: m }, ctx.previous.backup) },
    };
  } catch (e) {
    if (e instanceof SlotCovered)
      return {
        kind: 'skipped',
        reason: e.message,
        coveredAt: e.entry.manifest.created_at,
        facts: { backup: await backupFacts(repo, e.entry, ctx.previous.backup) },
      };
    // --run-now asked for this very run: a held lock is its exit code 11, as for `barysafe backup`.
    if (slot && isBarysafeError(e) && e.exitCode === ExitCode.LOCKED) {
      // Another writer is at work (another agent, a manual backup): its result is its own to report.
      const newest = await newestVerified(repo).catch(() => undefined);
      return {
        kind: 'skipped',
        reason: e.message,
        ...(newest
          ? {
              coveredAt: newest.manifest.created_at,
              facts: { backup: await backupFacts(repo, newest, ctx.previous.backup) },
            }
          : {}),
      };
    }
    throw e;
  }
}

/** Size of the snapshot and how long its signing key has been in use (first snapshot that holds it). */
async function backupFacts(
  repo: Repository,
  entry: Pick<GoodSnapshot, 'id' | 'manifest'>,
  previous: BackupFacts | undefined,
): Promise<BackupFacts> {
  const m = entry.manifest;
  const thumbprint = m.key.thumbprint;
  let firstSeen = m.created_at;
  if (previous?.key_thumbprint === thumbprint && previous.key_first_seen_at < firstSeen)
    firstSeen = previous.key_first_seen_at;
  else {
    // A new key (or no history yet): look through the repository once.
    for (const e of await repo.list().catch(() => [])) {
      if (e.verified !== false && e.manifest.key.thumbprint === thumbprint && e.manifest.created_at < firstSeen)
        firstSeen = e.manifest.created_at;
    }
  }
  return {
    snapshot_id: entry.id,
    created_at: m.created_at,
    bytes: m.artifacts.reduce((s, a) => s + a.size, 0),
    key_thumbprint: thumbprint,
    key_kid: m.key.kid,
    key_first_seen_at: firstSeen,
  };
}

async function drillJob(ctx: JobContext): Promise<JobOutcome> {
  if (!ctx.config.encryption.identity_file)
    throw new BarysafeError('usage', 'a scheduled drill needs encryption.identity_file to decrypt the snapshot', {
      exitCode: ExitCode.USAGE,
      hint: 'set encryption.identity_file, or remove schedule.drill on hosts that must not hold the identity',
    });
  const r = await runDrill(ctx.config, { ref: 'latest', logger: ctx.logger, storage: ctx.storage });
  const secs = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : ms / 1000);
  // The first step that failed or erred says why (the later ones are only inconclusive after it).
  const cause = r.steps.find((s) => s.verdict === 'fail' || s.verdict === 'error');
  const bad = r.steps
    .filter((s) => s.verdict !== 'pass')
    .map(
      (s) => `${s.name} ${s.verdict}${s === cause && s.detail ? ` (${s.detail.split('\n')[0]!.slice(0, 300)})` : ''}`,
    );
  const target = (v: number | null, t: number | undefined) =>
    v === null
      ? 'unknown'
      : `${(v / 1000).toFixed(1)} s${t !== undefined ? ` (target ${(t / 1000).toFixed(0)} s)` : ''}`;
  return {
    kind: 'done',
    exitCode: r.exit_code,
    summary:
      `drill ${r.verdict} on snapshot ${r.snapshot_id ?? '(none)'}: RTO ${target(r.rto_ms, r.rto_target_ms)}, RPO ${target(r.rpo_ms, r.rpo_target_ms)}` +
      (bad.length ? `; ${bad.join(', ')}` : '') +
      (r.record_error ? `; record not stored: ${r.record_error}` : ''),
    ...(r.snapshot_id ? { snapshotId: r.snapshot_id } : {}),
    facts: {
      drill: {
        verdict: r.verdict,
        snapshot_id: r.snapshot_id,
        finished_at: r.finished_at,
        rto_seconds: secs(r.rto_ms),
        rpo_seconds: secs(r.rpo_ms),
        ...(r.rto_target_ms !== undefined ? { rto_target_seconds: r.rto_target_ms / 1000, rto_met: r.rto_met } : {}),
        ...(r.rpo_target_ms !== undefined ? { rpo_target_seconds: r.rpo_target_ms / 1000, rpo_met: r.rpo_met } : {}),
      },
    },
  };
}

/**
 * `barysafe verify` on the schedule: the inventory of every snapshot, plus one slice of the data
 * when [schedule] read_data_subset is set ("auto/7" reads everything once per seven runs). The
 * record is signed when this host holds the signing key, as `barysafe verify` would.
 */
async function verifyJob(ctx: JobContext): Promise<JobOutcome> {
  const subsetText = ctx.config.schedule.read_data_subset;
  const subset = subsetText !== undefined ? parseSubset(subsetText) : undefined;
  const r = await runVerify(ctx.config, {
    readData: subset !== undefined,
    ...(subset ? { subset } : {}),
    live: false,
    record: ctx.config.encryption.signing_key_file !== undefined,
    storage: ctx.storage,
    logger: ctx.logger,
  });
  const tier = r.subset ? `read-data slice ${r.subset.n}/${r.subset.t}` : r.tier;
  const damaged = r.snapshots.filter((x) => !x.ok).length;
  const notes = [
    ...(damaged ? [`${damaged} DAMAGED`] : []),
    ...r.problems.slice(0, 3),
    ...(r.egress.stopped ? [`${r.egress.left_objects} object(s) left unread by the egress budget`] : []),
    ...r.inconclusive.slice(0, 2).map((i) => `not decided: ${i}`),
    ...(r.record_error ? [r.record_error] : []),
  ];
  return {
    kind: 'done',
    exitCode: r.exit_code,
    summary:
      `verify (${tier}) of ${r.snapshots.length} snapshot(s): ${r.verdict}, ${r.read.length} object(s) read` +
      (notes.length ? `; ${notes.join('; ')}` : ''),
    facts: { verify: { finished_at: r.finished_at, coverage_ratio: coverageOf(r) } },
  };
}

/**
 * The share of the repository's data read back in the current cycle: 0 for an inventory, 1 for a
 * complete --read-data, k/t after slice k of an auto/t cycle (1/t for a fixed slice), less while an
 * egress budget leaves objects unread.
 */
export function coverageOf(r: Pick<VerifyResult, 'tier' | 'subset' | 'read' | 'left'>): number {
  if (r.tier === 'inventory') return 0;
  const complete = r.left.length === 0;
  const partOfRun = r.read.length + r.left.length ? r.read.length / (r.read.length + r.left.length) : 1;
  if (!r.subset) return complete ? 1 : partOfRun;
  const { n, t, auto } = r.subset;
  const before = auto ? n - 1 : 0;
  return (before + (complete ? 1 : partOfRun)) / t;
}
