/** In-memory RateLimitStore computing exactly what the DynamoDB adapter computes. */
import type { BucketPolicy, RateLimitStore, TakeResult } from '#core/ports.js';
import { decideGcra, validatePolicy } from '../dynamo/rules.js';

export class MemoryRateLimitStore implements RateLimitStore {
  /** key → theoretical arrival time (rules.ts, decideGcra). */
  private readonly buckets = new Map<string, number>();
  private readonly pauses = new Map<string, number>();

  async take(key: string, policy: BucketPolicy, now: number, cost = 1): Promise<TakeResult> {
    validatePolicy(policy, cost);
    const decision = decideGcra(this.buckets.get(key), policy, now, cost);
    if (!decision.allowed) return { allowed: false, retryAfterMs: decision.retryAfterMs };
    this.buckets.set(key, decision.tat);
    return { allowed: true, remaining: decision.remaining };
  }

  async pause(key: string, untilMs: number): Promise<void> {
    const current = this.pauses.get(key);
    if (current === undefined || current < untilMs) this.pauses.set(key, untilMs);
  }

  async pausedUntil(key: string, now: number): Promise<number | undefined> {
    const until = this.pauses.get(key);
    return until !== undefined && until > now ? until : undefined;
  }

  async pausedUntilMany(keys: readonly string[], now: number): Promise<ReadonlyMap<string, number>> {
    const found = new Map<string, number>();
    for (const key of keys) {
      const until = await this.pausedUntil(key, now);
      if (until !== undefined) found.set(key, until);
    }
    return found;
  }
}
