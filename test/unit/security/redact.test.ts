import { describe, expect, it } from '@jest/globals';
import { REDACTED, redact, redactingReplacer } from '#shared/redact.js';

const logged = (value: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(value, redactingReplacer));

describe('redaction of log lines', () => {
  it('masks an OAuth code, tokens and secrets under their keys', () => {
    const line = logged({
      code: 'q3Zx8_kP-0aWvLm2',
      access_token: 'a',
      client_secret: 's',
      nested: { refresh_token: 'r' },
    });
    expect(line).toEqual({
      code: REDACTED,
      access_token: REDACTED,
      client_secret: REDACTED,
      nested: { refresh_token: REDACTED },
    });
  });

  it("shows an error's code: system errors, ERR_ codes, SDK exception names and numbers", () => {
    for (const code of [
      'ENOTFOUND',
      'ECONNREFUSED',
      'ERR_INVALID_URL',
      'ConditionalCheckFailedException',
      'TimeoutError',
      429,
    ]) {
      expect(logged({ error: { code } })).toEqual({ error: { code } });
      expect(redact({ code })).toEqual({ code });
    }
  });

  it('still masks a code that only starts like an error code', () => {
    for (const code of [
      'ENOTFOUND-but-longer',
      'Eabc',
      'abcException',
      'ERR_x',
      'plainword',
      'c1b9d0a4-6f1e-4b8e-9a57-3e0c2b7f8d11',
      'kq_Zp3-7hJ2wQ',
    ]) {
      expect(logged({ code })).toEqual({ code: REDACTED });
    }
  });
});

describe("the service's own secrets inside any logged string", () => {
  // Shapes minted in functions/core/oauth: refresh tokens `<connection id>.<random 32 bytes, base64url>`
  // (token.ts), authorization codes and CSRF tokens: 32 random bytes in base64url, 43 characters (consent.ts).
  const RANDOM = 'Qx7_k2-PzL0aWvLm2Nf8sTgH1yRb4cDe5FjK6uVw9Xo';
  const REFRESH = `f47ac10b-58cc-4372-a567-0e02b2c3d479.${RANDOM}`;

  it('masks a refresh token wherever it appears, whole', () => {
    for (const text of [
      REFRESH,
      `Parameter "{"refresh_token":"${REFRESH}"}" must not be repeated`,
      `token=${REFRESH}&x=1`,
      `[${REFRESH}]`,
      `c-1.${RANDOM}`,
    ]) {
      const line = JSON.stringify(logged({ reason: text }));
      expect(line).not.toContain(RANDOM);
      expect(line).not.toContain('f47ac10b-58cc-4372-a567-0e02b2c3d479.');
      expect(line).toContain(REDACTED);
    }
  });

  it('masks an authorization code (43 characters of base64url) standing on its own', () => {
    for (const text of [RANDOM, `code ${RANDOM} was used`, `"${RANDOM}"`, `/x/${RANDOM}?`]) {
      expect(JSON.stringify(logged({ note: text }))).not.toContain(RANDOM);
    }
  });

  it('leaves shorter or longer words, ids and hex digests readable', () => {
    for (const text of [
      'c1b9d0a4-6f1e-4b8e-9a57-3e0c2b7f8d11',
      'a'.repeat(42),
      'a'.repeat(44),
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'connection c-1 ended',
      'https://127.0.0.1:3000/demo/tasks/1',
    ]) {
      expect(logged({ note: text })).toEqual({ note: text });
    }
  });
});

describe('redaction takes time in proportion to the text (no ReDoS)', () => {
  const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LWFsaWNlIn0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg';

  it('still masks a JWT after a space, a quote, `=` or `:`, and at the start', () => {
    for (const text of [JWT, `Bearer ${JWT}`, `"${JWT}"`, `token=${JWT}&x=1`, `jwt:${JWT}.`]) {
      expect(JSON.stringify(logged({ note: text }))).not.toContain('c2lnbmF0dXJlLW9mLXRoZS10b2tlbg');
    }
  });

  it('masks 64 KiB of JWT-like starts without a JWT in well under a second', () => {
    // Each `-eyJ` used to start a scan to the end of the text: 64 KiB took seconds (quadratic).
    for (const text of ['-eyJ'.repeat(16 * 1024), `${'-eyJ'.repeat(16 * 1024)}.aaaaa`, `x${'-eyJa.'.repeat(9000)}`]) {
      const started = performance.now();
      redact({ note: text });
      expect(performance.now() - started).toBeLessThan(250);
    }
  });
});
