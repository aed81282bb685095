import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { MemoryAuthStateStore, MemoryConnectionStore } from '#adapters/memory/index.js';
import { authenticateBearer } from '#core/oauth/access-token.js';
import { OAuthTokenError } from '#core/oauth/errors.js';
import { handleTokenRequest, parseRefreshToken, type TokenDependencies } from '#core/oauth/token.js';
import type { Connection } from '#core/ports.js';
import { hashSecret } from '#shared/crypto.js';
import { activeConnection, CLIENT_ID, CLIENT_SECRET, FakeClock, NOTION_REDIRECT, tokenDependencies } from './fakes.js';

let clock: FakeClock;
let connections: MemoryConnectionStore;
let authState: MemoryAuthStateStore;
let deps: TokenDependencies;

const connection: Connection = activeConnection({
  id: '3b0c3c5e-0000-4000-8000-000000000001',
  notionTokenCiphertext: 'ciphertext',
});

const putCode = async (code: string, extra: { codeChallenge?: string } = {}) =>
  authState.putCode({
    codeHash: hashSecret(code),
    connectionId: connection.id,
    clientId: CLIENT_ID,
    redirectUri: NOTION_REDIRECT,
    scope: 'unfurl',
    expiresAt: clock.now() + 60_000,
    ...extra,
  });

const creds = { client_id: CLIENT_ID, client_secret: CLIENT_SECRET };
const exchange = (code: string, extra: Record<string, string> = {}) =>
  handleTokenRequest(
    {
      authorization: undefined,
      form: { ...creds, grant_type: 'authorization_code', code, redirect_uri: NOTION_REDIRECT, ...extra },
    },
    deps,
  );
const refresh = (token: string) =>
  handleTokenRequest(
    { authorization: undefined, form: { ...creds, grant_type: 'refresh_token', refresh_token: token } },
    deps,
  );

const errorOf = async (p: Promise<unknown>): Promise<string | undefined> => {
  try {
    await p;
    return undefined;
  } catch (error) {
    if (error instanceof OAuthTokenError) return error.error;
    throw error;
  }
};

beforeEach(async () => {
  clock = new FakeClock();
  connections = new MemoryConnectionStore();
  authState = new MemoryAuthStateStore();
  await connections.create(connection);
  deps = tokenDependencies({ authState, connections, clock });
});

describe('token endpoint: authorization_code cut short (docs/adr/0087)', () => {
  const throttled = () => Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });

  it('a failure while the code is spent hands out nothing and leaves the code usable: the retry gets a working grant', async () => {
    await putCode('code-cut');
    const redeem = authState.redeemCode.bind(authState);
    deps = {
      ...deps,
      authState: { readCode: authState.readCode.bind(authState), redeemCode: async () => Promise.reject(throttled()) },
    };
    await expect(exchange('code-cut')).rejects.toThrow('throttled');
    deps = { ...deps, authState: { readCode: authState.readCode.bind(authState), redeemCode: redeem } };
    const granted = await exchange('code-cut');
    const again = await refresh(granted.refresh_token);
    expect(again.access_token).toBeTruthy();
    expect((await connections.get(connection.id))?.status).toBe('active');
    expect(await errorOf(exchange('code-cut'))).toBe('invalid_grant');
    expect((await connections.get(connection.id))?.status).toBe('revoked');
  });

  it('a failure while the first refresh token is set spends nothing: the retry gets a working grant', async () => {
    await putCode('code-cut-2');
    const real = deps.connections;
    deps = { ...deps, connections: { ...real, swapRefreshToken: async () => Promise.reject(throttled()) } };
    await expect(exchange('code-cut-2')).rejects.toThrow('throttled');
    deps = { ...deps, connections: real };
    const granted = await exchange('code-cut-2');
    expect((await refresh(granted.refresh_token)).access_token).toBeTruthy();
  });

  it('the first token of a connection set for another code is never replaced', async () => {
    await putCode('code-a');
    await putCode('code-b');
    const first = await exchange('code-a');
    expect(await errorOf(exchange('code-b'))).toBe('invalid_grant');
    expect((await refresh(first.refresh_token)).access_token).toBeTruthy();
  });

  it('two exchanges of one code that both pass the read: one spends it, the other is a replay that ends the grant', async () => {
    await putCode('code-race');
    const results = await Promise.allSettled([exchange('code-race'), exchange('code-race')]);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect((await connections.get(connection.id))?.status).toBe('revoked');
  });
});

describe('token endpoint: authorization_code', () => {
  it('issues a Bearer access token, a refresh token carrying the connection id, expires_in and scope', async () => {
    await putCode('code-1');
    const response = await exchange('code-1');
    expect(response).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'unfurl' });
    expect(parseRefreshToken(response.refresh_token)).toEqual({ connectionId: connection.id });
    expect((await connections.get(connection.id))?.refreshTokenHash).toBe(hashSecret(response.refresh_token));
    await expect(
      authenticateBearer(`Bearer ${response.access_token}`, { connections, tokens: deps.tokens, clock }),
    ).resolves.toMatchObject({
      id: connection.id,
    });
  });

  it('unknown code → invalid_grant', async () => {
    expect(await errorOf(exchange('nope'))).toBe('invalid_grant');
  });

  it('expired code → invalid_grant', async () => {
    await putCode('code-1');
    clock.advance(61_000);
    expect(await errorOf(exchange('code-1'))).toBe('invalid_grant');
  });

  it('replayed code → invalid_grant and the connection it issued is revoked, with its tokens', async () => {
    await putCode('code-1');
    const first = await exchange('code-1');
    expect(await errorOf(exchange('code-1'))).toBe('invalid_grant');
    expect((await connections.get(connection.id))?.status).toBe('revoked');
    await expect(
      authenticateBearer(`Bearer ${first.access_token}`, { connections, tokens: deps.tokens, clock }),
    ).rejects.toMatchObject({
      statusCode: 401,
    });
    expect(await errorOf(refresh(first.refresh_token))).toBe('invalid_grant');
  });

  it('20 concurrent redemptions of one code: exactly one succeeds', async () => {
    await putCode('code-1');
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => exchange('code-1')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results)
      if (r.status === 'rejected') expect((r.reason as OAuthTokenError).error).toBe('invalid_grant');
  });

  it('wrong redirect_uri → invalid_grant (byte-for-byte comparison)', async () => {
    await putCode('code-1');
    expect(
      await errorOf(exchange('code-1', { redirect_uri: 'https://www.notion.so/externalIntegrationAuthCallback' })),
    ).toBe('invalid_grant');
  });

  it('missing redirect_uri → invalid_request, and the code stays usable', async () => {
    await putCode('code-1');
    const form = { ...creds, grant_type: 'authorization_code', code: 'code-1' };
    expect(await errorOf(handleTokenRequest({ authorization: undefined, form }, deps))).toBe('invalid_request');
    await expect(exchange('code-1')).resolves.toBeDefined();
  });

  it('wrong client secret → invalid_client, and the code stays usable', async () => {
    await putCode('code-1');
    expect(await errorOf(exchange('code-1', { client_secret: 'wrong' }))).toBe('invalid_client');
    await expect(exchange('code-1')).resolves.toBeDefined();
  });

  it('enforces PKCE S256 when the authorization request carried a challenge', async () => {
    const verifier = 'v'.repeat(50);
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    await putCode('code-1', { codeChallenge: challenge });
    await putCode('code-2', { codeChallenge: challenge });
    await expect(exchange('code-2', { code_verifier: verifier })).resolves.toBeDefined();
    expect(await errorOf(exchange('code-1', { code_verifier: 'w'.repeat(50) }))).toBe('invalid_grant');
    expect((await connections.get(connection.id))?.status).toBe('revoked');
  });
});

describe('token endpoint: refresh_token', () => {
  it('rotates the refresh token; the old one is single use and its reuse revokes the connection', async () => {
    await putCode('code-1');
    const first = await exchange('code-1');
    const second = await refresh(first.refresh_token);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    const third = await refresh(second.refresh_token);
    expect(third.access_token).toEqual(expect.any(String));

    expect(await errorOf(refresh(first.refresh_token))).toBe('invalid_grant');
    expect((await connections.get(connection.id))?.status).toBe('revoked');
    expect(await errorOf(refresh(third.refresh_token))).toBe('invalid_grant');
  });

  it('reports issues and the revocation through the injected log, never with a token in it', async () => {
    const entries: [string, string, Readonly<Record<string, unknown>>][] = [];
    deps = { ...deps, log: (level, message, details) => entries.push([level, message, details]) };
    await putCode('code-1');
    const first = await exchange('code-1');
    const second = await refresh(first.refresh_token);
    expect(await errorOf(refresh(first.refresh_token))).toBe('invalid_grant');
    expect(entries.map(([level, message]) => `${level} ${message}`)).toEqual([
      'info tokens issued',
      'info tokens issued',
      'warn connection revoked',
    ]);
    expect(entries[2]?.[2]).toEqual({ connectionId: connection.id, reason: expect.any(String) });
    const logged = JSON.stringify(entries);
    for (const secret of [first.access_token, first.refresh_token, second.refresh_token, 'code-1']) {
      expect(logged).not.toContain(secret);
    }
  });

  it('an unknown refresh token for a live connection is refused without revoking it', async () => {
    await putCode('code-1');
    const first = await exchange('code-1');
    expect(await errorOf(refresh(`${connection.id}.forged`))).toBe('invalid_grant');
    expect(await errorOf(refresh('no-dot-here'))).toBe('invalid_grant');
    await expect(refresh(first.refresh_token)).resolves.toBeDefined();
  });

  it('a rotated-away refresh token asking for a wider scope is still reuse: the grant ends', async () => {
    await putCode('code-1');
    const first = await exchange('code-1');
    const second = await refresh(first.refresh_token);
    const wider = { ...creds, grant_type: 'refresh_token', refresh_token: first.refresh_token, scope: 'unfurl admin' };
    expect(await errorOf(handleTokenRequest({ authorization: undefined, form: wider }, deps))).toBe('invalid_grant');
    expect((await connections.get(connection.id))?.status).toBe('revoked');
    expect(await errorOf(refresh(second.refresh_token))).toBe('invalid_grant');
  });

  it('a forged refresh token asking for a wider scope is an invalid grant, not a probe of the grant’s scope', async () => {
    await putCode('code-1');
    const first = await exchange('code-1');
    const forged = { ...creds, grant_type: 'refresh_token', refresh_token: `${connection.id}.forged`, scope: 'admin' };
    expect(await errorOf(handleTokenRequest({ authorization: undefined, form: forged }, deps))).toBe('invalid_grant');
    await expect(refresh(first.refresh_token)).resolves.toBeDefined();
  });

  it('refuses a scope wider than the grant', async () => {
    await putCode('code-1');
    const first = await exchange('code-1');
    const form = { ...creds, grant_type: 'refresh_token', refresh_token: first.refresh_token, scope: 'unfurl admin' };
    expect(await errorOf(handleTokenRequest({ authorization: undefined, form }, deps))).toBe('invalid_scope');
    await expect(refresh(first.refresh_token)).resolves.toBeDefined();
  });
});
