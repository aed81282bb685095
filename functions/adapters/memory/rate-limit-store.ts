/** In-memory RateLimitStore computing exactly what the DynamoDB adapter computes. */
import type { BucketPolicy, RateLimitStore, TakeResult } from '#core/ports.js';
import { type BucketState, decideTake, refill, validatePolicy } from '../dynamo/rules.js';

export class MemoryRateLimitStore implements RateLimitStore {
  private readonly buckets = new Map<string, BucketState>();
  private readonly pauses = new Map<string, number>();

  async take(key: string, policy: BucketPolicy, now: number, cost = 1): Promise<TakeResult> {
    validatePolicy(policy, cost);
    const decision = decideTake(refill(this.buckets.get(key), policy, now), policy, cost);
    if (!decision.allowed) return { allowed: false, retryAfterMs: decision.retryAfterMs };
    this.buckets.set(key, decision.next);
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
}
