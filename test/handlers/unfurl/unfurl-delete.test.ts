import { beforeEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { accessTokenSettings } from '#adapters/config/oauth-settings.js';
import { ROUTES } from '#lib/routes.js';
import { parseConfig } from '#shared/config.js';
import { hashSecret } from '#shared/crypto.js';
import { onMetric } from '#shared/observability.js';
import { type HttpEventInput, httpEvent } from '#test/helpers/factories.js';
import { memoryEndings } from '#test/unit/oauth/fakes.js';
import { createUnfurlHandler } from '../../../functions/handlers/unfurl.js';
import { createUnfurlDeleteHandler } from '../../../functions/handlers/unfurl-delete.js';
import {
  BASE,
  bearerFor,
  clock,
  context,
  makeConnection,
  type Result,
  TASK_URI,
  tokens,
  unfurlDeps,
} from './support.js';

const REFRESH = 'c-1.refresh-token-random-part-0123456789';
const OTHER_URI = `${BASE}/demo/tasks/2`;

let env: ReturnType<typeof unfurlDeps>;
let unfurl: ReturnType<typeof createUnfurlHandler>;
let del: ReturnType<typeof createUnfurlDeleteHandler>;
let bearer: string;

const call = async (h: typeof unfurl | typeof del, input: HttpEventInput): Promise<Result> =>
  (await h(httpEvent(input), context)) as Result;
const unfurlAs = (authorization: string, uri = TASK_URI) =>
  call(unfurl, { method: 'POST', path: '/unfurl', body: { uri }, headers: { authorization } });

beforeEach(async () => {
  env = unfurlDeps();
  unfurl = createUnfurlHandler(() => env.deps);
  del = createUnfurlDeleteHandler(() => ({
    connections: env.connections,
    subscriptions: env.subscriptions,
    tokens,
    clock,
    endings: memoryEndings({ subscriptions: env.subscriptions }),
  }));
  const connection = {
    ...makeConnection('c-1'),
    refreshTokenHash: hashSecret(REFRESH),
    notionTokenCiphertext: 'v1.local.k.ciphertext',
  };
  await env.connections.create(connection);
  await env.connections.create(makeConnection('c-2', 'u-bob'));
  bearer = await bearerFor(connection);
  expect((await unfurlAs(bearer)).statusCode).toBe(200);
  expect((await unfurlAs(bearer, OTHER_URI)).statusCode).toBe(200);
  expect((await unfurlAs(await bearerFor(makeConnection('c-2', 'u-bob')))).statusCode).toBe(200);
});

describe('DELETE /unfurl', () => {
  it('removes that (connection, uri) subscription only; 200 with an empty body; idempotent', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await call(del, {
        method: 'DELETE',
        path: '/unfurl',
        body: { uri: TASK_URI },
        headers: { authorization: bearer },
      });
      expect(r.statusCode).toBe(200);
      expect(r.body).toBe('');
    }
    expect((await env.subscriptions.listByConnection('c-1')).map((s) => s.uri)).toEqual([OTHER_URI]);
    expect(await env.subscriptions.listByConnection('c-2')).toHaveLength(1);
  });

  it('reads the uri from the query string too', async () => {
    const r = await call(del, {
      method: 'DELETE',
      path: '/unfurl',
      query: { uri: OTHER_URI },
      headers: { authorization: bearer },
    });
    expect(r.statusCode).toBe(200);
    expect((await env.subscriptions.listByConnection('c-1')).map((s) => s.uri)).toEqual([TASK_URI]);
  });

  it('requires the bearer token and a uri', async () => {
    const noAuth = await call(del, { method: 'DELETE', path: '/unfurl', body: { uri: TASK_URI } });
    expect(noAuth.statusCode).toBe(401);
    expect(noAuth.headers?.['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(
      (await call(del, { method: 'DELETE', path: '/unfurl', headers: { authorization: bearer } })).statusCode,
    ).toBe(400);
    expect(await env.subscriptions.listByConnection('c-1')).toHaveLength(2);
  });
});

describe('DELETE /unfurl: the token is checked before anything about the body', () => {
  const send = (body: string, headers: Record<string, string>) =>
    call(del, { method: 'DELETE', path: '/unfurl', body, headers, query: { uri: TASK_URI } });
  const BAD_BODIES: Array<[string, string, Record<string, string>]> = [
    ['invalid JSON', '{not json', { 'content-type': 'application/json' }],
    ['text/plain', 'hello', { 'content-type': 'text/plain' }],
    ['a repeated form field', 'uri=a&uri=b', { 'content-type': 'application/x-www-form-urlencoded' }],
  ];

  it.each(BAD_BODIES)(
    '%s: 401 without a token or with a revoked one, the 4xx of the body with a valid one',
    async (_label, body, headers) => {
      const none = await send(body, headers);
      expect([none.statusCode, none.headers?.['www-authenticate']]).toEqual([401, 'Bearer error="invalid_token"']);
      const forged = await send(body, {
        ...headers,
        authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
      });
      expect([forged.statusCode, forged.headers?.['www-authenticate']]).toEqual([401, 'Bearer error="invalid_token"']);
      const valid = await send(body, { ...headers, authorization: bearer });
      expect([400, 415]).toContain(valid.statusCode);
      expect(await env.subscriptions.listByConnection('c-1')).toHaveLength(2);
      await env.connections.end('c-1', { status: 'revoked', reason: 'test', now: clock.now() });
      const revoked = await send(body, { ...headers, authorization: bearer });
      expect([revoked.statusCode, revoked.headers?.['www-authenticate']]).toEqual([
        401,
        'Bearer error="invalid_token"',
      ]);
    },
  );
});

describe('deleted-token callback', () => {
  const expectRevoked = async () => {
    const c = await env.connections.get('c-1');
    expect(c?.status).toBe('revoked');
    expect(c?.notionTokenCiphertext).toBeUndefined();
    expect(c?.refreshTokenHash).toBeUndefined();
    expect(await env.subscriptions.listByConnection('c-1')).toEqual([]);
    expect(await env.subscriptions.listByConnection('c-2')).toHaveLength(1);
    expect((await unfurlAs(bearer)).statusCode).toBe(401);
  };

  it.each([
    ['DELETE with a Bearer header and no body', () => ({ method: 'DELETE', headers: { authorization: bearer } })],
    ['POST with access_token in JSON', () => ({ method: 'POST', body: { access_token: bearer.slice(7) } })],
    ['DELETE with refresh_token in a form', () => ({ method: 'DELETE', form: { refresh_token: REFRESH } })],
    ['POST with token (refresh) in JSON', () => ({ method: 'POST', body: { token: REFRESH } })],
    ['POST with token (access) in a form', () => ({ method: 'POST', form: { token: bearer.slice(7) } })],
  ])('%s revokes the connection, its tokens and all its subscriptions', async (_label, input) => {
    const r = await call(del, { path: '/deleted-token', ...(input() as HttpEventInput) });
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe('');
    await expectRevoked();
    const again = await call(del, { path: '/deleted-token', ...(input() as HttpEventInput) });
    expect(again.statusCode).toBe(200);
  });

  it('answers 503 (so that Notion retries), not 200, when its signing keys or its storage fail', async () => {
    const counted: string[] = [];
    const stop = onMetric((name, dimensions) => counted.push(`${name} ${JSON.stringify(dimensions)}`));
    const keysDown = createUnfurlDeleteHandler(() => ({
      connections: env.connections,
      subscriptions: env.subscriptions,
      tokens: accessTokenSettings(
        parseConfig({ PUBLIC_BASE_URL: BASE, TOKEN_SIGNING_KEY_SECRET_ARN: 'arn:aws:secretsmanager:x' }),
        async () => {
          throw new Error('secrets unavailable');
        },
      ),
      clock,
      endings: memoryEndings({ subscriptions: env.subscriptions }),
    }));
    const r = await call(keysDown, {
      method: 'DELETE',
      path: '/deleted-token',
      body: { access_token: bearer.slice(7) },
    });
    expect([r.statusCode, r.headers?.['retry-after']]).toEqual([503, '1']);
    const storageDown = createUnfurlDeleteHandler(() => ({
      connections: Object.assign(Object.create(env.connections), {
        end: async () => {
          throw new Error('storage unavailable');
        },
      }),
      subscriptions: env.subscriptions,
      tokens,
      clock,
      endings: memoryEndings({ subscriptions: env.subscriptions }),
    }));
    const s = await call(storageDown, { method: 'DELETE', path: '/deleted-token', headers: { authorization: bearer } });
    expect(s.statusCode).toBe(503);
    // Nothing was revoked: the connection still unfurls, and a retry that works revokes it.
    expect((await unfurlAs(bearer)).statusCode).toBe(200);
    expect(
      (await call(del, { method: 'DELETE', path: '/deleted-token', headers: { authorization: bearer } })).statusCode,
    ).toBe(200);
    await expectRevoked();
    stop();
    // Each 503 is counted, and the successful retry is not.
    expect(counted.filter((c) => c.startsWith('CallbackNotProcessed'))).toEqual([
      'CallbackNotProcessed {"callback":"deleted-token","reason":"failed"}',
      'CallbackNotProcessed {"callback":"deleted-token","reason":"failed"}',
    ]);
  });

  it('accepts an expired access token of ours', async () => {
    clock.t += 10 * 3600_000;
    const r = await call(del, { method: 'DELETE', path: '/deleted-token', body: { access_token: bearer.slice(7) } });
    expect(r.statusCode).toBe(200);
    clock.t -= 10 * 3600_000;
    await expectRevoked();
  });

  it('answers 200 to anything and revokes nothing without proof', async () => {
    const inputs: HttpEventInput[] = [
      { method: 'DELETE' },
      { method: 'POST', body: '{not json', headers: { 'content-type': 'application/json' } },
      { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } },
      { method: 'DELETE', body: { refresh_token: 'c-1.guessed' } },
      {
        method: 'DELETE',
        body: { token: 'c-2.guessed', access_token: 'eyJhbGciOiJIUzI1NiJ9.eyJjaWQiOiJjLTEifQ.Zm9v' },
      },
      { method: 'POST', body: { user_id: 'u-alice', workspace_id: 'ws-c-1' } },
      { method: 'POST', body: { access_token: ['array'] } },
    ];
    for (const input of inputs) {
      const r = await call(del, { path: '/deleted-token', ...input });
      expect(r.statusCode).toBe(200);
      expect(r.body).toBe('');
    }
    expect((await env.connections.get('c-1'))?.status).toBe('active');
    expect(await env.subscriptions.listByConnection('c-1')).toHaveLength(2);
  });

  it('reads tokens from the Bearer header and the body only, as lib/routes.ts declares (none in the query)', async () => {
    // docs/protocol.md#decisions lists a Bearer header and body fields; a token in a URL would reach access logs.
    for (const method of ['DELETE', 'POST'] as const) {
      const route = ROUTES.find((r) => r.method === method && r.path === '/deleted-token');
      expect(route?.reads?.query ?? []).toEqual([]);
      expect(route?.reads?.body).toEqual(expect.arrayContaining(['access_token', 'refresh_token', 'token']));
      for (const name of ['token', 'access_token', 'refresh_token']) {
        const value = name === 'refresh_token' ? REFRESH : bearer.slice(7);
        const r = await call(del, { method, path: '/deleted-token', query: { [name]: value } });
        expect(r.statusCode).toBe(200);
      }
    }
    expect((await env.connections.get('c-1'))?.status).toBe('active');
    expect(await env.subscriptions.listByConnection('c-1')).toHaveLength(2);
  });

  it('refuses other methods', async () => {
    expect((await call(del, { method: 'GET', path: '/deleted-token' })).statusCode).toBe(405);
    expect((await call(del, { method: 'POST', path: '/unfurl', headers: { authorization: bearer } })).statusCode).toBe(
      405,
    );
  });

  it('answers 200 with an empty body to any body and content type (fuzz), revoking nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('DELETE', 'POST'),
        fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain', ''),
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        async (method, contentType, body) => {
          const r = await call(del, {
            method,
            path: '/deleted-token',
            body,
            headers: contentType ? { 'content-type': contentType } : {},
          });
          expect(r.statusCode).toBe(200);
          expect(r.body).toBe('');
        },
      ),
      { numRuns: 150 },
    );
    expect((await env.connections.get('c-1'))?.status).toBe('active');
  });
});
