// Shared set-up for the drill tests: a running production-like deployment (the stand-in, which
// also serves "production's" JWKS), barysafe configured for it with a file:// repository, and
// helpers to back it up and drill it.
import { existsSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/config/load.js';
import type { BarysafeConfig } from '../src/config/schema.js';
import { createLogger } from '../src/log.js';
import { tempRoot } from '../src/platform/private-temp.js';
import { runBackup, type BackupResult } from '../src/backup/pipeline.js';
import { openStorage } from '../src/repository/open-storage.js';
import { runDrill, type DrillResult } from '../src/verify/drill.js';
import { drillJson, drillText } from '../src/cli/drill-output.js';
import { standinBin, type Standin } from './support/barycenter/launch.js';
import type { ProfileId } from './support/barycenter/profile.js';
import { makeDeployment, setupFileRepository, type BarysafeSetup, type Deployment } from './support/deployments.js';

export const logger = createLogger({ level: process.env.BARYSAFE_TEST_VERBOSE ? 'info' : 'silent' });

export interface DrillSetup {
  d: Deployment;
  production: Standin;
  setup: BarysafeSetup;
  config: BarysafeConfig;
  repoRoot: string;
  tempBase: string;
  backup(): Promise<BackupResult>;
  drill(config?: BarysafeConfig, opts?: { identityFile?: string; ref?: string }): Promise<Drilled>;
  close(): Promise<void>;
}

export interface Drilled {
  result: DrillResult;
  text: string;
  json: string;
  /** The stored drill record's bytes ('' when none was stored). */
  record: string;
}

export async function drillSetup(
  o: { databaseUrl?: string; drillToml?: string; backupToml?: string; build?: ProfileId; drillBuild?: ProfileId } = {},
): Promise<DrillSetup> {
  const dep = await makeDeployment({
    keepRunning: true,
    ...(o.databaseUrl ? { databaseUrl: o.databaseUrl } : {}),
    ...(o.build ? { build: o.build } : {}),
  });
  const production = dep.standin!;
  const { repoRoot, tempBase, ...setup } = await setupFileRepository(dep, o.backupToml);
  await writeFile(
    setup.configPath,
    (await readFile(setup.configPath, 'utf8')) +
      `\n[drill]\nbarycenter_bin = "${standinBin(o.drillBuild ?? dep.build)}"\nboot_timeout = "30s"\n${o.drillToml ?? ''}\n`,
  );
  const { config } = await loadConfig(setup.configPath);
  const storage = openStorage(config.repository);
  const self: DrillSetup = {
    d: dep,
    production,
    setup,
    config,
    repoRoot,
    tempBase,
    backup: () => runBackup(config, { logger, storage }),
    drill: async (c = config, opts = {}) => {
      const result = await runDrill(c, {
        ref: opts.ref ?? 'latest',
        logger,
        storage,
        ...(opts.identityFile ? { identityFile: opts.identityFile } : {}),
      });
      const record = result.record_key ? await readFile(path.join(repoRoot, result.record_key), 'utf8') : '';
      assertScratchGone(tempBase);
      return { result, text: drillText(result), json: JSON.stringify(drillJson(result)), record };
    },
    close: async () => {
      await self.production.stop();
      await dep.dir.cleanup();
    },
  };
  return self;
}

/** The private temp root holds no run directory after a drill, passed or failed. */
export function assertScratchGone(tempBase: string): void {
  const root = tempRoot(tempBase);
  const left = existsSync(root) ? readdirSync(root) : [];
  assert.deepEqual(left, [], `scratch directories left behind: ${left.join(', ')}`);
}

export function step(r: DrillResult, name: string) {
  const s = r.steps.find((x) => x.name === name);
  assert.ok(s, `step ${name} present`);
  return s;
}

/** Every step of a passing drill passed, in the order, and the result maps to exit 0. */
export function assertAllPass(r: DrillResult): void {
  assert.deepEqual(
    r.steps.map((s) => s.name),
    ['integrity', 'key', 'database', 'config', 'boot', 'discovery', 'jwks', 'token', 'teardown'],
  );
  for (const s of r.steps) assert.equal(s.verdict, 'pass', `${s.name}: ${s.detail}`);
  assert.equal(r.verdict, 'pass');
  assert.equal(r.exit_code, 0);
}

/** Secrets that must appear nowhere in what a drill prints or stores. */
export async function secretsOf(s: DrillSetup, extra: string[] = []): Promise<string[]> {
  const jwk = JSON.parse(await readFile(path.join(s.d.workdir, 'data/private_key.pem'), 'utf8')) as Record<
    string,
    string
  >;
  const identity = (await readFile(s.setup.identityFile, 'utf8'))
    .split('\n')
    .find((l) => l.startsWith('AGE-SECRET-KEY-'))!;
  return [jwk.d!, jwk.p!, jwk.q!, identity, ...extra].filter(Boolean);
}

export function assertNoSecret(texts: string[], secrets: string[]): void {
  for (const t of texts)
    for (const secret of secrets)
      assert.ok(!t.includes(secret), `a secret (${secret.slice(0, 6)}…) leaked into drill output or record`);
}
