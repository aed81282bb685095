/** Small statistics helpers for the benchmark. */

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export const percentile = (samples: readonly number[], p: number): number => {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
};

export const median = (samples: readonly number[]): number => percentile(samples, 50);

export const round = (value: number, digits = 3): number => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

export const ratio = (value: number, baseline: number): number => round(value / baseline, 2);
