import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lines } from './marker.js';

/** lines() as first written: a split, a trim per line, a join. The one-pass version must give the same bytes. */
function linesByLine(...parts: (string | false | null | undefined)[]): string {
  const text = parts.filter((p): p is string => typeof p === 'string').join('\n');
  return `${text.split('\n').map((l) => l.replace(/[ \t]+$/, '')).join('\n').replace(/\n+$/, '')}\n`;
}

describe('lines', () => {
  it('trims blanks at the end of each line and ends with exactly one newline', () => {
    expect(lines('a  ', '\tb\t', '', 'c \r ', false, null, undefined, '\n\n')).toBe('a\n\tb\n\nc \r\n');
    expect(lines()).toBe('\n');
    expect(lines(' \n\t')).toBe('\n');
  });

  it('gives the bytes of the line-by-line definition for any text (CR, U+2028 and tabs included)', () => {
    const char = fc.constantFrom(' ', '\t', '\n', '\r', '\u2028', 'a', '#');
    const part = fc.oneof(fc.string({ unit: char, maxLength: 40 }), fc.constantFrom(false as const, null, undefined));
    fc.assert(fc.property(fc.array(part, { maxLength: 6 }), (parts) => lines(...parts) === linesByLine(...parts)), { numRuns: 2000 });
  });
});
