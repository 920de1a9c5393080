// Builds a CheckContext for tests from a partial barysafe config, the way the CLI would:
// schema defaults applied, Barycenter's effective config resolved, a per-run memo.
import { resolveBarycenter } from '../../src/config/barycenter.js';
import { configSchema, type BarysafeConfig } from '../../src/config/schema.js';
import assert from 'node:assert/strict';
import { catalogue } from '../../src/checks/catalogue.js';
import type { CheckContext, CheckOutcome, DeploymentType } from '../../src/checks/types.js';

export interface TestConfigInput {
  barycenter: Partial<BarysafeConfig['barycenter']> & { config: string; workdir: string };
  checks?: Partial<BarysafeConfig['checks']>;
  repository?: Partial<BarysafeConfig['repository']>;
}

/** A placeholder recipient: checks never encrypt, but the schema requires one. */
const TEST_RECIPIENT = 'age1w77amjwa04cxyuk7f7zfrvaeu3275u0p06q7g0xztj55ds7xgg5q8q9hq4';

export function testConfig(input: TestConfigInput): BarysafeConfig {
  return configSchema.parse({
    barycenter: input.barycenter,
    repository: { url: 'file:///nonexistent-barysafe-test-repo', ...input.repository },
    encryption: { recipients: [TEST_RECIPIENT] },
    checks: input.checks ?? {},
  });
}

/**
 * ownEnv defaults to {} so the developer's BARYCENTER__* / RUST_LOG never leak into a test.
 * The memo caches promises, so concurrent checks read each source once.
 */
export function checkContext(
  input: TestConfigInput | BarysafeConfig,
  opts: { ownEnv?: NodeJS.ProcessEnv; now?: Date; configPath?: string } = {},
): CheckContext {
  const config = 'encryption' in input ? (input as BarysafeConfig) : testConfig(input as TestConfigInput);
  const memo = new Map<string, Promise<unknown>>();
  const deployment: DeploymentType = config.checks.deployment ?? 'plain';
  return {
    config,
    configPath: opts.configPath ?? '/nonexistent/barysafe.toml',
    barycenter: resolveBarycenter(config.barycenter, opts.ownEnv ?? {}),
    deployment,
    deploymentReason: config.checks.deployment ? 'checks.deployment' : 'test default (plain)',
    now: opts.now ?? new Date(),
    memo<T>(key: string, load: () => Promise<T>): Promise<T> {
      if (!memo.has(key)) memo.set(key, load());
      return memo.get(key) as Promise<T>;
    },
  };
}

/** Runs one check of the catalogue by id (the host tests' shared driver). */
export async function runCheck(ctx: CheckContext, id: string): Promise<CheckOutcome> {
  const def = catalogue().find((c) => c.id === id);
  assert.ok(def, `no check ${id}`);
  return def.run(ctx);
}

/** Asserts a status, printing the summary and evidence when it differs. */
export function expectStatus(o: CheckOutcome, status: CheckOutcome['status'], id: string): void {
  assert.equal(o.status, status, `${id}: ${o.status} — ${o.summary}\n${JSON.stringify(o.evidence, null, 1)}`);
}
