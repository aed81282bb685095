import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { errorResponse, fromLambdaResult, InvalidResultError } from '#local/server.js';
import { json, redirect } from '#shared/http.js';

const text = (b: Buffer) => b.toString('utf8');

describe('Lambda result → HTTP response', () => {
  it('maps a structured result: status, headers, body', () => {
    const r = fromLambdaResult(json(201, { ok: true }, { 'X-Extra': 'y' }));
    expect(r.statusCode).toBe(201);
    expect(r.headers['content-type']).toEqual(['application/json; charset=utf-8']);
    expect(r.headers['x-extra']).toEqual(['y']);
    expect(JSON.parse(text(r.body))).toEqual({ ok: true });
  });

  it('turns each cookie into its own Set-Cookie header', () => {
    const r = fromLambdaResult(redirect('https://example.com/cb', {}, ['a=1; HttpOnly', 'b=2; Secure']));
    expect(r.statusCode).toBe(302);
    expect(r.headers.location).toEqual(['https://example.com/cb']);
    expect(r.headers['set-cookie']).toEqual(['a=1; HttpOnly', 'b=2; Secure']);
  });

  it('adds multiValueHeaders after headers of the same name', () => {
    const r = fromLambdaResult({
      statusCode: 200,
      headers: { Vary: 'a' },
      multiValueHeaders: { vary: ['b', 'c'] },
      body: '',
    });
    expect(r.headers.vary).toEqual(['a', 'b', 'c']);
  });

  it('stringifies number and boolean header values', () => {
    const r = fromLambdaResult({ statusCode: 200, headers: { 'x-n': 3, 'x-b': true } });
    expect(r.headers['x-n']).toEqual(['3']);
    expect(r.headers['x-b']).toEqual(['true']);
    expect(r.body.length).toBe(0);
  });

  it('decodes base64 bodies', () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const r = fromLambdaResult({ statusCode: 200, isBase64Encoded: true, body: bytes.toString('base64') });
    expect(r.body.equals(bytes)).toBe(true);
  });

  it('infers 200 application/json for a result without statusCode', () => {
    const obj = fromLambdaResult({ message: 'hi' });
    expect(obj.statusCode).toBe(200);
    expect(obj.headers['content-type']).toEqual(['application/json']);
    expect(text(obj.body)).toBe('{"message":"hi"}');
    expect(text(fromLambdaResult('Hello from Lambda!').body)).toBe('Hello from Lambda!');
    expect(text(fromLambdaResult([1, 2]).body)).toBe('[1,2]');
    expect(text(fromLambdaResult(42).body)).toBe('42');
    expect(text(fromLambdaResult(undefined).body)).toBe('null');
  });

  it('rejects results API Gateway would answer with 500', () => {
    for (const bad of [
      { statusCode: 'abc' },
      { statusCode: 99 },
      { statusCode: 600 },
      { statusCode: 200.5 },
      { statusCode: 200, body: { not: 'a string' } },
      { statusCode: 200, headers: 'x' },
      { statusCode: 200, cookies: 'a=1' },
      { statusCode: 200, headers: { 'x-evil': 'a\r\nset-cookie: b=2' } },
      { statusCode: 200, headers: { 'bad header': 'x' } },
    ]) {
      expect(() => fromLambdaResult(bad)).toThrow(InvalidResultError);
    }
  });

  it('accepts a numeric string status, as API Gateway does', () => {
    expect(fromLambdaResult({ statusCode: '204' }).statusCode).toBe(204);
  });

  it('maps every valid structured result without loss (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 599 }),
        fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), fc.stringMatching(/^[ -~]{0,20}$/), { maxKeys: 5 }),
        fc.array(fc.stringMatching(/^[a-z]{1,5}=[a-z0-9]{0,5}$/), { maxLength: 3 }),
        fc.string(),
        fc.boolean(),
        (statusCode, generated, cookies, body, b64) => {
          const headers = Object.fromEntries(Object.entries(generated).filter(([k]) => k !== 'set-cookie'));
          const wire = b64 ? Buffer.from(body).toString('base64') : body;
          const r = fromLambdaResult({ statusCode, headers, cookies, body: wire, isBase64Encoded: b64 });
          expect(r.statusCode).toBe(statusCode);
          for (const [k, v] of Object.entries(headers)) expect(r.headers[k]).toEqual([v]);
          expect(r.headers['set-cookie'] ?? []).toEqual(cookies);
          expect(text(r.body)).toBe(body);
        },
      ),
    );
  });

  it("builds error responses in the service's JSON shape", () => {
    const r = errorResponse(405, 'method_not_allowed', 'use POST', { Allow: 'POST' });
    expect(r.headers.allow).toEqual(['POST']);
    expect(JSON.parse(text(r.body))).toEqual({
      error: { status: 405, code: 'method_not_allowed', message: 'use POST' },
    });
  });
});
