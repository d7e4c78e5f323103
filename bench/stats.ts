// Percentiles for the bench's figures, one definition for every part.

/**
 * The nearest-rank percentile `p` (0-100] of `sorted` (ascending): the smallest value that at least p% of the
 * values are at or below. Of 100 values, p99 is the 99th (the largest is p100, printed as max).
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}
