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
