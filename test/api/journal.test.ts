// One conformance suite for every Journal (the runner's resume memory): in memory, the CLI's JSON file, and the
// service's SQLite table. The persistent ones must also survive being reopened — what resume after kill -9 needs.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store } from '../../src/api/store.js';
import { FileJournal, MemoryJournal, type Journal, type StepRecord } from '../../src/runner/journal.js';

interface Impl {
  name: string;
  /** a fresh journal, and (for persistent ones) a way to open it again */
  make(): { journal: Journal; reopen?: () => Journal; close?: () => void };
}

const rec = (status: StepRecord['status'], seq: number): StepRecord => ({ status, fingerprint: `fp${seq}`, changedSeq: seq, completedSeq: seq, durationMs: seq * 10 });

const impls: Impl[] = [
  { name: 'MemoryJournal', make: () => ({ journal: new MemoryJournal() }) },
  {
    name: 'FileJournal',
    make: () => {
      const file = join(mkdtempSync(join(tmpdir(), 'journal-')), 'j.json');
      return { journal: new FileJournal(file), reopen: () => new FileJournal(file) };
    },
  },
  {
    name: 'SqliteJournal',
    make: () => {
      const file = join(mkdtempSync(join(tmpdir(), 'journal-')), 'db.sqlite');
      const stores: Store[] = [];
      const open = () => {
        const s = new Store(file);
        stores.push(s);
        if (!s.get('c1')) s.insertCluster({ id: 'c1', name: 'c1', executor: 'dry-run', specInput: {}, warnings: [] });
        return s.journal('c1');
      };
      return { journal: open(), reopen: open, close: () => stores.forEach((s) => s.close()) };
    },
  },
];

describe.each(impls)('$name', (impl) => {
  it('get/put/all: records by step id, overwrite', () => {
    const { journal: j, close } = impl.make();
    expect(j.get('a')).toBeUndefined();
    expect(j.all()).toEqual({});
    j.put('a', rec('done', 1));
    j.put('b', { ...rec('failed', 2), error: 'boom' });
    expect(j.get('a')).toEqual(rec('done', 1));
    expect(j.all()).toEqual({ a: rec('done', 1), b: { ...rec('failed', 2), error: 'boom' } });
    j.put('a', rec('skipped', 3));
    expect(j.get('a')!.status).toBe('skipped');
    close?.();
  });

  it('nextSeq increases strictly', () => {
    const { journal: j, close } = impl.make();
    const seqs = Array.from({ length: 5 }, () => j.nextSeq());
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(5);
    close?.();
  });

  it('persists across reopening (when persistent)', () => {
    const { journal: j, reopen, close } = impl.make();
    if (!reopen) return;
    j.put('x', rec('done', 7));
    const last = j.nextSeq();
    const again = reopen();
    expect(again.get('x')).toEqual(rec('done', 7));
    expect(again.nextSeq()).toBeGreaterThan(last);
    close?.();
  });
});

describe('SqliteJournal scoping', () => {
  it('journals of different installs do not see each other', () => {
    const s = new Store(join(mkdtempSync(join(tmpdir(), 'journal-')), 'db.sqlite'));
    for (const id of ['a', 'b']) s.insertCluster({ id, name: id, executor: 'dry-run', specInput: {}, warnings: [] });
    s.journal('a').put('step', rec('done', 1));
    expect(s.journal('b').get('step')).toBeUndefined();
    expect(s.journal('a').nextSeq()).toBe(1);
    expect(s.journal('b').nextSeq()).toBe(1);
    s.close();
  });
});
