/**
 * Bad input never causes a 500, a stack trace or a redirect to an unvalidated
 * URL: fast-check drives the real middy stacks with arbitrary queries and bodies.
 */
import { describe, expect, it } from '@jest/globals';
import type { Context } from 'aws-lambda';
import fc from 'fast-check';
import { MemoryAuthStateStore, MemoryConnectionStore } from '#adapters/memory/index.js';
import { httpEvent } from '#test/helpers/factories.js';
import {
  AUTHORIZE_QUERY_KEYS,
  authorizeDependencies,
  CLIENT_ID,
  FakeClock,
  NOTION_REDIRECT,
  tokenDependencies,
} from '#test/unit/oauth/fakes.js';
import { createAuthorizeHandler } from '../../../functions/handlers/oauth-authorize.js';
import { createTokenHandler } from '../../../functions/handlers/oauth-token.js';

const context = {} as Context;
type Result = { statusCode: number; headers?: Record<string, unknown>; body?: string };

const authorize = createAuthorizeHandler(() => authorizeDependencies());

const token = createTokenHandler(() =>
  tokenDependencies({
    authState: new MemoryAuthStateStore(),
    connections: new MemoryConnectionStore(),
    clock: new FakeClock(),
  }),
);

const KEYS = [...AUTHORIZE_QUERY_KEYS, 'x'];
const value = fc.oneof(
  fc.string(),
  fc.constant(CLIENT_ID),
  fc.constant(NOTION_REDIRECT),
  fc.constant('code'),
  fc.webUrl(),
);
const pairs = fc.array(fc.tuple(fc.constantFrom(...KEYS), value), { maxLength: 10 });

describe('bad input', () => {
  it('GET /oauth/authorize: never a 500; a redirect only to the upstream provider or an allowed redirect_uri', async () => {
    await fc.assert(
      fc.asyncProperty(pairs, async (list) => {
        const query = new URLSearchParams(list).toString();
        const r = (await authorize(httpEvent({ path: '/oauth/authorize', query }), context)) as Result;
        expect(r.statusCode).toBeLessThan(500);
        if (r.statusCode === 302) {
          const location = String(r.headers?.location);
          expect(
            location.startsWith('https://idp.example/authorize?') || location.startsWith(`${NOTION_REDIRECT}?`),
          ).toBe(true);
        } else {
          expect(r.headers?.['content-type']).toMatch(/text\/html/);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('GET /oauth/callback and POST /oauth/consent: arbitrary input gets an HTML page, never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(pairs, fc.string(), fc.string({ maxLength: 300 }), async (list, cookie, body) => {
        const callback = (await authorize(
          httpEvent({
            path: '/oauth/callback',
            query: new URLSearchParams(list).toString(),
            cookies: [`nlp_oauth_pending=${encodeURIComponent(cookie)}`],
          }),
          context,
        )) as Result;
        expect(callback.statusCode).toBeLessThan(500);
        const consent = (await authorize(
          httpEvent({
            method: 'POST',
            path: '/oauth/consent',
            body,
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          }),
          context,
        )) as Result;
        expect(consent.statusCode).toBeLessThan(500);
        expect(consent.headers?.['content-type']).toMatch(/text\/html/);
      }),
      { numRuns: 150 },
    );
  });

  it('POST /oauth/token: arbitrary bodies get an RFC 6749 error (or tokens), never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 400 }),
        fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain', ''),
        fc.option(fc.string()),
        async (body, contentType, authorization) => {
          const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
          if (authorization !== null) headers.authorization = authorization;
          const r = (await token(
            httpEvent({ method: 'POST', path: '/oauth/token', body, headers }),
            context,
          )) as Result;
          expect(r.statusCode).toBeLessThan(500);
          const parsed = JSON.parse(r.body ?? '{}') as Record<string, unknown>;
          expect(typeof parsed.error).toBe('string');
          expect(r.headers?.['cache-control']).toBe('no-store');
        },
      ),
      { numRuns: 200 },
    );
  });
});
