import { describe, expect, it } from 'vitest';
import { deepFreeze, memoByText } from './memo.js';

describe('memoByText', () => {
  it('makes the value once per distinct text, keeps the last `size` texts and no error', () => {
    const made: string[] = [];
    const f = memoByText((t: string) => {
      made.push(t);
      if (t === 'bad') throw new Error('bad text');
      return { length: t.length };
    }, 2);
    const a = f('a');
    expect(f('a')).toBe(a);
    f('bb');
    f('a'); // a used last: bb is the oldest
    f('ccc'); // evicts bb
    expect(f('a')).toBe(a);
    f('bb');
    expect(made).toEqual(['a', 'bb', 'ccc', 'bb']);
    expect(() => f('bad')).toThrow('bad text');
    expect(() => f('bad')).toThrow('bad text');
    expect(made.filter((t) => t === 'bad')).toHaveLength(2);
  });
});

describe('deepFreeze', () => {
  it('freezes objects and arrays all the way down, so a shared parse cannot be changed', () => {
    const v = deepFreeze({ a: [{ b: 1 }], c: { d: 'x' } });
    expect(() => {
      (v.a[0] as { b: number }).b = 2;
    }).toThrow(TypeError);
    expect(() => (v.a as unknown[]).push(1)).toThrow(TypeError);
    expect(Object.isFrozen(v.c)).toBe(true);
    expect(structuredClone(v).a[0]!.b).toBe(1);
    expect(Object.isFrozen(structuredClone(v))).toBe(false);
  });
});
