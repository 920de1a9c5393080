import { existsSync } from 'node:fs';
import { errorText } from '../../errors.js';
import { describeExit } from '../../platform/child-process.js';
import type { DrillContext } from '../context.js';
import { pass, type StepOutcome } from '../step-runner.js';

/**
 * Step 8, always run (from `finally`): stop the instance, drop the scratch database (or stop the
 * scratch cluster), remove the scratch directory — then check each is really gone. Anything left
 * behind is an `error` that names it, so the operator can remove it by hand.
 */
export async function teardownStep(ctx: DrillContext, removeScratchDir: () => Promise<void>): Promise<StepOutcome> {
  const done: string[] = [];
  const left: string[] = [];
  if (ctx.instance) {
    try {
      const exit = await ctx.instance.stop();
      if (ctx.instance.running()) left.push(`the scratch instance (pid ${ctx.instance.pid}) is still running`);
      else done.push(`instance stopped (${describeExit(exit)})`);
    } catch (e) {
      left.push(`the scratch instance (pid ${ctx.instance.pid}) could not be stopped: ${errorText(e)}`);
    }
  }
  if (ctx.sandbox) {
    try {
      if (ctx.instance?.pid) ctx.sandbox.release(ctx.instance.pid);
      await ctx.sandbox.close();
    } catch (e) {
      left.push(`the scratch guard could not be stopped: ${errorText(e)}`);
    }
  }
  if (ctx.scratchDb) {
    try {
      done.push(await ctx.scratchDb.drop());
    } catch (e) {
      left.push(`the scratch database ${ctx.scratchDb.display} was not removed: ${errorText(e)}`);
    }
  }
  try {
    await removeScratchDir();
  } catch (e) {
    left.push(`the scratch directory ${ctx.scratchDir}: ${errorText(e)}`);
  }
  if (existsSync(ctx.scratchDir)) left.push(`the scratch directory ${ctx.scratchDir} still exists`);
  else done.push('scratch directory removed');
  const evidence = { removed: done, left };
  if (left.length) return { verdict: 'error', detail: `teardown left: ${left.join('; ')}`, evidence };
  return pass(done.join('; '), evidence);
}
