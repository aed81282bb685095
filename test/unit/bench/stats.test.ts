import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { median, percentile, ratio } from '../../../bench/stats.js';

describe('bench statistics', () => {
  it('uses the nearest rank', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile(samples, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(median([3, 1, 2])).toBe(2);
    expect(Number.isNaN(percentile([], 50))).toBe(true);
  });

  it('returns a sample, and higher percentiles are never smaller', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, min: 0, max: 1e6 }), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 1, max: 99 }),
        (samples, p) => {
          const a = percentile(samples, p);
          expect(samples).toContain(a);
          expect(percentile(samples, p + 1)).toBeGreaterThanOrEqual(a);
          expect(samples.filter((s) => s <= a).length / samples.length).toBeGreaterThanOrEqual(p / 100);
        },
      ),
      { seed: 7, numRuns: 300 },
    );
  });

  it('rounds ratios to two decimals', () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(1, 3)).toBe(0.33);
  });
});
