import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { Context } from 'aws-lambda';
import fc from 'fast-check';
import { MemoryAuthStateStore, MemoryConnectionStore } from '#adapters/memory/index.js';
import { type AuthorizeDependencies, CODE_TTL_MS } from '#core/oauth/authorize.js';
import { upstreamTokenContext } from '#core/oauth/cipher-contexts.js';
import type { Connection } from '#core/ports.js';
import {
  isNotionClientIdPlaceholder,
  NOTION_CLIENT_ID_PLACEHOLDER,
  NOTION_CREDENTIALS_PLACEHOLDER_MESSAGE,
} from '#lib/placeholders.js';
import { hashSecret } from '#shared/crypto.js';
import { logger, logTo, onMetric } from '#shared/observability.js';
import { httpEvent } from '#test/helpers/factories.js';
import { captureLogs } from '#test/helpers/output.js';
import {
  authorizeDependencies,
  CLIENT_ID,
  CLIENT_SECRET,
  FakeClock,
  FakeNotion,
  FakeUpstream,
  ISSUER,
  memoryEndings,
  NOTION_REDIRECT,
  tokenDependencies,
} from '#test/unit/oauth/fakes.js';
import { createAuthorizeHandler, PENDING_COOKIE } from '../../../functions/handlers/oauth-authorize.js';
import { createTokenHandler } from '../../../functions/handlers/oauth-token.js';

const context = {} as Context;
type Result = { statusCode: number; headers?: Record<string, unknown>; body?: string; cookies?: string[] };

let deps: AuthorizeDependencies;
let upstream: FakeUpstream;
let notion: FakeNotion;
let connections: MemoryConnectionStore;
let authState: MemoryAuthStateStore;
let clock: FakeClock;
let handler: ReturnType<typeof createAuthorizeHandler>;
let logs: string[];
let restoreStdout: () => void;

const authorizeQuery = (over: Record<string, string> = {}) => ({
  client_id: CLIENT_ID,
  redirect_uri: NOTION_REDIRECT,
  response_type: 'code',
  code: 'notion-code-123',
  state: 'notion-state-<&>',
  scope: 'unfurl',
  ...over,
});

const call = async (input: Parameters<typeof httpEvent>[0]): Promise<Result> =>
  (await handler(httpEvent(input), context)) as Result;

const pendingCookie = (r: Result): string | undefined =>
  r.cookies
    ?.map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith(`${PENDING_COOKIE}=`) && c.length > PENDING_COOKIE.length + 1);

const hidden = (html: string, name: string): string =>
  new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? '';
const decodeEntities = (s: string) => s.replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)));

/** Runs authorize → upstream callback; returns the consent page and the cookie. */
const toConsent = async (over: Record<string, string> = {}) => {
  const start = await call({ path: '/oauth/authorize', query: authorizeQuery(over) });
  expect(start.statusCode).toBe(302);
  const cookie = pendingCookie(start)!;
  const upstreamState = new URL(String(start.headers?.location)).searchParams.get('state')!;
  const consent = await call({
    path: '/oauth/callback',
    query: { code: 'ok', state: upstreamState },
    cookies: [cookie],
  });
  return { start, cookie, consent };
};

const submit = (cookie: string, html: string, decision: 'allow' | 'deny') =>
  call({
    method: 'POST',
    path: '/oauth/consent',
    cookies: [cookie],
    form: { pending: decodeEntities(hidden(html, 'pending')), csrf: decodeEntities(hidden(html, 'csrf')), decision },
  });

beforeEach(() => {
  clock = new FakeClock();
  upstream = new FakeUpstream();
  notion = new FakeNotion();
  connections = new MemoryConnectionStore();
  authState = new MemoryAuthStateStore();
  // The production log port: the handler's redacting logger, whose output the tests inspect.
  deps = authorizeDependencies({ authState, connections, notion, upstream, clock, log: logTo }, 'Acme <Tasks>');
  handler = createAuthorizeHandler(() => deps);
  logs = [];
  logger.setLogLevel('INFO'); // the logs are read below
  restoreStdout = captureLogs(logs);
});

afterEach(() => restoreStdout());

describe('setup not finished: the Notion credentials are still the placeholder', () => {
  it('authorize and consent answer a page naming the missing setup, log ERROR and count SetupIncomplete; nothing is stored', async () => {
    const counted: string[] = [];
    const stop = onMetric((name, dimensions) => counted.push(`${name} ${JSON.stringify(dimensions)}`));
    // ERROR lines go to stderr.
    const errors: string[] = [];
    const stderr = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => {
      errors.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    let placeholder = false;
    handler = createAuthorizeHandler(() => ({
      ...deps,
      setupProblem: async () => (placeholder ? NOTION_CREDENTIALS_PLACEHOLDER_MESSAGE : undefined),
    }));
    const { cookie, consent } = await toConsent();
    placeholder = true;
    const start = await call({ path: '/oauth/authorize', query: authorizeQuery() });
    const decided = await submit(cookie, consent.body ?? '', 'allow');
    stop();
    process.stderr.write = stderr;
    for (const r of [start, decided]) {
      expect(r.statusCode).toBe(503);
      expect(r.headers?.location).toBeUndefined();
      expect(r.body).toContain('NotionCredentialsSecretArn');
      expect(r.body).toContain('not set up');
    }
    expect(notion.calls).toHaveLength(0);
    expect(await connections.listBySubject('u-alice', clock.now())).toHaveLength(0);
    expect(counted).toEqual([
      'SetupIncomplete {"setting":"NOTION_CREDENTIALS_SECRET_ARN"}',
      'SetupIncomplete {"setting":"NOTION_CREDENTIALS_SECRET_ARN"}',
    ]);
    const logged = [...logs, ...errors].filter((l) => l.includes('"setup incomplete"'));
    expect(logged).toHaveLength(2);
    for (const line of logged) expect(line).toContain('"level":"ERROR"');
  });

  it('recognizes the placeholder the stack writes, and nothing else', () => {
    expect(isNotionClientIdPlaceholder(NOTION_CLIENT_ID_PLACEHOLDER)).toBe(true);
    expect(isNotionClientIdPlaceholder('a1b2c3d4-real-client-id')).toBe(false);
    expect(isNotionClientIdPlaceholder(undefined)).toBe(false);
  });
});

describe('GET /oauth/authorize', () => {
  it('stores a pending authorization and redirects to the upstream provider with PKCE, state and nonce', async () => {
    const r = await call({ path: '/oauth/authorize', query: authorizeQuery() });
    expect(r.statusCode).toBe(302);
    expect(String(r.headers?.location)).toMatch(/^https:\/\/idp\.example\/authorize\?/);
    expect(upstream.requests[0]).toMatchObject({ redirectUri: `${ISSUER}/oauth/callback` });
    expect(upstream.requests[0]?.codeVerifier.length).toBeGreaterThanOrEqual(43);
    const cookie = r.cookies?.[0] ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/Path=\/oauth/);
  });

  it('answers an unknown client, a foreign redirect_uri or a missing redirect_uri with an escaped error page, never a redirect', async () => {
    for (const query of [
      authorizeQuery({ client_id: 'evil<script>' }),
      authorizeQuery({ redirect_uri: 'https://evil.example/cb' }),
      { client_id: CLIENT_ID, response_type: 'code', code: 'x' },
    ]) {
      const r = await call({ path: '/oauth/authorize', query });
      expect(r.statusCode).toBe(400);
      expect(r.headers?.location).toBeUndefined();
      expect(r.headers?.['content-type']).toMatch(/text\/html/);
      expect(r.body).not.toContain('<script>');
    }
  });

  it('rejects repeated parameters', async () => {
    const q = new URLSearchParams(authorizeQuery());
    q.append('redirect_uri', 'https://evil.example/cb');
    const r = await call({ path: '/oauth/authorize', query: q.toString() });
    expect(r.statusCode).toBe(400);
    expect(r.headers?.location).toBeUndefined();
    const q2 = new URLSearchParams(authorizeQuery());
    q2.append('state', 'second');
    const r2 = await call({ path: '/oauth/authorize', query: q2.toString() });
    expect(new URL(String(r2.headers?.location)).searchParams.get('error')).toBe('invalid_request');
  });

  it('takes a parameter sent without a value as omitted, so an empty copy beside the value repeats nothing', async () => {
    for (const name of ['client_id', 'redirect_uri', 'response_type', 'state']) {
      for (const emptyFirst of [true, false]) {
        const full = new URLSearchParams(authorizeQuery()).toString();
        const query = emptyFirst ? `${name}=&${full}` : `${full}&${name}=`;
        const r = await call({ path: '/oauth/authorize', query });
        expect([name, r.statusCode, String(r.headers?.location).startsWith('https://idp.example/authorize?')]).toEqual([
          name,
          302,
          true,
        ]);
      }
    }
  });

  it('ignores a parameter it does not read, even repeated (RFC 6749 §3.1)', async () => {
    const q = new URLSearchParams(authorizeQuery());
    q.append('utm_source', 'a');
    q.append('utm_source', 'b');
    const r = await call({ path: '/oauth/authorize', query: q.toString() });
    expect(r.statusCode).toBe(302);
    expect(String(r.headers?.location)).toMatch(/^https:\/\/idp\.example\/authorize\?/);
    expect(pendingCookie(r)).toBeDefined();
  });

  it('redirects invalid_request, with state and iss, for a code_challenge S256 cannot produce', async () => {
    for (const code_challenge of ['x'.repeat(44), `${'x'.repeat(42)}~`, `${'x'.repeat(42)}.`, 'x'.repeat(128)]) {
      const r = await call({
        path: '/oauth/authorize',
        query: authorizeQuery({ code_challenge, code_challenge_method: 'S256' }),
      });
      expect(r.statusCode).toBe(302);
      const location = new URL(String(r.headers?.location));
      expect(location.origin + location.pathname).toBe(NOTION_REDIRECT);
      expect(location.searchParams.get('error')).toBe('invalid_request');
      expect(location.searchParams.get('state')).toBe('notion-state-<&>');
      expect(location.searchParams.get('iss')).toBe(ISSUER);
    }
    expect(upstream.requests).toHaveLength(0);
    const ok = await call({
      path: '/oauth/authorize',
      query: authorizeQuery({
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      }),
    });
    expect(String(ok.headers?.location)).toMatch(/^https:\/\/idp\.example\/authorize\?/);
  });

  it('redirects temporarily_unavailable when the upstream provider cannot be reached', async () => {
    upstream.failAuthorizationUrl = true;
    const r = await call({ path: '/oauth/authorize', query: authorizeQuery() });
    const location = new URL(String(r.headers?.location));
    expect(location.origin + location.pathname).toBe(NOTION_REDIRECT);
    expect(location.searchParams.get('error')).toBe('temporarily_unavailable');
    expect(location.searchParams.get('state')).toBe('notion-state-<&>');
  });
});

describe('consent and the round trip', () => {
  it('shows an escaped consent page with a strict CSP and an anti-CSRF token', async () => {
    const { consent } = await toConsent();
    expect(consent.statusCode).toBe(200);
    expect(consent.body).toContain('Alice &#60;Anderson&#62;');
    expect(consent.body).not.toContain('Alice <Anderson>');
    expect(consent.body).toContain('<form method="post" action="/oauth/consent">');
    expect(consent.body).toContain('name="decision" value="allow"');
    expect(hidden(consent.body!, 'csrf').length).toBeGreaterThan(20);
    const csp = String(consent.headers?.['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("form-action 'self' https://www.notion.so");
    expect(csp).toContain("frame-ancestors 'none'");
  });

  it('allow → exchanges Notion’s code with external_account, stores the encrypted token, redirects with our code and state', async () => {
    const { cookie, consent } = await toConsent();
    const r = await submit(cookie, consent.body!, 'allow');
    expect(r.statusCode).toBe(303);
    const location = new URL(String(r.headers?.location));
    expect(location.origin + location.pathname).toBe(NOTION_REDIRECT);
    expect(location.searchParams.get('state')).toBe('notion-state-<&>');
    const code = location.searchParams.get('code')!;
    expect(notion.calls).toEqual([
      { code: 'notion-code-123', externalAccount: { key: 'u-alice', name: 'Alice <Anderson>' } },
    ]);
    const [connection] = await connections.listBySubject('u-alice', clock.now());
    expect(connection?.status).toBe('active');
    expect(connection?.notionTokenCiphertext).toBeDefined();
    expect(connection?.notionTokenCiphertext).not.toContain('secret_notion');

    const token = createTokenHandler(() => tokenDependencies({ authState, connections, clock }));
    const t = (await token(
      httpEvent({
        method: 'POST',
        path: '/oauth/token',
        form: {
          grant_type: 'authorization_code',
          code,
          redirect_uri: NOTION_REDIRECT,
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
        },
      }),
      context,
    )) as Result;
    expect(t.statusCode).toBe(200);
    expect(JSON.parse(t.body!)).toMatchObject({ token_type: 'Bearer', scope: 'unfurl' });

    const joined = logs.join('');
    expect(joined).toContain('connection created');
    for (const secret of [
      code,
      'notion-code-123',
      'secret_notion',
      CLIENT_SECRET,
      hidden(consent.body!, 'csrf'),
      // The pending-login id (the cookie's value) is logged only as a fingerprint.
      cookie.slice(PENDING_COOKIE.length + 1),
      JSON.parse(t.body!).access_token,
      JSON.parse(t.body!).refresh_token,
    ]) {
      expect(joined).not.toContain(secret);
    }
  });

  it('encrypts the upstream tokens for the connection: another connection of the same user cannot read them', async () => {
    const { cookie, consent } = await toConsent();
    expect((await submit(cookie, consent.body!, 'allow')).statusCode).toBe(303);
    notion.workspaceId = 'ws-2';
    const second = await toConsent();
    expect((await submit(second.cookie, second.consent.body!, 'allow')).statusCode).toBe(303);
    const both = await connections.listBySubject('u-alice', clock.now());
    expect(both).toHaveLength(2);
    const [a, b] = both as [Connection, Connection];
    const cipher = deps.cipher;
    const read = (ciphertext: string | undefined, connectionId: string) =>
      cipher.decrypt(ciphertext ?? '', upstreamTokenContext(connectionId)).then(
        (plain) => JSON.parse(plain) as unknown,
        () => 'refused',
      );
    expect(await read(a.upstreamTokenCiphertext, a.id)).toEqual({ accessToken: 'upstream-at' });
    expect(await read(b.upstreamTokenCiphertext, b.id)).toEqual({ accessToken: 'upstream-at' });
    // A ciphertext copied to the other connection (same user, same purpose) does not decrypt there.
    expect(await read(a.upstreamTokenCiphertext, b.id)).toBe('refused');
    expect(await read(b.upstreamTokenCiphertext, a.id)).toBe('refused');
  });

  it('deny → access_denied with state, nothing stored; the same user who tries again is asked again', async () => {
    const { cookie, consent } = await toConsent();
    const r = await submit(cookie, consent.body!, 'deny');
    const location = new URL(String(r.headers?.location));
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('error_description')).toBeTruthy();
    expect(location.searchParams.get('state')).toBe('notion-state-<&>');
    expect(notion.calls).toHaveLength(0);
    expect(await connections.listBySubject('u-alice', clock.now())).toHaveLength(0);

    // Changing one's mind at once: the next attempt shows the consent page, and allowing connects.
    const again = await toConsent();
    expect(again.consent.statusCode).toBe(200);
    expect(again.consent.body).toContain('name="decision"');
    const allowed = await submit(again.cookie, again.consent.body!, 'allow');
    expect(new URL(String(allowed.headers?.location)).searchParams.get('code')).toBeTruthy();
    expect(await connections.listBySubject('u-alice', clock.now())).toHaveLength(1);
  });

  it('upstream login failure → access_denied to Notion with state, nothing stored', async () => {
    const start = await call({ path: '/oauth/authorize', query: authorizeQuery() });
    const cookie = pendingCookie(start)!;
    const r = await call({ path: '/oauth/callback', query: { error: 'access_denied', state: 'x' }, cookies: [cookie] });
    const location = new URL(String(r.headers?.location));
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('state')).toBe('notion-state-<&>');
    expect(await connections.listBySubject('u-alice', clock.now())).toHaveLength(0);
  });

  it('a callback that repeats a parameter gets a 400 page, and the sign-in is not completed', async () => {
    const start = await call({ path: '/oauth/authorize', query: authorizeQuery() });
    const cookie = pendingCookie(start)!;
    const upstreamState = new URL(String(start.headers?.location)).searchParams.get('state')!;
    for (const query of [
      `code=ok&code=evil&state=${upstreamState}`,
      `code=ok&state=${upstreamState}&state=other`,
      `code=ok&state=${upstreamState}&iss=a&iss=b`,
    ]) {
      const r = await call({ path: '/oauth/callback', query, cookies: [cookie] });
      expect(r.statusCode).toBe(400);
      expect(r.headers?.['content-type']).toMatch(/text\/html/);
      expect(r.headers?.location).toBeUndefined();
      expect(r.body).toContain('repeat');
      expect(r.body).not.toContain('evil');
    }
    // Each refusal is logged with a fixed reason, never the request's values.
    const refusals = logs.filter((l) => l.includes('"browser request refused"'));
    expect(refusals).toHaveLength(3);
    for (const line of refusals) {
      expect(line).toContain('"reason":"repeated_parameter"');
      expect(line).toContain('"status":400');
      expect(line).not.toContain('evil');
    }
    // The pending authorization is untouched: the real answer still completes it.
    const consent = await call({
      path: '/oauth/callback',
      query: { code: 'ok', state: upstreamState },
      cookies: [cookie],
    });
    expect(consent.statusCode).toBe(200);
  });

  it('a callback without the pending cookie or with a forged state is not accepted', async () => {
    const { start } = await toConsent();
    const upstreamState = new URL(String(start.headers?.location)).searchParams.get('state')!;
    const noCookie = await call({ path: '/oauth/callback', query: { code: 'ok', state: upstreamState } });
    expect(noCookie.statusCode).toBe(400);
    const start2 = await call({ path: '/oauth/authorize', query: authorizeQuery() });
    const forged = await call({
      path: '/oauth/callback',
      query: { code: 'ok', state: 'forged' },
      cookies: [pendingCookie(start2)!],
    });
    expect(new URL(String(forged.headers?.location)).searchParams.get('error')).toBe('access_denied');
  });

  it('Notion’s token endpoint failing or slow → a clear error for the user, nothing stored', async () => {
    for (const mode of ['unavailable', 'rejected'] as const) {
      notion.mode = mode;
      const { cookie, consent } = await toConsent();
      const r = await submit(cookie, consent.body!, 'allow');
      const location = new URL(String(r.headers?.location));
      expect(location.searchParams.get('error')).toBe(
        mode === 'unavailable' ? 'temporarily_unavailable' : 'server_error',
      );
      expect(location.searchParams.get('error_description')).toMatch(/Nothing was connected/);
      expect(await connections.listBySubject('u-alice', clock.now())).toHaveLength(0);
    }
  });

  it('answers the consent POST with 303 See Other, so no browser re-sends the form to Notion (RFC 9700 §4.12)', async () => {
    for (const decision of ['allow', 'deny'] as const) {
      const { cookie, consent } = await toConsent();
      const r = await submit(cookie, consent.body!, decision);
      expect(r.statusCode).toBe(303);
      expect(String(r.headers?.location)).toMatch(/^https:\/\/www\.notion\.so\/externalintegrationauthcallback\?/);
    }
    // The GET steps keep 302.
    expect((await call({ path: '/oauth/authorize', query: authorizeQuery() })).statusCode).toBe(302);
  });

  it('refuses a consent without the right CSRF token or from another browser', async () => {
    const { cookie, consent } = await toConsent();
    const pending = decodeEntities(hidden(consent.body!, 'pending'));
    const badCsrf = await call({
      method: 'POST',
      path: '/oauth/consent',
      cookies: [cookie],
      form: { pending, csrf: 'nope', decision: 'allow' },
    });
    expect(badCsrf.statusCode).toBe(403);
    const otherBrowser = await submit(`${PENDING_COOKIE}=someone-else`, consent.body!, 'allow');
    expect(otherBrowser.statusCode).toBe(403);
    expect(notion.calls).toHaveLength(0);
    const ok = await submit(cookie, consent.body!, 'allow');
    expect(ok.statusCode).toBe(303);
    const replay = await submit(cookie, consent.body!, 'allow');
    expect(replay.statusCode).toBe(400);
    expect(notion.calls).toHaveLength(1);
  });

  it('several workspaces of one user become several connections', async () => {
    for (const ws of ['ws-1', 'ws-2']) {
      notion.workspaceId = ws;
      const { cookie, consent } = await toConsent();
      await submit(cookie, consent.body!, 'allow');
    }
    const list = await connections.listBySubject('u-alice', clock.now());
    expect(
      list
        .filter((c) => c.status === 'active')
        .map((c) => c.notion.workspaceId)
        .sort(),
    ).toEqual(['ws-1', 'ws-2']);
  });

  it('a pending authorization expires after 10 minutes; our code lives at most 60 seconds', async () => {
    const start = await call({ path: '/oauth/authorize', query: authorizeQuery() });
    const upstreamState = new URL(String(start.headers?.location)).searchParams.get('state') ?? '';
    clock.advance(10 * 60 * 1000 + 1);
    const late = await call({
      path: '/oauth/callback',
      query: { code: 'ok', state: upstreamState },
      cookies: [pendingCookie(start) ?? ''],
    });
    expect(late.statusCode).toBe(400);
    expect(late.body).toContain('expired');

    const { cookie, consent } = await toConsent();
    const allowedAt = clock.now();
    const r = await submit(cookie, consent.body ?? '', 'allow');
    const code = new URL(String(r.headers?.location)).searchParams.get('code') ?? '';
    clock.advance(60_001);
    expect(await authState.redeemCode(hashSecret(code), clock.now())).toEqual({ outcome: 'expired' });
    clock.t = allowedAt;
    expect((await authState.redeemCode(hashSecret(code), clock.now())).outcome).toBe('redeemed');
  });

  it('a malformed consent body gets an HTML page, not JSON or a 500', async () => {
    const r = await call({
      method: 'POST',
      path: '/oauth/consent',
      body: 'a=1&a=2',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(r.statusCode).toBe(400);
    expect(r.headers?.['content-type']).toMatch(/text\/html/);
    const j = await call({ method: 'POST', path: '/oauth/consent', body: { decision: 'allow' } });
    expect(j.statusCode).toBe(415);
    expect(j.headers?.['content-type']).toMatch(/text\/html/);
  });
});

describe('a failure of ours once the redirect_uri is known is told to Notion by redirect (RFC 6749 §4.1.2.1)', () => {
  const throttled = () => Object.assign(new Error('Rate of requests exceeded'), { name: 'ThrottlingException' });

  /** A GET step answers 302, the consent POST 303. */
  const expectErrorRedirect = (r: Result, error: string, status = 302) => {
    expect(r.statusCode).toBe(status);
    const location = new URL(String(r.headers?.location));
    expect(location.origin + location.pathname).toBe(NOTION_REDIRECT);
    expect(location.searchParams.get('error')).toBe(error);
    expect(location.searchParams.get('state')).toBe('notion-state-<&>');
    expect(location.searchParams.get('iss')).toBe(ISSUER);
    expect(location.searchParams.get('error_description')).toMatch(/^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/);
    // The browser's pending cookie goes with it.
    expect(r.cookies?.some((c) => c.startsWith(`${PENDING_COOKIE}=;`))).toBe(true);
  };

  it('the pending authorization cannot be stored: temporarily_unavailable when throttled, server_error otherwise', async () => {
    const metrics: Record<string, string>[] = [];
    const off = onMetric((name, dimensions) => metrics.push({ name, ...dimensions }));
    authState.putPending = async () => {
      throw throttled();
    };
    expectErrorRedirect(await call({ path: '/oauth/authorize', query: authorizeQuery() }), 'temporarily_unavailable');
    authState.putPending = async () => {
      throw new Error('boom');
    };
    expectErrorRedirect(await call({ path: '/oauth/authorize', query: authorizeQuery() }), 'server_error');
    off();
    expect(metrics.filter((m) => m.name === 'AuthorizationFailed')).toEqual([
      { name: 'AuthorizationFailed', reason: 'throttled' },
      { name: 'AuthorizationFailed', reason: 'failed' },
    ]);
    expect(logs.join('\n')).toMatch(/authorization failed after the redirect_uri was validated/);
  });

  it('the sign-in cannot be recorded after the upstream login: an error redirect, not a page', async () => {
    authState.updatePending = async () => {
      throw new Error('boom');
    };
    const { consent } = await toConsent();
    expectErrorRedirect(consent, 'server_error');
  });

  it('the connection cannot be created after consent took the pending authorization: Notion hears of it', async () => {
    const { cookie, consent } = await toConsent();
    connections.create = async () => {
      throw throttled();
    };
    expectErrorRedirect(await submit(cookie, consent.body!, 'allow'), 'temporarily_unavailable', 303);
    const { cookie: cookie2, consent: consent2 } = await toConsent();
    authState.putCode = async () => {
      throw new Error('boom');
    };
    connections.create = MemoryConnectionStore.prototype.create.bind(connections);
    expectErrorRedirect(await submit(cookie2, consent2.body!, 'allow'), 'server_error', 303);
    // The connection made before the code failed is ended again (nothing usable is left).
    const left = await connections.listBySubject('u-alice', clock.now());
    expect(left.filter((c) => c.status === 'active')).toHaveLength(0);
  });

  it('before the request is known (no pending authorization can be read) the busy page stays', async () => {
    const { cookie, consent } = await toConsent();
    authState.takePendingForConsent = async () => {
      throw throttled();
    };
    const r = await submit(cookie, consent.body!, 'allow');
    expect(r.statusCode).toBe(503);
    expect(r.headers?.['content-type']).toMatch(/text\/html/);
    expect(r.headers?.location).toBeUndefined();
  });
});

describe('error redirects a strict client accepts', () => {
  /** RFC 6749 §4.1.2.1 / §5.2: %x20-21 / %x23-5B / %x5D-7E. */
  const CHARSET = /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/;
  const hostile = fc.string({ minLength: 1, maxLength: 30 }).map((s) => `"${s}\\`);

  it('error_description in the redirect to Notion is fixed text: no quote, no backslash, no value sent', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            response_type: fc.oneof(hostile, fc.constant('code')),
            code: fc.oneof(hostile, fc.constant('notion-code-1')),
            state: hostile,
            scope: hostile,
            code_challenge: hostile,
            code_challenge_method: fc.oneof(hostile, fc.constant('S256')),
          },
          { requiredKeys: [] },
        ),
        fc.option(fc.constantFrom('response_type', 'code', 'scope', 'x"y\\')),
        async (params, repeated) => {
          const query = new URLSearchParams({ client_id: CLIENT_ID, redirect_uri: NOTION_REDIRECT, ...params });
          if (repeated) query.append(repeated, 'again');
          const r = await call({ path: '/oauth/authorize', query: query.toString() });
          const location = r.headers?.location;
          if (typeof location !== 'string' || !location.startsWith(NOTION_REDIRECT)) return;
          const description = new URL(location).searchParams.get('error_description');
          if (description === null) return;
          expect(description).toMatch(CHARSET);
          // Our own parameter names and values may appear; what the client made up (with its quote) may not.
          for (const sent of [...Object.values(params), repeated ?? '']) {
            if (sent.includes('"') && sent.length > 3) expect(description).not.toContain(sent);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('a connection whose code Notion never redeems (ADR 0160)', () => {
  const redeem = async (code: string) =>
    (await createTokenHandler(() => tokenDependencies({ authState, connections, clock }))(
      httpEvent({
        method: 'POST',
        path: '/oauth/token',
        form: {
          grant_type: 'authorization_code',
          code,
          redirect_uri: NOTION_REDIRECT,
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
        },
      }),
      context,
    )) as Result;

  it('lapses a minute after its code: it is left out from then on, and a reconnect does not end it again', async () => {
    const endings = memoryEndings();
    handler = createAuthorizeHandler(() => ({ ...deps, endings }));
    const allowedAt = clock.now();
    const first = await toConsent();
    const abandoned = await submit(first.cookie, first.consent.body!, 'allow');
    expect(new URL(String(abandoned.headers?.location)).searchParams.get('code')).toBeTruthy();
    const [inert] = await connections.listBySubject('u-alice', clock.now());
    expect(inert).toMatchObject({ status: 'active', expiresAt: allowedAt + CODE_TTL_MS + 60_000 });
    expect(inert?.notionTokenCiphertext).toBeDefined();

    // Notion never redeems the code: a minute after the code expired, the connection counts as absent.
    clock.t = allowedAt + CODE_TTL_MS + 60_000 - 1;
    expect(await connections.listBySubject('u-alice', clock.now())).toHaveLength(1);
    clock.t = allowedAt + CODE_TTL_MS + 60_000;
    expect(await connections.listBySubject('u-alice', clock.now())).toEqual([]);

    // The user connects the same workspace again: the lapsed one is not "superseded" (no end, no log line).
    const again = await toConsent();
    const code = new URL(
      String((await submit(again.cookie, again.consent.body!, 'allow')).headers?.location),
    ).searchParams.get('code')!;
    expect(endings.ended).toEqual([]);
    expect(logs.join('')).not.toContain('connection superseded');
    expect((await redeem(code)).statusCode).toBe(200);

    // Redeemed, the new one no longer lapses.
    const [live] = await connections.listBySubject('u-alice', clock.now());
    expect(live).not.toHaveProperty('expiresAt');
    clock.advance(365 * 86_400_000);
    expect((await connections.listBySubject('u-alice', clock.now())).map((c) => c.id)).toEqual([live?.id]);
  });

  it('a reconnect while the earlier code could still be redeemed ends the earlier connection, whose code then fails', async () => {
    const endings = memoryEndings();
    handler = createAuthorizeHandler(() => ({ ...deps, endings }));
    const first = await toConsent();
    const firstCode = new URL(
      String((await submit(first.cookie, first.consent.body!, 'allow')).headers?.location),
    ).searchParams.get('code')!;
    clock.advance(5_000);
    const second = await toConsent();
    const secondCode = new URL(
      String((await submit(second.cookie, second.consent.body!, 'allow')).headers?.location),
    ).searchParams.get('code')!;
    expect(endings.ended.map((e) => e.reason)).toEqual(['superseded']);
    expect((await redeem(firstCode)).statusCode).toBe(400);
    expect((await redeem(secondCode)).statusCode).toBe(200);
  });
});
