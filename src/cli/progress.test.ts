// The terminal's progress lines: a step a cancel cut short reads as interrupted, neither failed nor counted finished.
import { describe, expect, it } from 'vitest';
import { progressPrinter } from './progress.js';

describe('progressPrinter', () => {
  it('prints a failure as FAILED and an interrupted step as interrupted (not counted as finished)', () => {
    let out = '';
    const print = progressPrinter((s) => (out += s));
    print({ type: 'run-started', cluster: 'c', phases: 1, steps: 3 });
    print({ type: 'step-finished', stepId: 'p/h1/a', host: 'h1', changed: true, durationMs: 1200 });
    print({ type: 'step-failed', stepId: 'p/h2/b', host: 'h2', error: 'h2: exit code 1: boom', attempt: 1, willRetry: false, durationMs: 5 });
    print({ type: 'step-failed', stepId: 'p/h3/c', host: 'h3', error: 'h3: command aborted', attempt: 1, willRetry: false, durationMs: 5, interrupted: true });
    print({ type: 'run-finished', ok: false, cancelled: true, changed: 1, skipped: 0, failed: 1, durationMs: 2000 });
    const lines = out.split('\n');
    expect(lines).toContain('[1/3] h1         changed p/h1/a (1.2s)');
    expect(lines).toContain('[2/3] h2         FAILED  p/h2/b: h2: exit code 1: boom');
    expect(lines).toContain('[2/3] h3         interrupted p/h3/c (runs again on resume)');
    expect(out).not.toContain('command aborted');
  });
});
