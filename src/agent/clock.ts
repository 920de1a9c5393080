/**
 * Time as the agent sees it, injectable so tests can run days of schedule in milliseconds (and in
 * a chosen time zone) without touching the process clock.
 */
export interface Clock {
  now(): Date;
  /** Resolves after `ms`, or as soon as `signal` aborts (never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/**
 * Waits until `at` in steps of at most a minute, re-reading the clock each time: a suspended host
 * or a clock step (NTP) then delays a run by at most a minute instead of by the whole jump.
 */
export async function sleepUntil(clock: Clock, at: Date, signal?: AbortSignal): Promise<void> {
  for (;;) {
    if (signal?.aborted) return;
    const left = at.getTime() - clock.now().getTime();
    if (left <= 0) return;
    await clock.sleep(Math.min(left, 60_000), signal);
  }
}
