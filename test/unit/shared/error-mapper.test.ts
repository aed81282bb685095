import { describe, expect, it } from '@jest/globals';
import { InvalidClientError, NO_STORE_HEADERS } from '#core/oauth/errors.js';
import { BadRequestError, MethodNotAllowedError } from '#shared/errors.js';
import { type ErrorMode, errorToResult } from '#shared/http.js';

const throttled = Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
const page = (title: string, message: string) => `<h1>${title}</h1><p>${message}</p>`;
const oauth = (codes: string[]): ErrorMode => ({
  kind: 'oauth',
  headers: NO_STORE_HEADERS,
  onError: (c) => codes.push(c),
});
const body = (r: { body?: string | undefined }) => JSON.parse(r.body ?? 'null');

describe('errorToResult, the one error mapper', () => {
  it('json: the AppError body; a generic 500 that reveals nothing; 503 with Retry-After when throttled', () => {
    expect(body(errorToResult(new BadRequestError('no uri')))).toEqual({
      error: { status: 400, code: 'bad_request', message: 'no uri' },
    });
    const crash = errorToResult(new Error('secret detail'));
    expect(crash.statusCode).toBe(500);
    expect(crash.body).not.toContain('secret detail');
    const busy = errorToResult(throttled);
    expect([busy.statusCode, busy.headers?.['retry-after']]).toEqual([503, '1']);
  });

  it('oauth: RFC 6749 bodies with no-store headers, parse errors as invalid_request, metrics per code', () => {
    const codes: string[] = [];
    const client = errorToResult(new InvalidClientError('Client authentication failed', true), oauth(codes));
    expect(client.statusCode).toBe(401);
    expect(body(client)).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed' });
    expect(client.headers).toMatchObject({ ...NO_STORE_HEADERS, 'www-authenticate': expect.stringMatching(/^Basic/) });
    const parse = errorToResult(new BadRequestError('Parameter must not be repeated'), oauth(codes));
    expect([parse.statusCode, body(parse).error]).toEqual([400, 'invalid_request']);
    expect(parse.headers).toMatchObject(NO_STORE_HEADERS);
    const crash = errorToResult(new Error('boom'), oauth(codes));
    expect([crash.statusCode, body(crash)]).toEqual([
      500,
      { error: 'server_error', error_description: 'Internal error' },
    ]);
    const busy = errorToResult(throttled, oauth(codes));
    expect([busy.statusCode, body(busy).error, busy.headers?.['retry-after']]).toEqual([
      503,
      'temporarily_unavailable',
      '1',
    ]);
    expect(codes).toEqual(['invalid_client', 'invalid_request', 'server_error', 'temporarily_unavailable']);
  });

  it('html: a page for each case, never JSON', () => {
    const mode: ErrorMode = { kind: 'html', page };
    for (const [error, status] of [
      [new BadRequestError('bad state'), 400],
      [throttled, 503],
      [new Error('boom'), 500],
    ] as const) {
      const r = errorToResult(error, mode);
      expect(r.statusCode).toBe(status);
      expect(r.headers?.['content-type']).toMatch(/^text\/html/);
      expect(r.body).not.toContain('boom');
    }
  });

  it('acknowledge: 200 for an unreadable request, 405 stays 405, a failure of ours is 503 so the caller retries', () => {
    const mode: ErrorMode = { kind: 'acknowledge' };
    expect(errorToResult(new BadRequestError('not json'), mode).statusCode).toBe(200);
    expect(errorToResult(new MethodNotAllowedError(['DELETE']), mode).statusCode).toBe(405);
    const failed = errorToResult(new Error('storage down'), mode);
    expect([failed.statusCode, failed.headers?.['retry-after']]).toEqual([503, '1']);
    expect(failed.body).not.toContain('storage down');
    expect(errorToResult(throttled, mode).statusCode).toBe(503);
  });
});
