import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createUpstreamProvider } from '#adapters/oidc/upstream.js';
import { UpstreamLoginError } from '#core/oauth/ports.js';
import { createMount } from '#local/idp/mount.js';
import type { LocalMount } from '#local/mount.js';
import { TestBrowser } from './browser.js';

let server: Server;
let base: string;
let mount: LocalMount;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url?.startsWith('/idp')) {
      mount.handle(req, res).catch(() => res.end());
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  mount = await createMount({
    baseUrl: base,
    env: { OIDC_CLIENT_ID: 'test-client', OIDC_CLIENT_SECRET: 'test-client-secret', LOCAL_IDP_COOKIE_KEYS: 'k1,k2' },
  });
});

afterAll(async () => {
  await mount.close?.();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const login = { redirectUri: '', state: 'upstream-state-123', nonce: 'nonce-123456', codeVerifier: 'v'.repeat(43) };

const provider = () =>
  createUpstreamProvider({
    issuer: `${base}/idp`,
    clientId: 'test-client',
    clientSecret: async () => 'test-client-secret',
  });

describe('local OpenID Connect provider under /idp', () => {
  it('serves discovery with the /idp issuer', async () => {
    const res = await fetch(`${base}/idp/.well-known/openid-configuration`);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc.issuer).toBe(`${base}/idp`);
    expect(String(doc.authorization_endpoint)).toMatch(new RegExp(`^${base}/idp/`));
    expect(doc.code_challenge_methods_supported).toContain('S256');
  });

  it('logs a demo user in through its plain HTML form; openid-client verifies the ID token', async () => {
    const upstream = provider();
    const request = { ...login, redirectUri: `${base}/oauth/callback` };
    const browser = new TestBrowser((url) => url.pathname === '/oauth/callback');
    const form = await browser.request(await upstream.authorizationUrl(request));
    expect(form.body).toMatch(/<form method="post"/);
    const wrong = await browser.submit(form, { login: 'alice', password: 'nope' });
    expect(wrong.status).toBe(401);
    const done = await browser.submit(wrong, { login: 'alice', password: 'alice-password' });
    const callback = new URL(done.url);
    expect(callback.searchParams.get('state')).toBe(request.state);
    const user = await upstream.finishLogin(callback, request);
    expect(user).toMatchObject({ subject: 'u-alice', displayName: 'Alice Anderson' });
  });

  it('requires PKCE and reports a cancelled sign-in as denied', async () => {
    const direct = await fetch(
      `${base}/idp/auth?client_id=test-client&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(`${base}/oauth/callback`)}`,
      {
        redirect: 'manual',
      },
    );
    expect(new URL(direct.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');

    const upstream = provider();
    const request = { ...login, redirectUri: `${base}/oauth/callback` };
    const browser = new TestBrowser((url) => url.pathname === '/oauth/callback');
    const form = await browser.request(await upstream.authorizationUrl(request));
    const cancel = /href="([^"]*abort)"/.exec(form.body)![1]!.replace(/&#47;/g, '/');
    const done = await browser.request(new URL(cancel, form.url).toString());
    const error = await upstream.finishLogin(new URL(done.url), request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamLoginError);
    expect((error as UpstreamLoginError).kind).toBe('denied');
  });

  it('refuses http issuers that are not loopback', () => {
    expect(() =>
      createUpstreamProvider({ issuer: 'http://idp.example.com', clientId: 'x', clientSecret: async () => 'y' }),
    ).toThrow(/https/);
  });
});
