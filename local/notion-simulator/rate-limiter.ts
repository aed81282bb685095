/**
 * Notion's rate limits as the simulator applies them (docs/protocol.md
 * §6.3): a fixed budget per window, the window opening with the first request
 * after the previous one closed. Rejected requests do not spend the budget.
 */
import type { Clock } from '#core/ports.js';

export interface RateDecision {
  readonly allowed: boolean;
  /** Whole seconds until the window closes (the `Retry-After` value), at least 1. */
  readonly retryAfterSeconds: number;
  readonly remaining: number;
}

export class FixedWindowLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly clock: Clock,
    private limit: number,
    private windowMs: number,
  ) {}

  configure(limit: number, windowMs: number): void {
    this.limit = limit;
    this.windowMs = windowMs;
    this.windows.clear();
  }

  /** Whether the request may proceed; spends one unit of `key`'s budget when it may. */
  take(key: string): RateDecision {
    return this.check(key, true);
  }

  /** The decision `take` would make, without spending anything. */
  peek(key: string): RateDecision {
    return this.check(key, false);
  }

  private check(key: string, spend: boolean): RateDecision {
    const now = this.clock.now();
    let w = this.windows.get(key);
    if (!w || now >= w.start + this.windowMs || now < w.start) {
      w = { start: now, count: 0 };
      if (spend) this.windows.set(key, w);
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((w.start + this.windowMs - now) / 1000));
    if (w.count >= this.limit) return { allowed: false, retryAfterSeconds, remaining: 0 };
    if (spend) w.count += 1;
    return { allowed: true, retryAfterSeconds, remaining: this.limit - w.count };
  }

  reset(): void {
    this.windows.clear();
  }
}
