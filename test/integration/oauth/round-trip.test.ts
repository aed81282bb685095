/**
 * The two-way OAuth round trip against the real local system: dynalite, the
 * local OpenID Connect provider under /idp and the Notion simulator's API
 * under /notion, all on 127.0.0.1 with an OS-assigned port.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oauth from 'oauth4webapi';
import { authStateStore, connectionStore } from '#adapters/dynamo/factory.js';
import type { MountEntry } from '#local/mounts.js';
import { simulatorFor } from '#local/notion-simulator/mount.js';
import { type LocalSystem, startLocalSystem } from '#local/system.js';
import { type Config, parseConfig } from '#shared/config.js';
import { hashSecret } from '#shared/crypto.js';
import { logger } from '#shared/observability.js';
import { captureLogs } from '#test/helpers/output.js';
import { TestBrowser } from './browser.js';

const MOUNTS: MountEntry[] = [
  {
    name: 'idp',
    prefix: '/idp',
    module: './idp/mount.js',
    load: async () => (await import('#local/idp/mount.js')).createMount,
  },
  {
    name: 'notion',
    prefix: '/notion',
    module: './notion-simulator/mount.js',
    load: async () => (await import('#local/notion-simulator/mount.js')).createMount,
  },
];

let system: LocalSystem;
let config: Config;
let redirectUri: string;
let clientId: string;
let clientSecret: string;
const logs: string[] = [];
let restoreStdout: () => void;

beforeAll(async () => {
  logger.setLogLevel('INFO'); // the logs are read below
  restoreStdout = captureLogs(logs);
  system = await startLocalSystem({ port: 0, mountEntries: MOUNTS, workerLoop: false, log: () => undefined });
  config = parseConfig(system.env);
  redirectUri = `${system.baseUrl}/notion/externalintegrationauthcallback`;
  clientId = system.env.OAUTH_CLIENT_ID!;
  clientSecret = system.env.OAUTH_CLIENT_SECRET!;
}, 30_000);

afterAll(async () => {
  restoreStdout?.();
  await system?.stop();
});

const simulator = () => {
  const s = simulatorFor(system.baseUrl);
  if (!s) throw new Error('Notion simulator not mounted');
  return s;
};

const stopAtNotion = (url: URL) => url.pathname === '/notion/externalintegrationauthcallback';

interface ConnectOptions {
  readonly login?: string;
  readonly password?: string;
  readonly decision?: 'allow' | 'deny';
  readonly cancelLogin?: boolean;
  readonly extra?: Record<string, string>;
  readonly browser?: TestBrowser;
}

/** Notion → authorize → IdP login → consent → back to Notion's redirect_uri. */
const connect = async (options: ConnectOptions = {}) => {
  const browser = options.browser ?? new TestBrowser(stopAtNotion);
  const notionCode = simulator().issueCode();
  const state = `st-${Math.random().toString(36).slice(2)}<&>`;
  const query = new URLSearchParams({
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    code: notionCode,
    state,
    scope: 'unfurl',
    ...options.extra,
  });
  let page = await browser.request(`${system.baseUrl}/oauth/authorize?${query}`);
  if (page.url.includes('/idp/interaction/')) {
    if (options.cancelLogin) {
      const cancel = /href="([^"]*abort)"/.exec(page.body)![1]!.replace(/&#47;/g, '/');
      page = await browser.request(new URL(cancel, page.url).toString());
    } else {
      page = await browser.submit(page, {
        login: options.login ?? 'alice',
        password: options.password ?? 'alice-password',
      });
    }
  }
  if (page.url.includes('/oauth/callback') && page.status === 200 && page.body.includes('name="decision"')) {
    page = await browser.submit(page, {}, { name: 'decision', value: options.decision ?? 'allow' });
  }
  const back = new URL(page.url);
  return { back, state, notionCode, page, browser };
};

const tokenRequest = async (form: Record<string, string>, headers: Record<string, string> = {}) => {
  const res = await fetch(`${system.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, string | number> };
};

const redeem = (code: string, over: Record<string, string> = {}) =>
  tokenRequest({
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
    client_id: clientId,
    client_secret: clientSecret,
    ...over,
  });

const connectionsOf = (subject: string) => connectionStore(config).listBySubject(subject, Date.now());

describe('two-way OAuth round trip (local system)', () => {
  it('state preserved through the upstream login; Notion’s code exchanged with external_account; our code redeemed', async () => {
    const { back, state } = await connect({ login: 'bob', password: 'bob-password' });
    expect(back.searchParams.get('state')).toBe(state);
    expect(back.searchParams.get('iss')).toBe(system.baseUrl);
    const code = back.searchParams.get('code');
    expect(code).toBeTruthy();
    const notionSide = simulator().connectionByExternalKey('u-bob');
    expect(notionSide).toBeDefined();
    const ours = await connectionsOf('u-bob');
    expect(ours.filter((c) => c.status === 'active')).toHaveLength(1);
    expect(ours[0]?.notion.botId).toBe(notionSide?.botId);

    const r = await redeem(code!);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ token_type: 'Bearer', scope: 'unfurl', expires_in: 3600 });
  });

  it('a code exchange without grant_type is read as authorization_code (docs/protocol.md §2.5, ADR 0158)', async () => {
    const { back } = await connect();
    const form = { code: back.searchParams.get('code')!, redirect_uri: redirectUri, client_id: clientId };
    const r = await tokenRequest({ ...form, client_secret: clientSecret });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ token_type: 'Bearer', scope: 'unfurl' });
    expect((await tokenRequest({ client_id: clientId, client_secret: clientSecret })).body.error).toBe(
      'invalid_request',
    );
  });

  it('no-store headers on token responses, successful or not', async () => {
    const { back } = await connect();
    const ok = await redeem(back.searchParams.get('code')!);
    const bad = await redeem('unknown-code');
    for (const r of [ok, bad]) {
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect(r.headers.get('pragma')).toBe('no-cache');
    }
  });

  it('parameters in the token URI → 400 invalid_request, the code still good; an unread parameter may repeat (ADR 0162)', async () => {
    const { back } = await connect();
    const code = back.searchParams.get('code')!;
    const form = { grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId };
    const inUri = await fetch(`${system.baseUrl}/oauth/token?client_secret=${encodeURIComponent(clientSecret)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
    expect(inUri.status).toBe(400);
    expect(inUri.headers.get('cache-control')).toBe('no-store');
    expect(((await inUri.json()) as { error: string }).error).toBe('invalid_request');
    const res = await fetch(`${system.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `${new URLSearchParams({ ...form, client_secret: clientSecret }).toString()}&resource=a&resource=b`,
    });
    expect(res.status).toBe(200);
  });

  it('wrong client secret → 401 invalid_client', async () => {
    const { back } = await connect();
    const r = await redeem(back.searchParams.get('code')!, { client_secret: 'wrong-secret' });
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('invalid_client');
    const basic = await tokenRequest(
      { grant_type: 'authorization_code', code: back.searchParams.get('code')!, redirect_uri: redirectUri },
      { authorization: `Basic ${Buffer.from(`${clientId}:nope`).toString('base64')}` },
    );
    expect(basic.status).toBe(401);
    expect(basic.headers.get('www-authenticate')).toMatch(/^Basic/);
  });

  it('wrong or missing redirect_uri: error page at authorize (never a redirect), invalid_grant / invalid_request at the token endpoint', async () => {
    for (const uri of ['https://evil.example/cb', '']) {
      const q = new URLSearchParams({
        client_id: clientId,
        response_type: 'code',
        code: 'x',
        state: 's',
        ...(uri ? { redirect_uri: uri } : {}),
      });
      const res = await fetch(`${system.baseUrl}/oauth/authorize?${q}`, { redirect: 'manual' });
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      await res.text();
    }
    const { back } = await connect();
    const code = back.searchParams.get('code')!;
    const missing = await tokenRequest({
      grant_type: 'authorization_code',
      code,
      client_id: clientId,
      client_secret: clientSecret,
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_request');
    const wrong = await redeem(code, { redirect_uri: `${redirectUri}/` });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('invalid_grant');
  });

  it('unknown, expired and replayed codes → invalid_grant; a replay revokes the connection', async () => {
    expect((await redeem('never-issued')).body.error).toBe('invalid_grant');

    const [existing] = await connectionsOf('u-alice');
    await authStateStore(config).putCode({
      codeHash: hashSecret('expired-code'),
      connectionId: existing!.id,
      clientId,
      redirectUri,
      scope: 'unfurl',
      expiresAt: Date.now() - 1000,
    });
    expect((await redeem('expired-code')).body.error).toBe('invalid_grant');

    const { back } = await connect({ login: 'carol', password: 'carol-password' });
    const code = back.searchParams.get('code')!;
    const first = await redeem(code);
    expect(first.status).toBe(200);
    const replay = await redeem(code);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    const after = await connectionsOf('u-carol');
    expect(after.every((c) => c.status === 'revoked')).toBe(true);
    const refresh = await tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: String(first.body.refresh_token),
      client_id: clientId,
      client_secret: clientSecret,
    });
    expect(refresh.body.error).toBe('invalid_grant');
  });

  it('20 concurrent redemptions of one code: exactly one succeeds', async () => {
    const { back } = await connect();
    const code = back.searchParams.get('code')!;
    const results = await Promise.all(Array.from({ length: 20 }, () => redeem(code)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 400 && r.body.error === 'invalid_grant')).toHaveLength(19);
  });

  it('refresh rotation and reuse: each refresh token works once; reusing one revokes the connection', async () => {
    const { back } = await connect({ login: 'bob', password: 'bob-password' });
    const first = await redeem(back.searchParams.get('code')!);
    const refresh = (token: unknown) =>
      tokenRequest({
        grant_type: 'refresh_token',
        refresh_token: String(token),
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uri: redirectUri,
      });
    const second = await refresh(first.body.refresh_token);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
    const connectionId = String(first.body.refresh_token).split('.')[0]!;
    const reuse = await refresh(first.body.refresh_token);
    expect(reuse.body.error).toBe('invalid_grant');
    expect((await connectionStore(config).get(connectionId))?.status).toBe('revoked');
    expect((await refresh(second.body.refresh_token)).body.error).toBe('invalid_grant');
  });

  it('deny → access_denied with state; nothing stored; the next attempt asks again and can connect', async () => {
    const before = (await connectionsOf('u-carol')).length;
    const browser = new TestBrowser(stopAtNotion);
    const { back, state } = await connect({ login: 'carol', password: 'carol-password', decision: 'deny', browser });
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('error_description')).toBeTruthy();
    expect(back.searchParams.get('state')).toBe(state);
    expect(await connectionsOf('u-carol')).toHaveLength(before);
    const again = await connect({ browser });
    expect(again.back.searchParams.get('error')).toBeNull();
    expect(again.back.searchParams.get('code')).toBeTruthy();
    expect(await connectionsOf('u-carol')).toHaveLength(before + 1);
  });

  it('upstream login failure (cancelled at the provider) → access_denied to Notion, nothing stored', async () => {
    const before = (await connectionsOf('u-alice')).length;
    const { back, state } = await connect({ cancelLogin: true });
    expect(back.pathname).toBe('/notion/externalintegrationauthcallback');
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('state')).toBe(state);
    expect(await connectionsOf('u-alice')).toHaveLength(before);
  });

  it('revoked connection → 401 on the next use of its access token', async () => {
    const { back } = await connect({ login: 'bob', password: 'bob-password' });
    const tokens = await redeem(back.searchParams.get('code')!);
    const accessToken = String(tokens.body.access_token);
    const unfurl = () =>
      fetch(`${system.baseUrl}/unfurl`, {
        method: 'POST',
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ uri: `${system.baseUrl}/demo/tasks/1` }),
      });
    const before = await unfurl();
    expect(before.status).not.toBe(401);
    await before.text();
    const deleted = await fetch(`${system.baseUrl}/deleted-token`, {
      method: 'DELETE',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ access_token: accessToken }),
    });
    expect(deleted.status).toBe(200);
    await deleted.text();
    const after = await unfurl();
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(await after.json()).toEqual({ error: { status: 401, message: expect.any(String) } });
  });

  it('an independent OAuth client (oauth4webapi) discovers us and completes the code and refresh grants', async () => {
    const issuer = new URL(system.baseUrl);
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', [oauth.allowInsecureRequests]: true }),
    );
    const client: oauth.Client = { client_id: clientId };
    const clientAuth = oauth.ClientSecretPost(clientSecret);
    const verifier = oauth.generateRandomCodeVerifier();
    const challenge = await oauth.calculatePKCECodeChallenge(verifier);
    const { back, state } = await connect({ extra: { code_challenge: challenge, code_challenge_method: 'S256' } });
    const params = oauth.validateAuthResponse(as, client, back, state);
    const response = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri, verifier, {
      [oauth.allowInsecureRequests]: true,
    });
    const result = await oauth.processAuthorizationCodeResponse(as, client, response);
    expect(result.token_type.toLowerCase()).toBe('bearer');
    expect(result.expires_in).toBe(3600);
    expect(result.refresh_token).toEqual(expect.any(String));

    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, oauth.ClientSecretBasic(clientSecret), result.refresh_token!, {
        [oauth.allowInsecureRequests]: true,
      }),
    );
    expect(refreshed.access_token).not.toBe(result.access_token);

    const wrong = await oauth.refreshTokenGrantRequest(
      as,
      client,
      oauth.ClientSecretPost('wrong'),
      refreshed.refresh_token!,
      {
        [oauth.allowInsecureRequests]: true,
      },
    );
    // Every invalid_client 401 carries a challenge (RFC 9110 §15.5.2): the client reports it as such.
    await expect(oauth.processRefreshTokenResponse(as, client, wrong)).rejects.toMatchObject({
      name: 'WWWAuthenticateChallengeError',
      status: 401,
      cause: [expect.objectContaining({ scheme: 'basic' })],
    });
  });

  it('no token, code or secret appears in any log line', async () => {
    const { back } = await connect();
    const code = back.searchParams.get('code')!;
    const tokens = await redeem(code);
    const joined = logs.join('');
    expect(joined).toContain('connection created');
    const secrets = [
      code,
      String(tokens.body.access_token),
      String(tokens.body.refresh_token),
      clientSecret,
      system.env.NOTION_CLIENT_SECRET!,
      system.env.OIDC_CLIENT_SECRET!,
      'alice-password',
    ];
    const notionToken = simulator().connectionByExternalKey('u-alice')?.accessToken;
    if (notionToken) secrets.push(notionToken);
    for (const secret of secrets) expect(joined).not.toContain(secret);
  });
});
