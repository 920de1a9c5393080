import type { Command } from 'commander';
import type { JobDeps } from '../agent/jobs.js';
import { JOB_NAMES } from '../config/schema.js';
import { onStopRequest } from '../platform/lifecycle.js';
import { summaryLine } from '../report/views.js';
import { runCheckCommand } from './check.js';
import { action, configFor, globals, loggerFor, storageFor } from './common.js';

/** The use cases that live with their commands, lent to the agent's job table. */
export function commandJobs(): JobDeps {
  return {
    runCheck: async (configPath) => {
      // Recorded in the evidence chain like every `barysafe check` run.
      const r = await runCheckCommand({ config: configPath, format: 'json', record: true });
      const unrecorded = r.evidence && 'error' in r.evidence ? `; not in the evidence chain: ${r.evidence.error}` : '';
      return {
        exitCode: r.exitCode,
        counts: r.report ? { ...r.report.summary } : {},
        line: (r.report ? summaryLine(r.report) : 'no report') + unrecorded,
      };
    },
    runForget: async (ctx) => (await import('./forget.js')).forgetJob(ctx.config, ctx.storage, ctx.logger),
  };
}

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description(
      'run backup, verify, drill, check and forget on the [schedule] of barysafe.toml, with metrics, heartbeats, notifications and a status page',
    )
    .option('--once', 'run every job that is due now, then exit (for cron, systemd timers, Kubernetes CronJobs)')
    .option('--run-now <job>', `run one job now and exit with its exit code (${JOB_NAMES.join(', ')})`)
    .action(
      action(async (flags: { once?: boolean; runNow?: string }, cmd: Command) => {
        // The agent's modules (prom-client, croner, nodemailer) load only for this command.
        const [{ Agent }, { Healthchecks }, { jobTable }, { Notifications }, { startListener }] = await Promise.all([
          import('../agent/agent.js'),
          import('../agent/heartbeat.js'),
          import('../agent/jobs.js'),
          import('../agent/notify.js'),
          import('../agent/server.js'),
        ]);
        const g = globals(cmd);
        const { config, path: configPath } = await configFor(g);
        const logger = loggerFor(g);
        const storage = storageFor(config);
        const agent = new Agent({
          config,
          configPath,
          logger,
          storage,
          jobs: jobTable(commandJobs()),
          notifier: await Notifications.fromConfig(config, logger),
          heartbeat: Healthchecks.fromConfig(
            config,
            JOB_NAMES.filter((j) => config.schedule[j]),
            logger,
          ),
        });
        await agent.init();
        // SIGTERM: stop starting jobs and let the running one finish within stop_timeout; a second
        // signal exits at once (lifecycle's default path, which also runs the clean-ups).
        const unregister = onStopRequest((sig) => agent.stop(`${sig} received`));
        try {
          if (flags.runNow) return await agent.runNow(flags.runNow);
          if (flags.once) return await agent.runOnce();
          const listener = config.agent.listen
            ? await startListener(config.agent.listen, {
                view: () => agent.view(),
                healthy: () => agent.healthy(),
                logger,
              })
            : undefined;
          if (listener)
            logger.info({ url: listener.url }, `metrics on ${listener.url}/metrics, status page on ${listener.url}/`);
          try {
            await agent.run();
          } finally {
            await listener?.close();
          }
          return 0;
        } finally {
          unregister();
          await storage.close?.();
        }
      }),
    );
}
