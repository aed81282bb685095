/**
 * Clocks for the simulator: the system clock, and a manual clock that tests and
 * benchmarks move forward themselves (rate-limit windows, code expiry and token
 * refresh all read the injected clock).
 */
import type { Clock } from '#core/ports.js';

export const systemClock: Clock = { now: () => Date.now() };

export class ManualClock implements Clock {
  constructor(private current: number = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    this.current += ms;
  }

  set(epochMs: number): void {
    this.current = epochMs;
  }
}
