// Builds a CheckContext for tests from a partial barysafe config, the way the CLI would:
// schema defaults applied, Barycenter's effective config resolved, a per-run memo.
import { resolveBarycenter } from '../../src/config/barycenter.js';
import { configSchema, type BarysafeConfig } from '../../src/config/schema.js';
import { loadServiceDefinition, type ServiceDefinition } from '../../src/config/service.js';
import assert from 'node:assert/strict';
import { catalogue } from '../../src/checks/catalogue.js';
import { createContext, runOne } from '../../src/checks/engine.js';
import type { CheckContext, CheckResult, CheckStatus, DeploymentType } from '../../src/checks/types.js';

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
 * ownEnv defaults to {} so the developer's BARYCENTER__* / RUST_LOG never leak into a test. The
 * context is the engine's own (createContext), so the memo and its cleanup are what a run uses.
 */
export function checkContext(
  input: TestConfigInput | BarysafeConfig,
  opts: { ownEnv?: NodeJS.ProcessEnv; now?: Date; configPath?: string; service?: ServiceDefinition } = {},
): CheckContext {
  const config = 'encryption' in input ? (input as BarysafeConfig) : testConfig(input as TestConfigInput);
  const type: DeploymentType = config.checks.deployment ?? 'plain';
  return createContext({
    config,
    configPath: opts.configPath ?? '/nonexistent/barysafe.toml',
    barycenter: resolveBarycenter(config.barycenter, opts.ownEnv ?? {}, opts.service),
    deployment: { type, reason: config.checks.deployment ? 'checks.deployment' : 'test default (plain)' },
    now: opts.now,
  });
}

/** checkContext with the deployment's own definition (unit, container, pod) read as the CLI reads it. */
export async function deploymentContext(
  input: TestConfigInput,
  opts: { ownEnv?: NodeJS.ProcessEnv; now?: Date } = {},
): Promise<CheckContext> {
  const config = testConfig(input);
  const lookup = await loadServiceDefinition(config);
  assert.ok(!lookup || lookup.ok, lookup && !lookup.ok ? lookup.reason : '');
  return checkContext(config, { ...opts, ...(lookup?.ok ? { service: lookup.service } : {}) });
}

/** Runs one check of the catalogue by id through the engine (the host tests' shared driver). */
export async function runCheck(ctx: CheckContext, id: string): Promise<CheckResult> {
  const def = catalogue().find((c) => c.id === id);
  assert.ok(def, `no check ${id}`);
  return runOne(def, ctx);
}

/** Asserts a status, printing the summary and evidence when it differs. */
export function expectStatus(
  o: Pick<CheckResult, 'status' | 'summary' | 'evidence'>,
  status: CheckStatus,
  id: string,
): void {
  assert.equal(o.status, status, `${id}: ${o.status} — ${o.summary}\n${JSON.stringify(o.evidence, null, 1)}`);
}
