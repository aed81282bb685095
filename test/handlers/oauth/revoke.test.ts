/**
 * POST /oauth/revoke (RFC 7009) through the real middy stack on in-memory
 * stores: client authentication as at the token endpoint (every invalid_client
 * 401 with a challenge), 200 for tokens that are not ours, a revoked refresh
 * token refused at the token endpoint and its access tokens at once, and
 * error descriptions inside RFC 6749's character set that never echo input.
 */
import { beforeEach, describe, expect, it } from '@jest/globals';
import type { Context } from 'aws-lambda';
import fc from 'fast-check';
import { MemoryAuthStateStore, MemoryConnectionStore, MemorySubscriptionStore } from '#adapters/memory/index.js';
import { authenticateBearer } from '#core/oauth/access-token.js';
import { hashSecret } from '#shared/crypto.js';
import { httpEvent } from '#test/helpers/factories.js';
import {
  activeConnection,
  CLIENT_ID,
  CLIENT_SECRET,
  FakeClock,
  memoryEndings,
  NOTION_REDIRECT,
  tokenDependencies,
} from '#test/unit/oauth/fakes.js';
import { createRevokeHandler } from '../../../functions/handlers/oauth-revoke.js';
import { createTokenHandler } from '../../../functions/handlers/oauth-token.js';

const context = {} as Context;
type Result = { statusCode: number; headers?: Record<string, unknown>; body?: string };
const CONNECTION_ID = '3b0c3c5e-0000-4000-8000-000000000007';
/** RFC 6749 §5.2: %x20-21 / %x23-5B / %x5D-7E. */
const CHARSET = /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/;

let connections: MemoryConnectionStore;
let subscriptions: MemorySubscriptionStore;
let endings: ReturnType<typeof memoryEndings>;
let deps: ReturnType<typeof tokenDependencies>;
let revoke: ReturnType<typeof createRevokeHandler>;
let token: ReturnType<typeof createTokenHandler>;
let tokens: { access_token: string; refresh_token: string };

const form = (handler: typeof revoke, path: string, body: Record<string, string>, headers = {}) =>
  handler(
    httpEvent({
      method: 'POST',
      path,
      body: new URLSearchParams(body).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    }),
    context,
  ) as Promise<Result>;
const revokeWith = (body: Record<string, string>, headers = {}) => form(revoke, '/oauth/revoke', body, headers);
const client = { client_id: CLIENT_ID, client_secret: CLIENT_SECRET };
const basic = (id: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
});

beforeEach(async () => {
  const clock = new FakeClock();
  const authState = new MemoryAuthStateStore();
  connections = new MemoryConnectionStore();
  subscriptions = new MemorySubscriptionStore();
  endings = memoryEndings({ subscriptions });
  deps = tokenDependencies({ authState, connections, clock, endings });
  revoke = createRevokeHandler(() => deps);
  token = createTokenHandler(() => deps);
  await connections.create(activeConnection({ id: CONNECTION_ID, notionTokenCiphertext: 'encrypted' }));
  await authState.putCode({
    codeHash: hashSecret('the-code'),
    connectionId: CONNECTION_ID,
    clientId: CLIENT_ID,
    redirectUri: NOTION_REDIRECT,
    scope: 'unfurl',
    expiresAt: clock.now() + 60_000,
  });
  const issued = await form(token, '/oauth/token', {
    grant_type: 'authorization_code',
    code: 'the-code',
    redirect_uri: NOTION_REDIRECT,
    ...client,
  });
  tokens = JSON.parse(issued.body ?? '{}');
  await subscriptions.upsert({
    resourceKey: 'task:1',
    connectionId: CONNECTION_ID,
    uri: 'https://app.example.com/tasks/1',
    snapshot: ['product data'],
    createdAt: 0,
    updatedAt: 0,
  });
});

describe('POST /oauth/revoke', () => {
  it('a revoked refresh token is refused at the token endpoint, and its access token at once', async () => {
    const r = await revokeWith({ token: tokens.refresh_token, token_type_hint: 'refresh_token', ...client });
    expect([r.statusCode, r.body, r.headers?.['cache-control']]).toEqual([200, '', 'no-store']);
    const refreshed = await form(token, '/oauth/token', {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
      ...client,
    });
    expect(refreshed.statusCode).toBe(400);
    expect(JSON.parse(refreshed.body ?? '{}').error).toBe('invalid_grant');
    await expect(authenticateBearer(`Bearer ${tokens.access_token}`, deps)).rejects.toMatchObject({
      statusCode: 401,
    });
    // The one way a connection ends: Notion token and subscriptions gone, the end logged.
    expect(await connections.get(CONNECTION_ID)).toMatchObject({ status: 'revoked' });
    expect((await connections.get(CONNECTION_ID))?.notionTokenCiphertext).toBeUndefined();
    expect(await subscriptions.listByConnection(CONNECTION_ID)).toEqual([]);
    expect(endings.ended).toEqual([expect.objectContaining({ connectionId: CONNECTION_ID, reason: 'revoked' })]);
  });

  it('revoking an access token (by client_secret_basic, with no hint) ends its connection', async () => {
    const r = await revokeWith({ token: tokens.access_token }, basic(CLIENT_ID, CLIENT_SECRET));
    expect(r.statusCode).toBe(200);
    expect(await connections.get(CONNECTION_ID)).toMatchObject({ status: 'revoked' });
  });

  it('unknown, malformed and already revoked tokens answer 200; an unknown hint is ignored', async () => {
    for (const t of ['unknown', `${CONNECTION_ID}.not-the-token`, 'a.b.c', 'x'.repeat(5000)]) {
      const r = await revokeWith({ token: t, token_type_hint: 'something_else', ...client });
      expect([r.statusCode, r.body]).toEqual([200, '']);
    }
    expect(await connections.get(CONNECTION_ID)).toMatchObject({ status: 'active' });
    const hinted = await revokeWith({ token: tokens.refresh_token, token_type_hint: 'id_token', ...client });
    expect(hinted.statusCode).toBe(200);
    expect(await connections.get(CONNECTION_ID)).toMatchObject({ status: 'revoked' });
    expect((await revokeWith({ token: tokens.refresh_token, ...client })).statusCode).toBe(200);
    expect(endings.ended).toHaveLength(1);
  });

  it('every client-authentication failure → 401 invalid_client with a WWW-Authenticate challenge', async () => {
    const cases: Array<[Record<string, string>, Record<string, string>]> = [
      [{ token: tokens.refresh_token, client_id: CLIENT_ID, client_secret: 'wrong' }, {}],
      [{ token: tokens.refresh_token }, basic(CLIENT_ID, 'wrong')],
      [{ token: tokens.refresh_token, client_id: 'unknown-client', client_secret: CLIENT_SECRET }, {}],
      [{ token: tokens.refresh_token }, {}],
    ];
    for (const [body, headers] of cases) {
      const r = await revokeWith(body, headers);
      expect(r.statusCode).toBe(401);
      expect(JSON.parse(r.body ?? '{}')).toMatchObject({ error: 'invalid_client' });
      expect(String(r.headers?.['www-authenticate'])).toMatch(/^Basic realm="oauth"/);
      expect(r.headers?.['cache-control']).toBe('no-store');
    }
    expect(await connections.get(CONNECTION_ID)).toMatchObject({ status: 'active' });
  });

  it('a missing token, a JSON body or a repeated parameter → 400 invalid_request', async () => {
    expect(JSON.parse((await revokeWith({ ...client })).body ?? '{}').error).toBe('invalid_request');
    const json = (await revoke(
      httpEvent({ method: 'POST', path: '/oauth/revoke', body: { token: 't', ...client } }),
      context,
    )) as Result;
    expect([json.statusCode, JSON.parse(json.body ?? '{}').error]).toEqual([400, 'invalid_request']);
    const repeated = (await revoke(
      httpEvent({
        method: 'POST',
        path: '/oauth/revoke',
        body: 'token=a&token=b',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      context,
    )) as Result;
    expect([repeated.statusCode, JSON.parse(repeated.body ?? '{}').error]).toEqual([400, 'invalid_request']);
  });

  it('the token in the URI → 400 invalid_request and nothing revoked; an unrecognized parameter may repeat', async () => {
    const inUri = (await revoke(
      httpEvent({
        method: 'POST',
        path: '/oauth/revoke',
        query: { token: tokens.refresh_token },
        form: { token: tokens.refresh_token, ...client },
      }),
      context,
    )) as Result;
    expect([inUri.statusCode, JSON.parse(inUri.body ?? '{}').error]).toEqual([400, 'invalid_request']);
    expect(await connections.get(CONNECTION_ID)).toMatchObject({ status: 'active' });
    const noise = (await revoke(
      httpEvent({
        method: 'POST',
        path: '/oauth/revoke',
        body: `${new URLSearchParams({ token: tokens.refresh_token, ...client }).toString()}&code=a&code=b`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      context,
    )) as Result;
    expect(noise.statusCode).toBe(200);
    expect(await connections.get(CONNECTION_ID)).toMatchObject({ status: 'revoked' });
  });

  it('error descriptions never carry a quote, a backslash or a value the client sent', async () => {
    const hostile = fc.string({ minLength: 1, maxLength: 30 }).map((s) => `"${s}\\`);
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            token: fc.oneof(hostile, fc.constant('')),
            token_type_hint: hostile,
            client_id: fc.oneof(hostile, fc.constant(CLIENT_ID)),
            client_secret: hostile,
          },
          { requiredKeys: [] },
        ),
        fc.option(fc.tuple(hostile, hostile)),
        fc.boolean(),
        async (body, basicCredentials, repeat) => {
          const params = new URLSearchParams(body as Record<string, string>);
          if (repeat) params.append('token', 'again');
          const r = (await revoke(
            httpEvent({
              method: 'POST',
              path: '/oauth/revoke',
              body: params.toString(),
              headers: {
                'content-type': 'application/x-www-form-urlencoded',
                ...(basicCredentials ? basic(...basicCredentials) : {}),
              },
            }),
            context,
          )) as Result;
          if (r.statusCode === 200) return;
          const description = String(JSON.parse(r.body ?? '{}').error_description ?? '');
          expect(description).toMatch(CHARSET);
          const sent = [...Object.values(body), ...(basicCredentials ?? [])] as string[];
          for (const value of sent) if (value.length > 3) expect(description).not.toContain(value);
          if (r.statusCode === 401) expect(r.headers?.['www-authenticate']).toBeDefined();
        },
      ),
      { numRuns: 150 },
    );
  });
});
