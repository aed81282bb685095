/**
 * Random tokens, hashing for storage and constant-time comparison.
 * Secrets of ours are stored only as `hashSecret()` values.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Random } from '#core/ports.js';

export const randomToken = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/** Base64url SHA-256 of a secret, for storage and lookup. */
export const hashSecret = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('base64url');

/** Hex SHA-256 of any string, e.g. content hashes and key material that is not secret. */
/**
 * A short, non-reversible fingerprint of a secret, for log lines: the first 12 characters of its
 * SHA-256 (base64url). Enough to tie the lines of one sign-in together; useless to replay.
 */
export const fingerprint = (secret: string): string => hashSecret(secret).slice(0, 12);

export const sha256Hex = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

/**
 * Compares two strings in time independent of where they differ. Both sides are
 * hashed first so that their lengths leak nothing either.
 */
export const constantTimeEqual = (a: string, b: string): boolean => {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
};

export const systemRandom: Random = {
  token: randomToken,
  uuid: () => randomUUID(),
  // 48 random bits: every value in [0, 1) is a multiple of 2^-48.
  float: () => randomBytes(6).readUIntBE(0, 6) / 2 ** 48,
};
