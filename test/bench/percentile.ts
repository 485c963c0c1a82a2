/**
 * The p-quantile of ascending-sorted samples (nearest rank, no interpolation),
 * rounded to 3 decimals as the benchmark tables print it; NaN when there are none.
 *
 * @param sorted - samples in ascending order
 * @param p - 0..1, e.g. 0.99
 */
export function percentile(sorted: readonly number[], p: number): number {
  const value = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
  return value === undefined ? NaN : Number(value.toFixed(3));
}
