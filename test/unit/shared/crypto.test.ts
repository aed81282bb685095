import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { constantTimeEqual, hashSecret, randomToken, systemRandom } from '#shared/crypto.js';
import { filesMatching } from '#test/helpers/source-tree.js';

describe('crypto helpers', () => {
  it('constantTimeEqual agrees with === for any pair of strings', () => {
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => constantTimeEqual(a, b) === (a === b)));
  });

  it('is the one constant-time comparison in the tree', () => {
    // Every secret comparison goes through constantTimeEqual: nothing else calls timingSafeEqual
    // or defines a comparison of its own.
    expect(filesMatching(/\btimingSafeEqual\b/)).toEqual(['functions/shared/crypto.ts']);
    expect(filesMatching(/\b(const|function)\s+(constantTimeEqual|safeEqual|sameSecret|timingSafe\w*)\b/)).toEqual([
      'functions/shared/crypto.ts',
    ]);
  });

  it('hashSecret is deterministic, URL-safe and does not contain the secret', () => {
    const secret = randomToken();
    expect(hashSecret(secret)).toBe(hashSecret(secret));
    expect(hashSecret(secret)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(hashSecret(secret)).not.toContain(secret);
  });

  it('randomToken carries the requested entropy', () => {
    expect(Buffer.from(randomToken(32), 'base64url')).toHaveLength(32);
    expect(randomToken()).not.toBe(randomToken());
  });

  it('systemRandom.float stays in [0, 1) and spreads over it', () => {
    const values = Array.from({ length: 2_000 }, () => systemRandom.float());
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    // Each tenth of the interval holds some of 2,000 uniform draws (a miss has probability < 10 × 0.9^2000).
    const tenths = new Set(values.map((v) => Math.floor(v * 10)));
    expect(tenths.size).toBe(10);
  });
});
