// The plan's critical path, measured: how long the install would take if the runner added nothing between steps.
// The runner's order is the plan's dependency order: phases one after another; within a phase each host's steps in
// sequence, hosts side by side (a serial phase: one host after another). So the longest chain of dependent steps is,
// phase by phase, the slowest host's steps added up (all hosts added up in a serial phase), with each step's duration
// as the journal recorded it (a skipped step: 0). Install wall time / this = what the runner, probes, retries and
// waits between steps cost (`rehearse` reports it; `npm run bench` measures it).
import type { Plan } from '../plan/types.js';
import type { Journal } from './journal.js';

/**
 * The plan's longest chain of dependent steps as a finished run's journal measured it: the total and each phase's share
 * (with the slowest host).
 */
export interface CriticalPath {
  ms: number;
  phases: { phase: string; ms: number; host: string | null }[];
}

/**
 * How long the install would have taken if the runner added nothing between steps: phase by phase, the slowest host's
 * recorded step durations added up (every host's in a serial phase). Compare with the run's wall time.
 */
export function criticalPath(plan: Plan, journal: Pick<Journal, 'get'>, clusterHost: string): CriticalPath {
  const phases: CriticalPath['phases'] = [];
  for (const phase of plan.phases) {
    const perHost = new Map<string, number>();
    for (const s of phase.steps) {
      const h = s.host ?? clusterHost;
      perHost.set(h, (perHost.get(h) ?? 0) + (journal.get(s.id)?.durationMs ?? 0));
    }
    let ms = 0;
    let host: string | null = null;
    if (phase.serial) for (const v of perHost.values()) ms += v;
    else
      for (const [h, v] of perHost)
        if (v > ms || host === null) {
          ms = v;
          host = h;
        }
    phases.push({ phase: phase.name, ms, host: phase.serial ? null : host });
  }
  return { ms: phases.reduce((n, p) => n + p.ms, 0), phases };
}
