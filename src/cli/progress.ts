import { createRequire } from 'node:module';
import type cliProgressTypes from 'cli-progress';
import { formatBytes } from '../units.js';
import type { DrillPhaseEvent as PhaseEvent } from '../verify/types.js';

/**
 * A byte counter on stderr for large artifacts, only on a terminal; silent otherwise (cron,
 * CI, pipes) so logs stay clean.
 */
export function progressReporter(enabled: boolean, total?: (artifact: string) => number | undefined) {
  const tty = enabled && process.stderr.isTTY === true;
  let bar: cliProgressTypes.SingleBar | undefined;
  let current = '';
  const MIN = 8 * 1024 * 1024;
  return {
    update(artifact: string, bytes: number) {
      if (!tty) return;
      if (artifact !== current) {
        bar?.stop();
        bar = undefined;
        current = artifact;
      }
      if (!bar && bytes >= MIN) {
        const cliProgress = loadCliProgress();
        const t = total?.(artifact);
        bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: `${artifact} {bar} {mib} MiB${t ? ' / {totalMib} MiB' : ''}`,
            hideCursor: true,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(t ?? bytes * 2, bytes, { mib: 0, totalMib: t ? (t / 1048576).toFixed(0) : '' });
      }
      if (bar) {
        if (!total?.(artifact) && bytes > bar.getTotal()) bar.setTotal(bytes * 2);
        bar.update(bytes, { mib: (bytes / 1048576).toFixed(0) });
      }
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}

/**
 * Loaded at the first bar: its 17 modules cost ~10 ms of every command's start-up, and most runs
 * (cron, CI, --json, a pipe) never draw one. A CommonJS package, so it can be required in place.
 */
function loadCliProgress(): typeof cliProgressTypes {
  return createRequire(import.meta.url)('cli-progress') as typeof cliProgressTypes;
}

/**
 * The drill's phases on stderr. Not on a terminal (cron, CI, a pipe): one plain line when a phase
 * starts and one when it ends, so a log shows where a long drill is. On a terminal: the same
 * lines for finished phases above a live line (the running phase, its elapsed seconds, the MiB
 * of the artifact being extracted). `topLevel` is how many top-level phases there are (the step
 * counter); a phase named "step: part" is part of a step.
 */
export function phaseReporter(topLevel: number, stream: NodeJS.WriteStream = process.stderr) {
  const tty = stream.isTTY === true;
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const line = (e: PhaseEvent): string | undefined =>
    e.state === 'start'
      ? `drill ${e.phase}: started`
      : e.state === 'end'
        ? `drill ${e.phase}: ${e.outcome} (${seconds(e.ms)})`
        : undefined;
  if (!tty) {
    return {
      onPhase(e: PhaseEvent) {
        const l = line(e);
        if (l) stream.write(`${l}\n`);
      },
      stop() {},
    };
  }
  const cliProgress = loadCliProgress();
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: 'drill [{bar}] {value}/{total} {phase} {info}',
      hideCursor: true,
      clearOnComplete: true,
      barsize: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  const bar = multi.create(topLevel, 0, { phase: 'starting', info: '' });
  let current = 'starting';
  let since = performance.now();
  let bytes = '';
  let done = 0;
  const render = () =>
    bar.update(done, { phase: current, info: bytes || `${Math.floor((performance.now() - since) / 1000)} s` });
  const timer = setInterval(render, 250);
  timer.unref();
  let stopped = false;
  return {
    onPhase(e: PhaseEvent) {
      if (stopped) return;
      if (e.state === 'bytes') {
        if (e.total >= 1048576)
          bytes = `${e.artifact} ${(e.bytes / 1048576).toFixed(0)}/${(e.total / 1048576).toFixed(0)} MiB`;
      } else if (e.state === 'start') {
        current = e.phase;
        since = performance.now();
        bytes = '';
      } else {
        if (!e.phase.includes(':')) done = Math.min(topLevel, done + 1);
        bytes = '';
        multi.log(`${line(e)}\n`);
      }
      render();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      multi.update(); // flushes the finished phases still buffered by log()
      multi.stop();
    },
  };
}

/**
 * Without a terminal (cron, CI, a pipe), one plain line on stderr when an artifact starts and one
 * when all of it was fetched, verified and decrypted; silent on a terminal, where the byte bar
 * shows the same.
 */
export function artifactLines(verb: string, stream: NodeJS.WriteStream = process.stderr) {
  const started = new Set<string>();
  const done = new Set<string>();
  return (artifact: string, bytes: number, total: number) => {
    if (stream.isTTY === true) return;
    if (!started.has(artifact)) {
      started.add(artifact);
      stream.write(`${verb} ${artifact}: started (${formatBytes(total)})\n`);
    }
    if (bytes >= total && !done.has(artifact)) {
      done.add(artifact);
      stream.write(`${verb} ${artifact}: fetched and decrypted\n`);
    }
  };
}
