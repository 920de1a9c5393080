import type { StepName } from '../types.js';
import type { BootInput, DrillContext, RestoredInput, RunningInput } from '../context.js';
import type { StepOutcome } from '../step-runner.js';
import { bootStep } from './boot.js';
import { configStep } from './config.js';
import { databaseStep } from './database.js';
import { discoveryStep } from './discovery.js';
import { integrityStep } from './integrity.js';
import { jwksStep } from './jwks.js';
import { keyStep } from './key.js';
import { tokenStep } from './token.js';

/** Either the typed input a step needs, or why it cannot run (an earlier step did not leave it). */
export type Readiness<I> = { ready: I } | { notRun: string };

export interface DrillStep {
  name: StepName;
  /** How to run the step now with its typed input, or why it is reported as not run. */
  prepare(ctx: DrillContext): { run: () => Promise<StepOutcome> } | { notRun: string };
}

function step<I>(
  name: StepName,
  needs: (ctx: DrillContext) => Readiness<I>,
  run: (input: I, ctx: DrillContext) => Promise<StepOutcome>,
): DrillStep {
  return {
    name,
    prepare(ctx) {
      const r = needs(ctx);
      if ('notRun' in r) return r;
      return { run: () => run(r.ready, ctx) };
    },
  };
}

const always = (): Readiness<undefined> => ({ ready: undefined });

function restored(ctx: DrillContext): Readiness<RestoredInput> {
  if (!ctx.restored || !ctx.entry) return { notRun: 'the snapshot was not restored (integrity)' };
  return { ready: { entry: ctx.entry, restored: ctx.restored } };
}

// A mismatched key or row count still boots (and shows what production would serve); a database
// that did not restore would boot as a fresh, empty one and prove nothing.
function bootable(ctx: DrillContext): Readiness<BootInput> {
  const r = restored(ctx);
  if ('notRun' in r) return r;
  if (!ctx.key) return { notRun: 'the restored key does not parse' };
  if (!ctx.databaseUrl) return { notRun: 'the database was not restored' };
  const { launcher, launcherError } = ctx;
  return { ready: { ...r.ready, key: ctx.key, databaseUrl: ctx.databaseUrl, launcher, launcherError } };
}

function running(ctx: DrillContext): Readiness<RunningInput> {
  const b = bootable(ctx);
  if ('notRun' in b) return b;
  const { baseUrl, issuer, discovery, drillUser } = ctx;
  if (!baseUrl || !issuer || !discovery || !drillUser) return { notRun: 'the scratch instance did not boot' };
  return {
    ready: {
      entry: b.ready.entry,
      restored: b.ready.restored,
      key: b.ready.key,
      baseUrl,
      issuer,
      discovery,
      drillUser,
    },
  };
}

/** The drill's steps in the order they run; teardown runs apart, always, from `finally`. */
export const DRILL_STEPS: readonly DrillStep[] = [
  step('integrity', always, (_, ctx) => integrityStep(ctx)),
  step('key', restored, keyStep),
  step('database', restored, databaseStep),
  // Before boot, and not in boot's way: the scratch instance still boots and shows the rest.
  step('config', restored, (input) => configStep(input)),
  step('boot', bootable, bootStep),
  step('discovery', running, discoveryStep),
  step('jwks', running, (input) => jwksStep(input)),
  step('token', running, tokenStep),
];
