/**
 * The RateLimitStore contract, run against the in-memory adapter (unit tier)
 * and the DynamoDB adapter on dynalite (integration tier).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { BucketPolicy, RateLimitStore } from '#core/ports.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const policy: BucketPolicy = { capacity: 5, periodMs: 1000 };

export const rateLimitStoreContract = (name: string, store: () => RateLimitStore): void => {
  describe(`${name} (RateLimitStore contract)`, () => {
    it('grants a full bucket, then refuses with the time until the next token', async () => {
      const key = `conn:${randomUUID()}`;
      const results = [];
      for (let i = 0; i < 6; i++) results.push(await store().take(key, policy, T0));
      expect(results.slice(0, 5)).toEqual([4, 3, 2, 1, 0].map((remaining) => ({ allowed: true, remaining })));
      expect(results[5]).toEqual({ allowed: false, retryAfterMs: 200 });
    });

    it('refills at capacity per period, never above capacity', async () => {
      const key = `conn:${randomUUID()}`;
      for (let i = 0; i < 5; i++) await store().take(key, policy, T0);
      expect((await store().take(key, policy, T0 + 199)).allowed).toBe(false);
      expect(await store().take(key, policy, T0 + 200)).toEqual({ allowed: true, remaining: 0 });
      let granted = 0;
      for (let i = 0; i < 10; i++) if ((await store().take(key, policy, T0 + 3_600_000)).allowed) granted++;
      expect(granted).toBe(5);
    });

    it('never over-grants under 20 concurrent takers', async () => {
      const key = `conn:${randomUUID()}`;
      const results = await Promise.all(Array.from({ length: 20 }, () => store().take(key, policy, T0)));
      expect(results.filter((r) => r.allowed)).toHaveLength(5);
      const remaining = results.flatMap((r) => (r.allowed ? [r.remaining] : [])).sort();
      expect(remaining).toEqual([0, 1, 2, 3, 4]);
      expect((await store().take(key, policy, T0)).allowed).toBe(false);
    });

    it('grants only what refilled between rounds of concurrent takers', async () => {
      const key = `conn:${randomUUID()}`;
      let granted = 0;
      for (const now of [T0, T0 + 200, T0 + 400, T0 + 1000]) {
        const round = await Promise.all(Array.from({ length: 10 }, () => store().take(key, policy, now)));
        granted += round.filter((r) => r.allowed).length;
      }
      // 5 at once, then one per 200 ms: 1 + 1 + 3 more by T0 + 1000.
      expect(granted).toBe(10);
    });

    it('charges a cost and keeps buckets apart', async () => {
      const a = `conn:${randomUUID()}`;
      const b = `conn:${randomUUID()}`;
      expect(await store().take(a, policy, T0, 3)).toEqual({ allowed: true, remaining: 2 });
      expect(await store().take(a, policy, T0, 3)).toEqual({ allowed: false, retryAfterMs: 200 });
      expect(await store().take(b, policy, T0, 5)).toEqual({ allowed: true, remaining: 0 });
    });

    it('rejects a cost larger than the bucket and a meaningless policy', async () => {
      await expect(store().take('k', policy, T0, 6)).rejects.toThrow(RangeError);
      await expect(store().take('k', { capacity: 0, periodMs: 1000 }, T0)).rejects.toThrow(RangeError);
    });

    it('pauses a key until a time, never shortening an existing pause', async () => {
      const key = `workspace:${randomUUID()}`;
      expect(await store().pausedUntil(key, T0)).toBeUndefined();
      await store().pause(key, T0 + 30_000);
      expect(await store().pausedUntil(key, T0)).toBe(T0 + 30_000);
      await store().pause(key, T0 + 10_000);
      expect(await store().pausedUntil(key, T0 + 1)).toBe(T0 + 30_000);
      await store().pause(key, T0 + 60_000);
      expect(await store().pausedUntil(key, T0 + 2)).toBe(T0 + 60_000);
      expect(await store().pausedUntil(key, T0 + 60_000)).toBeUndefined();
    });
  });
};
