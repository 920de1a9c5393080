import type { JWK } from 'jose';
import type { Logger } from '../log.js';
import type { BarysafeConfig } from '../config/schema.js';
import type { BuildIdentity } from '../barycenter/identity.js';
import type { KeyFacts } from '../barycenter/jwk.js';
import type { GoodSnapshot, Repository } from '../repository/repository.js';
import type { RunningProcess } from '../platform/child-process.js';
import type { Launcher } from './scratch/launcher.js';
import type { Sandbox } from './scratch/sandbox.js';
import type { ScratchDatabase } from './scratch/scratch-postgres.js';
import type { ScratchLayout, ScratchNetwork } from './scratch/scratch-env.js';
import type { DrillPhaseEvent } from './types.js';

/** What the snapshot's artifacts became in the scratch directory (set only when all of them did). */
export interface RestoredFiles {
  layout: ScratchLayout;
  configRestored: boolean;
  envPath?: string;
  /** The deployment's own BARYCENTER* environment (unit, container, pod), when the backup read it. */
  serviceEnvPath?: string;
  /** Extra files (policies, token files, …): production path → restored path. */
  extras: Record<string, string>;
  database: { engine: 'sqlite'; path: string } | { engine: 'postgres'; dumpPath: string };
}

/** What the key and database steps need: a verified manifest and its artifacts restored. */
export interface RestoredInput {
  entry: GoodSnapshot;
  restored: RestoredFiles;
}

/** What boot needs: a parsed key and a database the scratch instance can use. */
export interface BootInput extends RestoredInput {
  key: RestoredKey;
  databaseUrl: string;
  launcher: Launcher | undefined;
  launcherError: unknown;
}

/** What the steps after boot need: an instance that answered discovery. */
export interface RunningInput extends RestoredInput {
  key: RestoredKey;
  baseUrl: string;
  issuer: string;
  discovery: Record<string, unknown>;
  drillUser: { username: string; password: string };
}

export interface RestoredKey {
  facts: KeyFacts;
  publicJwk: JWK;
}

/**
 * State the steps hand to each other. Each field is set by the step that proves it; a later step
 * that finds its input missing is reported as not run instead of guessing.
 */
export interface DrillContext {
  config: BarysafeConfig;
  logger: Logger;
  repo: Repository;
  ref: string;
  identityFile?: string;
  /** Go on although the repository no longer reaches this host's anchor. */
  allowRollback?: boolean;
  scratchDir: string;
  /** Progress: where each phase's start and end is reported (the CLI prints them on stderr). */
  onPhase?: (e: DrillPhaseEvent) => void;
  /** Aborted when the drill is interrupted; long waits (sync-users, discovery) stop on it. */
  signal?: AbortSignal;
  /** Set as soon as the snapshot id is known, even if its manifest then fails verification. */
  snapshotId?: string;
  snapshotSha256?: string;
  entry?: GoodSnapshot;
  restored?: RestoredFiles;
  key?: RestoredKey;
  /** Connection string Barycenter gets for the scratch DB (sqlite:// or postgres://). */
  databaseUrl?: string;
  scratchDb?: ScratchDatabase;
  launcher?: Launcher;
  launcherError?: unknown;
  /** What the launcher's prepare() said about the build it boots. */
  drillBuild?: { identity: BuildIdentity | null; reason?: string };
  instance?: RunningProcess;
  /** The scratch instance's network namespace and process guard (see scratch/sandbox.ts). */
  sandbox?: Sandbox;
  net?: ScratchNetwork;
  drillUser?: { username: string; password: string };
  /** http://127.0.0.1:<port>: where the drill talks to the scratch instance. */
  baseUrl?: string;
  /** The issuer the scratch instance must announce (http://localhost:<port>). */
  issuer?: string;
  discovery?: Record<string, unknown>;
  /** performance.now() when the scratch instance was proven to issue valid tokens. */
  verifiedAt?: number;
}
