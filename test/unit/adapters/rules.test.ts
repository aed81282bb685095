import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  type BucketState,
  bucketFullAt,
  compareKeys,
  decideTake,
  decodeCursor,
  encodeCursor,
  MAX_SORT_KEY_BYTES,
  refill,
  subscriptionSortKey,
} from '#adapters/dynamo/rules.js';

describe('token bucket rules', () => {
  const policyArb = fc.record({
    capacity: fc.integer({ min: 1, max: 600 }),
    periodMs: fc.integer({ min: 1, max: 120_000 }),
  });

  it('never grants more than capacity plus what the elapsed time refilled', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 1, max: 3 })), { maxLength: 200 }),
        (policy, steps) => {
          let state: BucketState | undefined;
          let now = 1_000_000;
          const start = now;
          let granted = 0;
          for (const [advance, rawCost] of steps) {
            now += advance;
            const cost = Math.min(rawCost, policy.capacity);
            const d = decideTake(refill(state, policy, now), policy, cost);
            if (d.allowed) {
              granted += cost;
              state = d.next;
              expect(d.next.tokens).toBeGreaterThanOrEqual(0);
              expect(d.next.tokens).toBeLessThanOrEqual(policy.capacity);
            } else {
              expect(d.retryAfterMs).toBeGreaterThan(0);
            }
          }
          const allowance = policy.capacity + ((now - start) * policy.capacity) / policy.periodMs;
          expect(granted).toBeLessThanOrEqual(allowance + 1e-6 * steps.length);
        },
      ),
    );
  });

  it('after waiting retryAfterMs, the same take is granted', () => {
    fc.assert(
      fc.property(policyArb, fc.integer({ min: 1, max: 50 }), (policy, taken) => {
        let state: BucketState | undefined;
        const now = 5_000;
        for (let i = 0; i < Math.min(taken, policy.capacity) + 1; i++) {
          const d = decideTake(refill(state, policy, now), policy, 1);
          if (!d.allowed) {
            const later = decideTake(refill(state, policy, now + d.retryAfterMs), policy, 1);
            expect(later.allowed).toBe(true);
            return;
          }
          state = d.next;
        }
      }),
    );
  });

  it('time never runs backwards for a bucket', () => {
    const state = refill({ tokens: 0, at: 10_000 }, { capacity: 10, periodMs: 1000 }, 9_000);
    expect(state).toEqual({ tokens: 0, at: 10_000 });
  });

  it('knows when a bucket is full again', () => {
    expect(bucketFullAt({ tokens: 2, at: 1000 }, { capacity: 5, periodMs: 1000 })).toBe(1600);
  });
});

describe('subscription keys and cursors', () => {
  it('round-trips any sort key through an opaque cursor', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, unit: 'grapheme' }), (sk) => {
        const cursor = encodeCursor(sk);
        expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(decodeCursor(cursor)).toBe(sk);
      }),
    );
  });

  it('rejects cursors it did not make', () => {
    fc.assert(
      fc.property(fc.string(), (junk) => {
        let decoded: string | undefined;
        try {
          decoded = decodeCursor(junk);
        } catch (e) {
          expect(e).toBeInstanceOf(RangeError);
          return;
        }
        expect(encodeCursor(decoded)).toBe(junk.replace(/=+$/, ''));
      }),
    );
  });

  it('orders keys by UTF-8 bytes as DynamoDB does', () => {
    // U+FF61 sorts before U+1F600 in UTF-8 but after it in UTF-16 code units.
    expect(compareKeys('\uFF61', '😀')).toBeLessThan(0);
    expect(compareKeys('a', 'b')).toBeLessThan(0);
  });

  it('makes distinct sort keys for distinct (connection, uri) pairs', () => {
    fc.assert(
      fc.property(
        fc.uuid(),
        fc.uuid(),
        fc.webUrl({ withFragments: true, withQueryParameters: true }),
        fc.webUrl({ withFragments: true }),
        (c1, c2, u1, u2) => {
          fc.pre(c1 !== c2 || u1 !== u2);
          expect(subscriptionSortKey(c1, u1)).not.toBe(subscriptionSortKey(c2, u2));
        },
      ),
    );
    expect(() => subscriptionSortKey('a#b', 'x')).toThrow(RangeError);
  });

  it('keeps every sort key within the 1,024 bytes DynamoDB takes, a uri of up to 2,000 characters in any script', () => {
    const long = fc
      .tuple(
        fc.constantFrom('https://a.example/t/', 'http://b.example/'),
        fc.string({ unit: 'grapheme', maxLength: 1980 }),
      )
      .map(([base, rest]) => `${base}${rest}`.slice(0, 2000));
    fc.assert(
      fc.property(fc.uuid(), long, long, (c, u1, u2) => {
        const k1 = subscriptionSortKey(c, u1);
        expect(Buffer.byteLength(k1, 'utf8')).toBeLessThanOrEqual(MAX_SORT_KEY_BYTES);
        expect(k1.startsWith(`${c}#`)).toBe(true);
        expect(subscriptionSortKey(c, u1)).toBe(k1);
        if (u1 !== u2) expect(subscriptionSortKey(c, u2)).not.toBe(k1);
      }),
    );
    // A key that fits is the uri itself; one that does not is a digest of it.
    const c = '00000000-0000-4000-8000-000000000000';
    expect(subscriptionSortKey(c, 'https://a.example/t/1')).toBe(`${c}#https://a.example/t/1`);
    const near = `https://a.example/${'x'.repeat(1024 - c.length - 1 - 18)}`;
    expect(subscriptionSortKey(c, near)).toBe(`${c}#${near}`);
    expect(subscriptionSortKey(c, `${near}x`)).toMatch(new RegExp(`^${c}#sha256:[A-Za-z0-9_-]{43}$`));
    expect(subscriptionSortKey(c, `https://a.example/${'é'.repeat(500)}`)).toMatch(/#sha256:/);
  });
});
