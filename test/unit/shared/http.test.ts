import { describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { toHttpRequest } from '#shared/http.js';
import { httpEvent } from '#test/helpers/factories.js';

/** Names of Object.prototype members: as parameter names they are ordinary, unknown parameters. */
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);

describe('toHttpRequest with parameters named like Object.prototype members', () => {
  it.each(PROTOTYPE_NAMES)('query parameter %s is read once and not reported as repeated', (name) => {
    const request = toHttpRequest(httpEvent({ query: `${encodeURIComponent(name)}=x&state=s` }));
    expect(request.repeatedQuery).toEqual([]);
    expect(Object.hasOwn(request.query, name)).toBe(true);
    expect(request.query[name]).toBe('x');
    expect(request.query.state).toBe('s');
  });

  it.each(PROTOTYPE_NAMES)('form parameter %s is accepted as an ordinary parameter', (name) => {
    const event = httpEvent({ method: 'POST', form: { [name]: 'x', grant_type: 'refresh_token' } });
    const request = toHttpRequest(event, { accept: ['form'] });
    const body = request.body as Record<string, string>;
    expect(body[name]).toBe('x');
    expect(body.grant_type).toBe('refresh_token');
  });

  it('absent parameters read as undefined, not as inherited members', () => {
    const request = toHttpRequest(httpEvent({ method: 'POST', query: 'a=1', form: { a: '1' }, cookies: ['c=1'] }), {
      accept: ['form'],
    });
    const body = request.body as Record<string, string | undefined>;
    for (const name of PROTOTYPE_NAMES) {
      expect(request.query[name]).toBeUndefined();
      expect(body[name]).toBeUndefined();
      expect(request.cookies[name]).toBeUndefined();
    }
  });

  it('a parameter that really is repeated is still reported', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PROTOTYPE_NAMES, 'state', 'code'), (name) => {
        const q = `${encodeURIComponent(name)}=1&${encodeURIComponent(name)}=2`;
        expect(toHttpRequest(httpEvent({ query: q })).repeatedQuery).toEqual([name]);
        const form = httpEvent({
          method: 'POST',
          body: q,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
        expect(() => toHttpRequest(form, { accept: ['form'] })).toThrow(/must not be repeated/);
      }),
    );
  });
});

describe('a repeated form parameter is named only when its name is a plain parameter name', () => {
  const RANDOM = 'Qx7_k2-PzL0aWvLm2Nf8sTgH1yRb4cDe5FjK6uVw9Xo';
  const repeatedForm = (name: string) =>
    httpEvent({
      method: 'POST',
      body: `${encodeURIComponent(name)}=1&${encodeURIComponent(name)}=2`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  const messageFor = (name: string): string => {
    try {
      toHttpRequest(repeatedForm(name), { accept: ['form'] });
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('not refused');
  };

  it('names grant_type, refresh_token and other protocol names', () => {
    expect(messageFor('grant_type')).toBe('Parameter "grant_type" must not be repeated');
    expect(messageFor('uri')).toBe('Parameter "uri" must not be repeated');
  });

  it('never repeats a name that could be a token or arbitrary text (a JSON body sent as a form)', () => {
    for (const name of [
      `{"refresh_token":"f47ac10b-58cc-4372-a567-0e02b2c3d479.${RANDOM}"}`,
      `f47ac10b-58cc-4372-a567-0e02b2c3d479.${RANDOM}`,
      RANDOM,
      'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl',
      'Qx7k2PzL0aWvLm2Nf8sTgH1yRb4cDe5F',
      'a b',
      'x'.repeat(33),
    ]) {
      const message = messageFor(name);
      expect(message).toBe('A parameter must not be repeated');
    }
  });
});

describe('a base64-encoded body', () => {
  const encoded = (bytes: number) => ({
    ...httpEvent({ method: 'POST', headers: { 'content-type': 'application/json' } }),
    body: Buffer.from(`"${'x'.repeat(bytes - 2)}"`).toString('base64'),
    isBase64Encoded: true,
  });

  it('is decoded when within the limit', () => {
    const request = toHttpRequest(encoded(1024), { maxBodyBytes: 1024 });
    expect(request.body).toBe('x'.repeat(1022));
  });

  it('over the limit is refused 413 before it is decoded', () => {
    const from = jest.spyOn(Buffer, 'from');
    try {
      expect(() => toHttpRequest(encoded(1025), { maxBodyBytes: 1024 })).toThrow(
        expect.objectContaining({ statusCode: 413 }),
      );
      expect(from.mock.calls.filter((args: unknown[]) => args[1] === 'base64')).toEqual([]);
    } finally {
      from.mockRestore();
    }
  });
});
