// A deployment, barysafe configured for it on a file:// or s3:// repository, and helpers to back it
// up in-process (with an injected clock when a test needs one) — the set-up of the verify, forget,
// copy and keys tests.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { BarysafeConfig } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { runBackup, type BackupResult } from '../../src/backup/pipeline.js';
import { openStorage } from '../../src/repository/open-storage.js';
import type { Storage } from '../../src/repository/storage.js';
import type { Standin } from './barycenter/launch.js';
import { makeDeployment, setupBarysafe, type BarysafeSetup, type Deployment } from './deployments.js';
import { rawRepo, type BackendKind, type RawRepo } from './raw-repo.js';
import type { TestS3 } from './services.js';

export const logger = createLogger({ level: process.env.BARYSAFE_TEST_VERBOSE ? 'info' : 'silent' });

export interface RepoFixture {
  kind: BackendKind;
  d: Deployment & { standin?: Standin };
  raw: RawRepo;
  setup: BarysafeSetup;
  config: BarysafeConfig;
  storage: Storage;
  stateDir: string;
  /** The clock storage dates Object Lock retention with; tests move it. */
  clock: { now: Date };
  backup(at?: Date): Promise<BackupResult>;
  /** Reloads barysafe.toml after a test changed it. */
  reload(): Promise<void>;
  close(): Promise<void>;
}

export async function repoFixture(
  kind: BackendKind,
  s3: TestS3 | undefined,
  opts: { keepRunning?: boolean; toml?: string; repositoryToml?: string; endpoint?: string } = {},
): Promise<RepoFixture> {
  const d = await makeDeployment({ keepRunning: !!opts.keepRunning });
  const raw = await rawRepo(kind, d.dir.path, s3, opts.endpoint);
  const setup = await setupBarysafe(d, {
    url: raw.url,
    extra: [raw.extra, opts.repositoryToml ?? ''].filter(Boolean).join('\n'),
  });
  const stateDir = path.join(d.dir.path, 'state');
  await writeFile(
    setup.configPath,
    (await readFile(setup.configPath, 'utf8')) +
      `\n[backup]\ntemp_dir = "${path.join(d.dir.path, 'tmp')}"\n\n[state]\ndir = "${stateDir}"\n${opts.toml ?? ''}\n`,
  );
  const clock = { now: new Date() };
  const self: RepoFixture = {
    kind,
    d,
    raw,
    setup,
    config: undefined as unknown as BarysafeConfig,
    storage: undefined as unknown as Storage,
    stateDir,
    clock,
    backup: async (at) => {
      if (at) clock.now = at;
      return runBackup(self.config, { logger, storage: self.storage, ...(at ? { now: () => at } : {}) });
    },
    reload: async () => {
      await self.storage?.close?.();
      self.config = (await loadConfig(setup.configPath)).config;
      self.storage = openStorage(self.config.repository, { now: () => clock.now });
    },
    close: async () => {
      await self.storage?.close?.();
      await d.standin?.stop();
      await d.dir.cleanup();
    },
  };
  await self.reload();
  return self;
}
