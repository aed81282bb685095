import { beforeEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { ResolveOutcome } from '#core/sources/source-adapter.js';
import { validateAttributes } from '#core/unfurl/attributes.js';
import { ROUTES } from '#lib/routes.js';
import { logger } from '#shared/observability.js';
import { httpEvent } from '#test/helpers/factories.js';
import { captureLogs, runLogLevel } from '#test/helpers/output.js';
import { createUnfurlHandler } from '../../../functions/handlers/unfurl.js';
import { bearerFor, clock, context, found, makeConnection, type Result, TASK_URI, unfurlDeps } from './support.js';

let env: ReturnType<typeof unfurlDeps>;
let handler: ReturnType<typeof createUnfurlHandler>;
let bearer: string;

const post = async (body: unknown, auth?: string | null): Promise<Result> => {
  const authorization = auth === undefined ? bearer : auth;
  return (await handler(
    httpEvent({ method: 'POST', path: '/unfurl', body, headers: authorization ? { authorization } : {} }),
    context,
  )) as Result;
};

beforeEach(async () => {
  env = unfurlDeps();
  handler = createUnfurlHandler(() => env.deps);
  const connection = makeConnection('c-1');
  await env.connections.create(connection);
  bearer = await bearerFor(connection);
});

describe('POST /unfurl', () => {
  it('reads the uri from the JSON body only, as lib/routes.ts declares (a uri in the query is not read)', async () => {
    const route = ROUTES.find((r) => r.method === 'POST' && r.path === '/unfurl');
    expect(route?.reads).toEqual({ body: ['uri'] });
    const r = (await handler(
      httpEvent({
        method: 'POST',
        path: '/unfurl',
        query: { uri: TASK_URI },
        body: {},
        headers: { authorization: bearer },
      }),
      context,
    )) as Result;
    expect(r.statusCode).toBe(400);
    expect(env.source.calls).toBe(0);
  });

  it('answers the attributes of a matched uri after exactly one connection read', async () => {
    const r = await post({ uri: TASK_URI });
    expect(r.statusCode).toBe(200);
    const body = JSON.parse(r.body ?? '{}');
    expect(body.uri).toBe(TASK_URI);
    expect(body.operations[0].path).toEqual(['attributes']);
    expect(validateAttributes(body.operations[0].set).ok).toBe(true);
    expect(body.operations[0].set.find((a: { id: string }) => a.id === 'dev').inline.plain_text.value).toBe(
      'Demo Tasks',
    );
    expect(env.reads()).toBe(1);
    expect((await env.subscriptions.listByConnection('c-1')).map((s) => s.uri)).toEqual([TASK_URI]);
  });

  it.each([
    // docs/protocol.md Part A: a missing token is answered like an invalid one.
    ['no header', null, 'Bearer error="invalid_token"'],
    ['basic auth', 'Basic dXNlcjpwYXNz', 'Bearer error="invalid_token"'],
    ['a malformed header', 'Bearer', 'Bearer error="invalid_token"'],
    ['a foreign token', 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln', 'Bearer error="invalid_token"'],
  ])('401 with WWW-Authenticate for %s, and nothing is fetched', async (_label, authorization, challenge) => {
    const r = await post({ uri: TASK_URI }, authorization);
    expect(r.statusCode).toBe(401);
    expect(r.headers?.['www-authenticate']).toBe(challenge);
    expect(JSON.parse(r.body ?? '{}')).toEqual({ error: { status: 401, message: expect.any(String) } });
    expect(env.source.calls).toBe(0);
  });

  it.each([
    ['a connection id over the storage key limit', makeConnection('c'.repeat(3000))],
    ['a connection id of another shape', makeConnection('c/1#x')],
    ['a subject over 255 characters', makeConnection('c-2', 's'.repeat(256))],
  ])('401 for a well-signed token with %s, before any read', async (_label, connection) => {
    const r = await post({ uri: TASK_URI }, await bearerFor(connection));
    expect(r.statusCode).toBe(401);
    expect(r.headers?.['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(env.reads()).toBe(0);
    expect(env.source.calls).toBe(0);
  });

  it('401 once the connection is revoked', async () => {
    await env.connections.end('c-1', { status: 'revoked', reason: 'test', now: clock.now() });
    expect((await post({ uri: TASK_URI })).statusCode).toBe(401);
  });

  it('400 for a body without a uri, never 500', async () => {
    for (const body of [{}, { uri: 5 }, { uri: '' }, [], 'plain text']) {
      const r = await post(body);
      expect(r.statusCode).toBeGreaterThanOrEqual(400);
      expect(r.statusCode).toBeLessThan(500);
    }
    const r = await post({ uri: 5 });
    expect(JSON.parse(r.body ?? '{}').error.message).toBe('Body must be JSON {"uri": "..."}: uri: expected string');
  });

  it('a uri outside every rule gets error 404 with HTTP 200 and no fetch', async () => {
    const r = await post({ uri: 'http://169.254.169.254/latest/meta-data/' });
    expect(r.statusCode).toBe(200);
    expect(JSON.parse(r.body ?? '{}').operations).toEqual([
      { path: ['error'], set: { status: 404, message: expect.any(String) } },
    ]);
    expect(env.source.calls).toBe(0);
  });

  it('forbidden reveals nothing about the resource', async () => {
    env.source.next = async () => found('Top secret plans');
    await post({ uri: TASK_URI });
    env.source.next = async () => ({ outcome: 'forbidden' });
    const r = await post({ uri: TASK_URI });
    expect(r.statusCode).toBe(200);
    expect(r.body).not.toContain('secret');
    expect(JSON.parse(r.body ?? '{}')).toEqual({
      uri: TASK_URI,
      operations: [{ path: ['error'], set: { status: 403, message: 'You do not have access to this content' } }],
    });
    expect(await env.subscriptions.listByConnection('c-1')).toEqual([]);
  });

  it('stale-while-revalidate: the last snapshot with its age when the source is down; 503 without one', async () => {
    await post({ uri: TASK_URI });
    env.source.next = () => new Promise(() => undefined);
    clock.t += 90_000;
    const stale = await post({ uri: TASK_URI });
    expect(stale.statusCode).toBe(200);
    expect(stale.body).toContain('Task one');
    expect(stale.body).toContain('Last updated 1 minute ago');
    const other = await post({ uri: 'http://127.0.0.1:3000/demo/tasks/2' });
    expect(other.statusCode).toBe(503);
    expect(other.headers?.['retry-after']).toBeDefined();
  });

  it("an adapter's answer outside the five outcomes is 503 without a snapshot, never 500, and says why at WARN", async () => {
    const written: string[] = [];
    const restore = captureLogs(written);
    logger.setLogLevel('INFO');
    try {
      env.source.next = async () => ({ outcome: 'error' }) as unknown as ResolveOutcome;
      const r = await post({ uri: TASK_URI });
      expect(r.statusCode).toBe(503);
      expect(JSON.parse(r.body ?? '{}')).toEqual({ error: { status: 503, message: expect.any(String) } });
      env.source.next = async () => {
        throw new TypeError("Cannot read properties of undefined (reading 'title')");
      };
      expect((await post({ uri: TASK_URI })).statusCode).toBe(503);
    } finally {
      restore();
      logger.setLogLevel(runLogLevel());
    }
    const unfurlLines = written
      .join('')
      .split('\n')
      .filter((l) => l.trim().startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.message === 'unfurl');
    expect(unfurlLines).toEqual([
      expect.objectContaining({
        level: 'WARN',
        outcome: 'unavailable',
        connectionId: 'c-1',
        reason: expect.stringContaining('source adapter "scripted" answered no known outcome'),
      }),
      expect.objectContaining({
        level: 'WARN',
        outcome: 'unavailable',
        reason: 'source adapter "scripted" failed: TypeError: Cannot read properties of undefined (reading \'title\')',
      }),
    ]);
  });

  it('never answers 5xx, whatever the body (fuzz)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue(),
          fc.record({ uri: fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.string()) }),
          fc.string(),
        ),
        async (body) => {
          const r = (await handler(
            httpEvent({
              method: 'POST',
              path: '/unfurl',
              body: typeof body === 'string' ? body : JSON.stringify(body),
              headers: { authorization: bearer, 'content-type': 'application/json' },
            }),
            context,
          )) as Result;
          expect([200, 400, 413, 415]).toContain(r.statusCode);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('POST /unfurl: the token is checked before anything about the body', () => {
  const send = (body: string, headers: Record<string, string>) =>
    handler(httpEvent({ method: 'POST', path: '/unfurl', body, headers }), context) as Promise<Result>;
  const BAD_BODIES: Array<[string, string, Record<string, string>]> = [
    ['invalid JSON', '{not json', { 'content-type': 'application/json' }],
    ['another media type', 'uri=x', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['text/plain', 'hello', { 'content-type': 'text/plain' }],
    ['a repeated form field', 'uri=a&uri=b', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['an empty body', '', { 'content-type': 'application/json' }],
  ];

  it.each(BAD_BODIES)('%s without a token: 401 with the invalid_token challenge', async (_label, body, headers) => {
    const r = await send(body, headers);
    expect(r.statusCode).toBe(401);
    expect(r.headers?.['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(JSON.parse(r.body ?? '{}')).toEqual({ error: { status: 401, message: expect.any(String) } });
    expect(env.reads()).toBe(0);
  });

  it.each(BAD_BODIES)('%s with a bad or revoked token: 401 invalid_token', async (_label, body, headers) => {
    const forged = await send(body, { ...headers, authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln' });
    expect(forged.statusCode).toBe(401);
    expect(forged.headers?.['www-authenticate']).toBe('Bearer error="invalid_token"');
    await env.connections.end('c-1', { status: 'revoked', reason: 'test', now: clock.now() });
    const revoked = await send(body, { ...headers, authorization: bearer });
    expect(revoked.statusCode).toBe(401);
    expect(revoked.headers?.['www-authenticate']).toBe('Bearer error="invalid_token"');
  });

  it.each(BAD_BODIES)('%s with a valid token: the 4xx of the body, after one read', async (_label, body, headers) => {
    const r = await send(body, { ...headers, authorization: bearer });
    expect([400, 415]).toContain(r.statusCode);
    expect(env.reads()).toBe(1);
    expect(env.source.calls).toBe(0);
  });

  it('a valid request still makes exactly one connection read', async () => {
    const r = await send(JSON.stringify({ uri: TASK_URI }), {
      'content-type': 'application/json',
      authorization: bearer,
    });
    expect(r.statusCode).toBe(200);
    expect(env.reads()).toBe(1);
  });
});

describe('POST /unfurl: authorization before any work', () => {
  it.each([
    ['revoked', 'revoked'],
    ['disconnected', 'disconnected'],
  ] as const)(
    "a %s connection's well-signed token gets 401 with no source call and no write",
    async (_label, status) => {
      await env.connections.end('c-1', { status, reason: 'test', now: clock.now() });
      const r = await post({ uri: TASK_URI });
      expect(r.statusCode).toBe(401);
      expect(r.headers?.['www-authenticate']).toBe('Bearer error="invalid_token"');
      expect(env.source.calls).toBe(0);
      expect(env.writes).toEqual({ upserts: 0, deletes: 0 });
      expect(await env.subscriptions.listByConnection('c-1')).toEqual([]);
    },
  );

  it('a token of an older generation (refreshed since) makes no source call either', async () => {
    const stale = await bearerFor(makeConnection('c-2'));
    await env.connections.create({ ...makeConnection('c-2'), tokenGeneration: 1 });
    expect((await post({ uri: TASK_URI }, stale)).statusCode).toBe(401);
    expect(env.source.calls).toBe(0);
    expect(env.writes).toEqual({ upserts: 0, deletes: 0 });
  });

  it('the source is asked only once the connection read has answered, with the stored display name', async () => {
    const order: string[] = [];
    const reads = env.deps.reads;
    const seen: string[] = [];
    env.deps = {
      ...env.deps,
      reads: {
        read: async (id, key) => {
          const read = await reads.read(id, key);
          order.push('connection read');
          return read;
        },
      },
      adapter: {
        name: 'ordered',
        async resolve(_match, identity) {
          order.push('source call');
          seen.push(identity.displayName);
          return found(`Task for ${identity.subject}`);
        },
      },
    };
    handler = createUnfurlHandler(() => env.deps);
    expect((await post({ uri: TASK_URI })).statusCode).toBe(200);
    expect(order).toEqual(['connection read', 'source call']);
    expect(seen).toEqual(['u-alice']);
    expect(env.reads()).toBe(1);
  });

  it('a bad token or a bad body never reaches the source, and a uri outside the rules is never fetched', async () => {
    expect((await post({ uri: TASK_URI }, 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln')).statusCode).toBe(401);
    expect((await post({ uri: 5 })).statusCode).toBe(400);
    const r = await post({ uri: 'http://169.254.169.254/latest/meta-data' });
    expect(JSON.parse(r.body ?? '{}').operations[0].set.status).toBe(404);
    expect(env.source.calls).toBe(0);
  });

  it('a delete followed by a new unfurl records the subscription again', async () => {
    expect((await post({ uri: TASK_URI })).statusCode).toBe(200);
    const [sub] = await env.subscriptions.listByConnection('c-1');
    if (!sub) throw new Error('no subscription recorded');
    await env.subscriptions.delete(sub.resourceKey, sub.connectionId, sub.uri);
    expect(await env.subscriptions.listByConnection('c-1')).toEqual([]);
    expect((await post({ uri: TASK_URI })).statusCode).toBe(200);
    expect((await env.subscriptions.listByConnection('c-1')).map((s) => s.uri)).toEqual([TASK_URI]);
  });
});
