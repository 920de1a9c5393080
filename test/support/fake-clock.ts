// A discrete-event clock for the agent: sleeps register wake-ups in virtual time; the driver
// advances to the earliest one only once every loop of the agent is asleep, so days of schedule
// pass in milliseconds without a loop missing a slot because the test ran ahead of it.
import type { Clock } from '../../src/agent/clock.js';

interface Sleeper {
  at: number;
  wake: () => void;
}

export class FakeClock implements Clock {
  private t: number;
  private sleepers: Sleeper[] = [];
  constructor(start: Date) {
    this.t = start.getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const onAbort = () => s.wake();
      const s: Sleeper = {
        at: this.t + Math.max(0, ms),
        wake: () => {
          this.sleepers = this.sleepers.filter((x) => x !== s);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.sleepers.push(s);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
  get asleep(): number {
    return this.sleepers.length;
  }

  /** Advances virtual time to `end`, waking sleepers in order, each time after `loops` of them are asleep. */
  async runUntil(end: Date, loops: number, idleTimeoutMs = 20_000): Promise<void> {
    for (;;) {
      const deadline = Date.now() + idleTimeoutMs;
      while (this.sleepers.length < loops) {
        if (Date.now() > deadline) throw new Error(`only ${this.sleepers.length} of ${loops} loops went to sleep`);
        await new Promise((r) => setImmediate(r));
      }
      const next = Math.min(...this.sleepers.map((s) => s.at));
      if (next > end.getTime()) {
        this.t = end.getTime();
        return;
      }
      this.t = Math.max(this.t, next);
      for (const s of this.sleepers.filter((x) => x.at <= this.t)) s.wake();
    }
  }
}
