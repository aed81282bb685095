import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { constantTimeEqual, hashSecret, randomToken } from '#shared/crypto.js';

describe('crypto helpers', () => {
  it('constantTimeEqual agrees with === for any pair of strings', () => {
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => constantTimeEqual(a, b) === (a === b)));
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
});
