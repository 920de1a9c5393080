import cliProgress from 'cli-progress';

/**
 * A byte counter on stderr for large artifacts, only on a terminal; silent otherwise (cron,
 * CI, pipes) so logs stay clean.
 */
export function progressReporter(enabled: boolean, total?: (artifact: string) => number | undefined) {
  const tty = enabled && process.stderr.isTTY === true;
  let bar: cliProgress.SingleBar | undefined;
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
