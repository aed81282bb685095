import { beforeEach, describe, expect, it } from '@jest/globals';
import type { Context } from 'aws-lambda';
import fc from 'fast-check';
import { MemoryAuthStateStore, MemoryConnectionStore } from '#adapters/memory/index.js';
import { resetConfig } from '#shared/config.js';
import { hashSecret } from '#shared/crypto.js';
import { onMetric } from '#shared/observability.js';
import { httpEvent } from '#test/helpers/factories.js';
import {
  activeConnection,
  CLIENT_ID,
  CLIENT_SECRET,
  FakeClock,
  NOTION_REDIRECT,
  tokenDependencies,
} from '#test/unit/oauth/fakes.js';
import { createTokenHandler } from '../../../functions/handlers/oauth-token.js';

const context = {} as Context;
type Result = { statusCode: number; headers?: Record<string, unknown>; body?: string };

let authState: MemoryAuthStateStore;
let connections: MemoryConnectionStore;
let clock: FakeClock;
let handler: ReturnType<typeof createTokenHandler>;

const CONNECTION_ID = '3b0c3c5e-0000-4000-8000-000000000002';

beforeEach(async () => {
  clock = new FakeClock();
  authState = new MemoryAuthStateStore();
  connections = new MemoryConnectionStore();
  await connections.create(activeConnection({ id: CONNECTION_ID, subject: 'u-bob', displayName: 'Bob' }));
  await authState.putCode({
    codeHash: hashSecret('the-code'),
    connectionId: CONNECTION_ID,
    clientId: CLIENT_ID,
    redirectUri: NOTION_REDIRECT,
    scope: 'unfurl',
    expiresAt: clock.now() + 60_000,
  });
  handler = createTokenHandler(() => tokenDependencies({ authState, connections, clock }));
});

const post = async (input: {
  form?: Record<string, string>;
  body?: unknown;
  headers?: Record<string, string>;
}): Promise<Result> =>
  (await handler(httpEvent({ method: 'POST', path: '/oauth/token', ...input }), context)) as Result;

const codeForm = (over: Record<string, string> = {}) => ({
  grant_type: 'authorization_code',
  code: 'the-code',
  redirect_uri: NOTION_REDIRECT,
  client_id: CLIENT_ID,
  client_secret: CLIENT_SECRET,
  ...over,
});

/** The result of `run`, with the name and dimensions of every metric it counted. */
const withMetrics = async (run: () => Promise<Result>) => {
  const metrics: Record<string, string>[] = [];
  const off = onMetric((name, dimensions) => metrics.push({ name, ...dimensions }));
  try {
    return { result: await run(), metrics };
  } finally {
    off();
  }
};

const expectNoStore = (r: Result) => {
  expect(r.headers?.['cache-control']).toBe('no-store');
  expect(r.headers?.pragma).toBe('no-cache');
};

describe('POST /oauth/token', () => {
  it('no-store headers on success, with the RFC 6749 §5.1 body', async () => {
    const r = await post({ form: codeForm() });
    expect(r.statusCode).toBe(200);
    expectNoStore(r);
    const body = JSON.parse(r.body!);
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
    expect(body.token_type).toBe('Bearer');
  });

  it('a code exchange without grant_type is an authorization_code grant, counted as one (docs/protocol.md §2.5)', async () => {
    const { grant_type: _omitted, ...form } = codeForm();
    const r = await withMetrics(() => post({ form }));
    expect(r.result.statusCode).toBe(200);
    expectNoStore(r.result);
    expect(JSON.parse(r.result.body!)).toMatchObject({ token_type: 'Bearer', refresh_token: expect.any(String) });
    expect(r.metrics).toContainEqual({ name: 'TokenGranted', grant_type: 'authorization_code' });
    // The code is spent as by any exchange: presented again, it is a replay.
    expect(JSON.parse((await post({ form })).body!).error).toBe('invalid_grant');
  });

  it('accepts client_secret_basic', async () => {
    const { client_id: _i, client_secret: _s, ...form } = codeForm();
    const r = await post({
      form,
      headers: { authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}` },
    });
    expect(r.statusCode).toBe(200);
  });

  it('every client-authentication failure → 401 invalid_client with a WWW-Authenticate challenge, no-store', async () => {
    const post1 = await post({ form: codeForm({ client_secret: 'wrong' }) });
    expect(post1.statusCode).toBe(401);
    expect(JSON.parse(post1.body!)).toMatchObject({ error: 'invalid_client' });
    expect(String(post1.headers?.['www-authenticate'])).toMatch(/^Basic realm=/);
    expectNoStore(post1);
    for (const form of [
      codeForm({ client_id: 'unknown-client' }),
      (({ client_id: _i, client_secret: _s, ...f }) => f)(codeForm()),
    ]) {
      const r = await post({ form });
      expect(r.statusCode).toBe(401);
      expect(String(r.headers?.['www-authenticate'])).toMatch(/^Basic realm=/);
    }
    const { client_id: _i, client_secret: _s, ...form } = codeForm();
    const basic = await post({
      form,
      headers: { authorization: `Basic ${Buffer.from(`${CLIENT_ID}:wrong`).toString('base64')}` },
    });
    expect(basic.statusCode).toBe(401);
    expect(String(basic.headers?.['www-authenticate'])).toMatch(/^Basic/);
  });

  it('wrong or missing redirect_uri → 400 invalid_grant / invalid_request', async () => {
    const missing = await post({ form: codeForm({ redirect_uri: '' }) });
    expect(missing.statusCode).toBe(400);
    expect(JSON.parse(missing.body!).error).toBe('invalid_request');
    const wrong = await post({ form: codeForm({ redirect_uri: 'https://notion.so/externalintegrationauthcallback' }) });
    expect(wrong.statusCode).toBe(400);
    expect(JSON.parse(wrong.body!).error).toBe('invalid_grant');
  });

  it('unknown, expired and replayed codes → 400 invalid_grant', async () => {
    expect(JSON.parse((await post({ form: codeForm({ code: 'unknown' }) })).body!).error).toBe('invalid_grant');
    expect((await post({ form: codeForm() })).statusCode).toBe(200);
    const replay = await post({ form: codeForm() });
    expect(replay.statusCode).toBe(400);
    expect(JSON.parse(replay.body!).error).toBe('invalid_grant');
    await authState.putCode({
      codeHash: hashSecret('old-code'),
      connectionId: CONNECTION_ID,
      clientId: CLIENT_ID,
      redirectUri: NOTION_REDIRECT,
      scope: 'unfurl',
      expiresAt: clock.now() + 60_000,
    });
    clock.advance(61_000);
    expect(JSON.parse((await post({ form: codeForm({ code: 'old-code' }) })).body!).error).toBe('invalid_grant');
  });

  it('unsupported grant types, JSON bodies, repeated parameters and empty bodies get RFC errors, never a 500', async () => {
    const cases: Array<[Parameters<typeof post>[0], string]> = [
      [{ form: codeForm({ grant_type: 'password' }) }, 'unsupported_grant_type'],
      [{ body: codeForm() }, 'invalid_request'],
      [
        { body: 'grant_type=a&grant_type=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        'invalid_request',
      ],
      [{}, 'invalid_request'],
      [{ body: '%%%', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 'invalid_client'],
    ];
    for (const [input, error] of cases) {
      const r = await post(input);
      expect(r.statusCode).toBeLessThan(500);
      expect(JSON.parse(r.body!)).toMatchObject({ error, error_description: expect.any(String) });
      expectNoStore(r);
    }
  });
});

describe('parameters a strict reading of RFC 6749 §3.1, §3.2 and §2.3.1 settles', () => {
  const postWithQuery = async (query: string, form: Record<string, string>): Promise<Result> =>
    (await handler(httpEvent({ method: 'POST', path: '/oauth/token', query, form }), context)) as Result;

  it('an unrecognized parameter is ignored, repeated or not; a repeated one the endpoint reads is refused', async () => {
    const body = `${new URLSearchParams(codeForm()).toString()}&resource=a&resource=b&x=1&x=2`;
    const r = await post({ body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(r.statusCode).toBe(200);
    expect(JSON.parse(r.body!).token_type).toBe('Bearer');
    for (const name of ['grant_type', 'code', 'redirect_uri', 'client_id', 'client_secret', 'code_verifier', 'scope']) {
      const repeated = `${new URLSearchParams(codeForm()).toString()}&${name}=again&${name}=and-again`;
      const refused = await post({ body: repeated, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect([refused.statusCode, JSON.parse(refused.body!).error]).toEqual([400, 'invalid_request']);
    }
  });

  it('a parameter sent without a value counts as omitted: an empty copy beside the value is no repeat', async () => {
    let n = 0;
    /** A fresh code of a fresh connection: each exchange spends one. */
    const freshCode = async (): Promise<string> => {
      n += 1;
      const id = `3b0c3c5e-0000-4000-8000-${String(100 + n).padStart(12, '0')}`;
      await connections.create(activeConnection({ id, subject: `u-${n}`, displayName: `User ${n}` }));
      const code = `code-${n}`;
      await authState.putCode({
        codeHash: hashSecret(code),
        connectionId: id,
        clientId: CLIENT_ID,
        redirectUri: NOTION_REDIRECT,
        scope: 'unfurl',
        expiresAt: clock.now() + 60_000,
      });
      return code;
    };
    for (const name of ['grant_type', 'code', 'redirect_uri', 'client_id', 'client_secret']) {
      for (const emptyFirst of [true, false]) {
        const form = new URLSearchParams(codeForm({ code: await freshCode() })).toString();
        const body = emptyFirst ? `${name}=&${form}` : `${form}&${name}=`;
        const r = await post({ body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
        expect([name, r.statusCode, JSON.parse(r.body!).token_type]).toEqual([name, 200, 'Bearer']);
      }
    }
    // Two values are still a repeat.
    const twice = `${new URLSearchParams(codeForm()).toString()}&code=other`;
    const refused = await post({ body: twice, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect([refused.statusCode, JSON.parse(refused.body!).error]).toEqual([400, 'invalid_request']);
  });

  it('a parameter of the endpoint in the URI → 400 invalid_request, no-store; the code is not spent', async () => {
    for (const query of [
      `client_secret=${CLIENT_SECRET}`,
      'code=another-code',
      'grant_type=authorization_code',
      `redirect_uri=${encodeURIComponent(NOTION_REDIRECT)}`,
      'code=a&code=b',
    ]) {
      const r = await postWithQuery(query, codeForm());
      expect([r.statusCode, JSON.parse(r.body!).error]).toEqual([400, 'invalid_request']);
      expect(JSON.parse(r.body!).error_description).toMatch(/body, not in the URI/);
      expect(r.headers?.['www-authenticate']).toBeUndefined();
      expectNoStore(r);
    }
    // Sent without a value a parameter counts as omitted (RFC 6749 §3.1); any other name is not ours to judge.
    const r = await postWithQuery('client_secret=&utm_source=x', codeForm());
    expect(r.statusCode).toBe(200);
  });
});

describe('GET /.well-known/oauth-authorization-server', () => {
  it('describes exactly the supported endpoints, grants and client authentication methods', async () => {
    process.env.PUBLIC_BASE_URL = 'https://previews.example.com';
    resetConfig();
    // The entry module composes at import, from the environment set above.
    const { handler: metadataHandler } = await import('../../../functions/metadata.js');
    const r = (await metadataHandler(
      httpEvent({ path: '/.well-known/oauth-authorization-server' }),
      context,
    )) as Result;
    expect(r.statusCode).toBe(200);
    expect(JSON.parse(r.body!)).toEqual({
      issuer: 'https://previews.example.com',
      authorization_endpoint: 'https://previews.example.com/oauth/authorize',
      token_endpoint: 'https://previews.example.com/oauth/token',
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      revocation_endpoint: 'https://previews.example.com/oauth/revoke',
      revocation_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    });
    delete process.env.PUBLIC_BASE_URL;
    resetConfig();
  });
});

describe('error descriptions a strict client accepts', () => {
  /** RFC 6749 §5.2: %x20-21 / %x23-5B / %x5D-7E. */
  const CHARSET = /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/;
  const hostile = fc.string({ minLength: 1, maxLength: 30 }).map((s) => `"${s}\\`);

  it('never carries a quote, a backslash or a value the client sent, whatever the form', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            grant_type: fc.oneof(hostile, fc.constantFrom('authorization_code', 'refresh_token', 'password')),
            code: hostile,
            refresh_token: hostile,
            redirect_uri: hostile,
            client_id: fc.oneof(hostile, fc.constant(CLIENT_ID)),
            client_secret: hostile,
            code_verifier: hostile,
            scope: hostile,
          },
          { requiredKeys: [] },
        ),
        fc.boolean(),
        async (form, repeat) => {
          const body = new URLSearchParams(form as Record<string, string>);
          if (repeat) body.append('grant_type', 'refresh_token');
          const r = await post({
            body: body.toString(),
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          });
          if (r.statusCode === 200) return;
          const description = String(JSON.parse(r.body ?? '{}').error_description ?? '');
          expect(description).toMatch(CHARSET);
          for (const sent of Object.values(form)) if (sent.length > 3) expect(description).not.toContain(sent);
        },
      ),
      { numRuns: 150 },
    );
  });
});
