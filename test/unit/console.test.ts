// The console's pure parts (src/console/: no DOM): the event-stream parser, the install model that applies each
// event once, the remaining-time estimate, times, errors with the cause first, and the two languages.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { time } from '../../src/console/dom.js';
import { LANGS, MESSAGES, pickLang, t, WARNING_TITLES } from '../../src/console/i18n.js';
import { estimateRemaining, InstallModel, splitError, type ClusterDetail, type InstallEvent, type StepView } from '../../src/console/model.js';
import { SseParser } from '../../src/console/sse.js';

describe('SseParser', () => {
  it('assembles messages across arbitrary chunk boundaries, CRLF split included; skips comments; keeps retry', () => {
    const text = 'retry: 2000\r\n\r\n: keep-alive\r\n\r\nid: 1\r\nevent: status\r\ndata: {"a":\r\ndata: 1}\r\n\r\nid: 2\nevent: x\ndata:{"b":2}\n\n';
    for (let cut = 1; cut < text.length; cut++) {
      const p = new SseParser();
      const got = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      expect(got, `cut at ${cut}`).toEqual([
        { id: '1', event: 'status', data: '{"a":\n1}' },
        { id: '2', event: 'x', data: '{"b":2}' },
      ]);
      expect(p.retryMs).toBe(2000);
    }
  });
});

const step = (id: string, phase: string, host: string | null, over: Partial<StepView> = {}): StepView => ({
  id, phase, host, kind: 'run', description: id, readOnly: false, state: 'pending', attempts: 0, startedAt: null, finishedAt: null, durationMs: null, changed: null, reason: null, error: null, ...over,
});
const detail = (steps: StepView[]): ClusterDetail => ({
  id: 'i', name: 'c', status: 'running', phase: null, executor: 'dry-run', createdAt: 't', startedAt: 't', finishedAt: null, createdBy: 'admin', error: null, warnings: [], runs: 1, steps,
});

describe('InstallModel', () => {
  const events: InstallEvent[] = [
    { seq: 1, at: '2026-01-01T00:00:00.000Z', type: 'phase-started', phase: 'p1' },
    { seq: 2, at: '2026-01-01T00:00:00.000Z', type: 'step-started', stepId: 'a1', attempt: 1 },
    { seq: 3, at: '2026-01-01T00:00:00.100Z', type: 'step-output', stepId: 'a1', text: 'hello\n' },
    { seq: 4, at: '2026-01-01T00:00:00.200Z', type: 'step-finished', stepId: 'a1', changed: true, durationMs: 200 },
    { seq: 5, at: '2026-01-01T00:00:00.200Z', type: 'step-skipped', stepId: 'b1', reason: 'probe' },
    { seq: 6, at: '2026-01-01T00:00:00.300Z', type: 'step-failed', stepId: 'c1', error: 'x', willRetry: true, attempt: 1 },
    { seq: 7, at: '2026-01-01T00:00:00.400Z', type: 'step-failed', stepId: 'c1', error: 'h: exit code 2: boom', command: 'sh -c boom', willRetry: false, attempt: 2, durationMs: 5 },
    { seq: 8, at: '2026-01-01T00:00:00.500Z', type: 'phase-finished', phase: 'p1', ok: false, durationMs: 500 },
    { seq: 9, at: '2026-01-01T00:00:00.500Z', type: 'status', status: 'failed', reason: 'c1 on h: boom' },
  ];
  const fresh = () => new InstallModel(detail([step('a1', 'p1', 'h1'), step('b1', 'p1', 'h2'), step('c1', 'p1', null), step('d1', 'p2', 'h1')]));

  it('applies each event once: a replay after a reconnect changes nothing and counts nothing', () => {
    const m = fresh();
    for (const e of events.slice(0, 5)) expect(m.apply(e)).toBe(true);
    // the reconnect replays from an older point (events 3..9): 3..5 are dropped, 6..9 applied
    const applied = events.slice(2).map((e) => m.apply(e));
    expect(applied).toEqual([false, false, false, true, true, true, true]);
    expect(m.applied).toBe(9);
    expect(m.lastSeq).toBe(9);
    expect(m.step('a1')!.output).toEqual(['hello\n']);
    expect(m.status).toBe('failed');
    expect(m.finishedAt).toBe('2026-01-01T00:00:00.500Z');
    // a resume: running again, not finished
    m.apply({ seq: 10, at: '2026-01-01T00:01:00.000Z', type: 'status', status: 'running' });
    expect([m.status, m.finishedAt, m.reason]).toEqual(['running', null, null]);
  });

  it('shows states per cell, cluster steps in their own column, phase times and progress', () => {
    const m = fresh();
    events.forEach((e) => m.apply(e));
    expect(m.hosts).toEqual(['h1', 'h2', '']);
    expect(m.cell('p1', 'h1')).toEqual({ total: 1, counts: { changed: 1 }, state: 'changed' });
    expect(m.cell('p1', 'h2')).toEqual({ total: 1, counts: { probe: 1 }, state: 'probe' });
    expect(m.cell('p1', '')).toEqual({ total: 1, counts: { failed: 1 }, state: 'failed' });
    expect(m.cell('p2', 'h2')).toEqual({ total: 0, counts: {}, state: null });
    expect(m.step('c1')).toMatchObject({ state: 'failed', command: 'sh -c boom', attempts: 2 });
    expect(m.phaseTimes.get('p1')).toEqual({ startedAt: '2026-01-01T00:00:00.000Z', durationMs: 500, ok: false });
    expect(m.progress()).toEqual({ total: 4, finished: 2, failed: 1, interrupted: 0 });
    expect(m.remaining(0)).toBeNull(); // not running any more
  });

  it('a step the cancel cut short is interrupted, not failed; the resume runs it again', () => {
    const m = fresh();
    m.apply({ seq: 1, at: '2026-01-01T00:00:00.000Z', type: 'step-started', stepId: 'a1', attempt: 1 });
    m.apply({ seq: 2, at: '2026-01-01T00:00:00.100Z', type: 'step-failed', stepId: 'a1', error: 'h1: command aborted', willRetry: false, attempt: 1, durationMs: 100, interrupted: true });
    m.apply({ seq: 3, at: '2026-01-01T00:00:00.100Z', type: 'status', status: 'cancelled', reason: 'cancelled by request' });
    expect(m.step('a1')).toMatchObject({ state: 'interrupted', attempts: 1 });
    expect(m.cell('p1', 'h1')).toEqual({ total: 1, counts: { interrupted: 1 }, state: 'interrupted' });
    expect(m.progress()).toEqual({ total: 4, finished: 0, failed: 0, interrupted: 1 });
    // in a cell, it tells more than pending: what stopped is where the resume goes on
    m.apply({ seq: 4, at: '2026-01-01T00:01:00.000Z', type: 'status', status: 'running', reason: 'resumed by request' });
    expect(m.step('a1')!.state).toBe('interrupted');
    m.apply({ seq: 5, at: '2026-01-01T00:01:00.000Z', type: 'step-started', stepId: 'a1', attempt: 1 });
    expect(m.cell('p1', 'h1').state).toBe('running');
    m.apply({ seq: 6, at: '2026-01-01T00:01:00.200Z', type: 'step-finished', stepId: 'a1', changed: true, durationMs: 200 });
    expect(m.step('a1')).toMatchObject({ state: 'done', error: null });
    expect(m.progress()).toEqual({ total: 4, finished: 1, failed: 0, interrupted: 0 });
  });
});

describe('estimateRemaining', () => {
  const done = (id: string, ms: number, kind = 'run') => step(id, 'p0', 'h1', { state: 'done', durationMs: ms, kind, changed: true });
  it('median per kind, hosts side by side, serial phases one host after another, minus what a running step spent', () => {
    const steps = [
      done('d1', 100), done('d2', 200), done('d3', 300), done('w1', 1000, 'write'),
      step('a', 'p1', 'h1'), step('b', 'p1', 'h1'), step('c', 'p1', 'h2', { kind: 'write' }),
      step('e', 'p2', 'h1'), step('f', 'p2', 'h2'),
      step('g', 'p3', 'h1', { state: 'running', startedAt: new Date(10_000).toISOString() }),
      step('x', 'p3', 'h2', { kind: 'unknown-kind' }),
    ];
    // p1: max(h1 200+200, h2 1000) = 1000; p2 serial: 200+200 = 400; p3: max(h1 200-50, h2 all-median 250) = 250
    expect(estimateRemaining(steps, new Set(['p2']), 10_050)).toEqual({ ms: 1650, basis: 4 });
  });
  it('an interrupted step costs its whole median again (a resume starts it from the beginning)', () => {
    const steps = [done('d1', 100), done('d2', 100), done('d3', 100), step('i', 'p1', 'h1', { state: 'interrupted', startedAt: new Date(0).toISOString() })];
    expect(estimateRemaining(steps, new Set(), 50)).toEqual({ ms: 100, basis: 3 });
  });
  it('no estimate from fewer than 3 finished steps; skipped steps are no basis', () => {
    expect(estimateRemaining([done('d1', 1), done('d2', 1), step('s', 'p0', 'h', { state: 'skipped', durationMs: 0 }), step('a', 'p1', 'h')], new Set(), 0)).toBeNull();
  });
});

describe('time', () => {
  it('the local clock, the same in both languages; none for no time', () => {
    expect(time(new Date(2026, 0, 2, 3, 4, 5).toISOString())).toBe('2026-01-02 03:04:05');
    expect(time(new Date(2026, 11, 31, 23, 59, 9).toISOString())).toBe('2026-12-31 23:59:09');
    expect(time(null)).toBe('—');
  });
});

describe('splitError', () => {
  it('puts the cause first, then host and exit code; the command stays out', () => {
    expect(splitError("master2: exit code 3: modprobe: FATAL: Module br_netfilter not found (running `sh -c 'set -e…`)")).toEqual({
      cause: 'modprobe: FATAL: Module br_netfilter not found',
      host: 'master2',
      exitCode: 3,
    });
    expect(splitError('the install did not finish')).toEqual({ cause: 'the install did not finish', host: null, exitCode: null });
  });
});

describe('languages', () => {
  it('every message in both languages, with the same placeholders, none empty', () => {
    const keys = Object.keys(MESSAGES.en);
    for (const lang of LANGS) expect(Object.keys(MESSAGES[lang]).sort()).toEqual([...keys].sort());
    const holes = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const k of keys as (keyof typeof MESSAGES.en)[]) {
      expect(MESSAGES.zh[k].length, k).toBeGreaterThan(0);
      expect(holes(MESSAGES.zh[k]), k).toEqual(holes(MESSAGES.en[k]));
    }
    expect(t('zh', 'install.stepsOf', { done: 3, total: 9 })).toBe('已完成 3 / 9 个步骤');
  });

  it('picks the language from the browser\'s preferences (Accept-Language q-values too), English otherwise', () => {
    expect(pickLang(['zh-CN', 'en'])).toBe('zh');
    expect(pickLang(['de-DE', 'zh-TW'])).toBe('zh');
    expect(pickLang(['fr'])).toBe('en');
    expect(pickLang('en;q=0.5, zh-CN;q=0.9')).toBe('zh');
    expect(pickLang('zh;q=0, en')).toBe('en');
    expect(pickLang('')).toBe('en');
  });

  it('every warning code the validator can emit has a title in both languages', () => {
    const dir = join(import.meta.dirname, '../../src/spec');
    const source = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
    // warn(path, 'code', message) in validate.ts; issue('', 'checks_skipped', ...) warnings in load.ts
    const codes = new Set([...source.matchAll(/\bwarn\((?:\[[^\]]*\]|\w+\([^)]*\)|\w+), '([a-z][a-z0-9_]*)'/g)].map((m) => m[1]!));
    codes.add('checks_skipped');
    expect(codes.size).toBeGreaterThan(15);
    for (const c of codes) for (const lang of LANGS) expect(WARNING_TITLES[c]?.[lang], `${c} ${lang}`).toBeTruthy();
  });
});
