// The bench's percentile (nearest rank): of 100 values p99 is the 99th, not the largest; small sets clamp.
import { expect, it } from 'vitest';
import { percentile } from '../../bench/stats.js';

it('nearest-rank percentiles', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  expect(percentile(hundred, 99)).toBe(99);
  expect(percentile(hundred, 50)).toBe(50);
  expect(percentile(hundred, 100)).toBe(100);
  expect(percentile(hundred, 0.1)).toBe(1);
  expect(percentile([7], 99)).toBe(7);
  expect(percentile([1, 2, 3], 50)).toBe(2);
  expect(percentile([], 50)).toBeNaN();
});
