import { describe, expect, it } from 'vitest';
import type { Plan, Step } from '../plan/types.js';
import { criticalPath } from './critical-path.js';
import { MemoryJournal } from './journal.js';

const step = (id: string, host: string | null) => ({ id, host }) as unknown as Step;

describe('criticalPath', () => {
  const plan = {
    cluster: 'c',
    phases: [
      { name: 'prepare-os', serial: false, steps: [step('a1', 'a'), step('a2', 'a'), step('b1', 'b')] },
      { name: 'control-planes', serial: true, steps: [step('c1', 'a'), step('c2', 'b')] },
      { name: 'cni', serial: false, steps: [step('n1', null), step('n2', 'b')] },
    ],
  } as unknown as Plan;
  const j = new MemoryJournal();
  const put = (id: string, durationMs: number) => j.put(id, { status: 'done', fingerprint: 'f', changedSeq: 1, completedSeq: 1, durationMs });

  it('adds phases; takes the slowest host of a parallel phase and every host of a serial one; cluster-level steps run on the cluster host', () => {
    put('a1', 100);
    put('a2', 50);
    put('b1', 120);
    put('c1', 300);
    put('c2', 200);
    put('n1', 40);
    put('n2', 30);
    const cp = criticalPath(plan, j, 'a');
    expect(cp.phases).toEqual([
      { phase: 'prepare-os', ms: 150, host: 'a' },
      { phase: 'control-planes', ms: 500, host: null },
      { phase: 'cni', ms: 40, host: 'a' },
    ]);
    expect(cp.ms).toBe(690);
  });

  it('a step the journal does not know (not reached) counts 0', () => {
    const cp = criticalPath(plan, new MemoryJournal(), 'a');
    expect(cp.ms).toBe(0);
  });
});
