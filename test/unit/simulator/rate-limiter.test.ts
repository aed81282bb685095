import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ManualClock } from '#local/notion-simulator/clock.js';
import { FixedWindowLimiter } from '#local/notion-simulator/rate-limiter.js';

describe('FixedWindowLimiter (docs/protocol.md §6.3)', () => {
  it('allows 180 requests per 60 s window and answers the rest with the seconds until the window closes', () => {
    const clock = new ManualClock();
    const limiter = new FixedWindowLimiter(clock, 180, 60_000);
    for (let i = 0; i < 180; i += 1) {
      expect(limiter.take('c1').allowed).toBe(true);
      clock.advance(100);
    }
    // 18 s into the window.
    const denied = limiter.take('c1');
    expect(denied).toEqual({ allowed: false, retryAfterSeconds: 42, remaining: 0 });
    expect(limiter.take('c2').allowed).toBe(true);
    clock.advance(42_000);
    expect(limiter.take('c1').allowed).toBe(true);
  });

  it('does not spend budget on peeks or rejected requests', () => {
    const clock = new ManualClock();
    const limiter = new FixedWindowLimiter(clock, 2, 1000);
    expect(limiter.peek('k').allowed).toBe(true);
    limiter.take('k');
    limiter.take('k');
    expect(limiter.take('k').allowed).toBe(false);
    clock.advance(1000);
    expect(limiter.take('k').remaining).toBe(1);
  });

  it('never lets more than the limit through in one window, and Retry-After stays within the window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 120 }),
        fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 300 }),
        (limit, windowSeconds, gaps) => {
          const clock = new ManualClock(0);
          const limiter = new FixedWindowLimiter(clock, limit, windowSeconds * 1000);
          let windowStart = -Infinity;
          let inWindow = 0;
          for (const gap of gaps) {
            clock.advance(gap);
            const d = limiter.take('k');
            expect(d.retryAfterSeconds).toBeGreaterThanOrEqual(1);
            expect(d.retryAfterSeconds).toBeLessThanOrEqual(windowSeconds);
            if (clock.now() >= windowStart + windowSeconds * 1000) {
              windowStart = clock.now();
              inWindow = 0;
            }
            // A model of the fixed window: allowed exactly while the window's budget lasts.
            expect(d.allowed).toBe(inWindow < limit);
            if (d.allowed) inWindow += 1;
            expect(inWindow).toBeLessThanOrEqual(limit);
          }
        },
      ),
    );
  });
});
