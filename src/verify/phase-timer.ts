import type { DrillPhaseEvent } from './types.js';

/**
 * Reports a drill phase's start and its end with the time it took, to the drill's progress (if
 * any): the launcher check, the parts of the long steps (integrity: extract, boot: sync-users …).
 */
export function phaseTimer(onPhase: ((e: DrillPhaseEvent) => void) | undefined) {
  const started = new Map<string, number>();
  return {
    start(name: string) {
      started.set(name, performance.now());
      onPhase?.({ phase: name, state: 'start' });
    },
    end(name: string, outcome: string) {
      const t = started.get(name) ?? performance.now();
      onPhase?.({ phase: name, state: 'end', outcome, ms: Math.round(performance.now() - t) });
    },
  };
}
