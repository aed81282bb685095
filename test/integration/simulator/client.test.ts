/**
 * The simulator's client behaviour and playground endpoints on their own (no
 * service): link matching and placeholders, the authorize redirect Notion
 * builds, the state check on return, and live pushes over Server-Sent Events.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '#local/notion-simulator/clock.js';
import { NotionDriver } from '#local/notion-simulator/driver.js';
import type { StartedSimulator } from '#local/notion-simulator/server.js';
import { startNotionSimulator } from '#local/notion-simulator/server.js';
import { PLAYGROUND_CSP, SESSION_COOKIE } from '#local/notion-simulator/simulator.js';

const integration = {
  domain: 'acme.test',
  rules: [
    {
      name: 'item',
      pattern: String.raw`^https://acme\.test/items/(?<itemNo>\d+)$`,
      placeholder: [
        {
          id: 'title',
          name: 'Title',
          type: 'inline',
          inline: { title: { value: 'Acme Item #$<itemNo>', section: 'title' } },
        },
        {
          id: 'id',
          name: 'Id',
          type: 'inline',
          inline: { plain_text: { value: '#$<itemNo>', section: 'identifier' } },
        },
      ],
    },
  ],
};
let sim: StartedSimulator;

beforeAll(async () => {
  sim = await startNotionSimulator({
    integration,
    notionClient: { clientId: 'n-id', clientSecret: 'n-secret' },
    serviceClient: { clientId: 'svc-client', clientSecret: 'svc-secret' },
    settings: (d) => ({ ...d, client: { ...d.client, serviceBaseUrl: 'https://service.example', scope: 'unfurl' } }),
  });
});
afterAll(async () => {
  await sim.stop();
});

/**
 * A Notion user of the simulator at `baseUrl` who pasted `url` and pressed Connect: the driver, the preview,
 * and `callback()`, which lands the service's redirect with its code (set the service's answers first).
 */
const pasteAndConnect = async (baseUrl: string, url: string) => {
  const driver = new NotionDriver({ baseUrl });
  await driver.open();
  const pasted = await driver.paste(url, { signIn: false });
  const cookie = driver.jar.header(new URL(baseUrl)) ?? '';
  const connect = await fetch(`${baseUrl}/playground/connect`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: '{}',
  });
  const state = new URL(((await connect.json()) as { location: string }).location).searchParams.get('state');
  const callback = (method: 'GET' | 'HEAD' = 'GET') =>
    fetch(`${baseUrl}/notion/externalintegrationauthcallback?code=svc-code&state=${state}`, {
      method,
      headers: { cookie },
      redirect: 'manual',
    });
  return { driver, pasted, callback };
};

const sessionId = (driver: NotionDriver) =>
  new RegExp(`${SESSION_COOKIE}=([^;]+)`).exec(driver.jar.header(new URL(`${sim.baseUrl}/`)) ?? '')?.[1] ?? '';

describe('playground client behaviour', () => {
  it('serves the page with a strict CSP and a session cookie', async () => {
    const res = await fetch(`${sim.baseUrl}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(PLAYGROUND_CSP);
    expect(PLAYGROUND_CSP).toContain("script-src 'self'");
    expect(PLAYGROUND_CSP).not.toContain('unsafe-inline');
    expect(res.headers.get('set-cookie')).toMatch(
      new RegExp(`^${SESSION_COOKIE}=[\\w-]+; Path=/; HttpOnly; SameSite=Lax$`),
    );
  });

  it('shows the placeholder with groups substituted and asks to connect', async () => {
    const driver = new NotionDriver({ baseUrl: sim.baseUrl });
    await driver.open();
    const preview = await driver.paste('https://acme.test/items/42', { signIn: false });
    expect(preview.state).toBe('needs-auth');
    expect(preview.placeholder?.title).toBe('Acme Item #42');
    expect(preview.placeholder?.sections.identifier[0]?.text).toBe('#42');
    await expect(driver.paste('https://elsewhere.test/items/42', { signIn: false })).rejects.toThrow('No URL rule');
  });

  it('sends the browser to the authorize URL with Notion’s code, state, client_id, scope and redirect_uri', async () => {
    const driver = new NotionDriver({ baseUrl: sim.baseUrl });
    await driver.open();
    const res = await fetch(`${sim.baseUrl}/playground/connect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: driver.jar.header(new URL(sim.baseUrl)) ?? '' },
      body: '{}',
    });
    const { location } = (await res.json()) as { location: string };
    const url = new URL(location);
    expect(`${url.origin}${url.pathname}`).toBe('https://service.example/oauth/authorize');
    expect(url.searchParams.get('code')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(url.searchParams.get('client_id')).toBe('svc-client');
    expect(url.searchParams.get('response_type')).toBe('code');
    expect(url.searchParams.get('scope')).toBe('unfurl');
    expect(url.searchParams.get('redirect_uri')).toBe(`${sim.baseUrl}/notion/externalintegrationauthcallback`);
    expect(url.searchParams.get('state')?.length).toBeGreaterThanOrEqual(16);
    expect(url.searchParams.has('code_challenge')).toBe(false);

    // The service can exchange that Notion code exactly once.
    const exchange = () =>
      fetch(`${sim.apiBaseUrl}/v1/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from('n-id:n-secret').toString('base64')}`,
          'notion-version': '2022-06-28',
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          grant_type: 'authorization_code',
          code: url.searchParams.get('code'),
          external_account: { key: 'k', name: 'n' },
        }),
      });
    expect((await exchange()).status).toBe(200);
    expect((await exchange()).status).toBe(400);

    // A return with another state is refused; the right state proceeds (here to a token call that fails: no service).
    const cookie = driver.jar.header(new URL(sim.baseUrl)) ?? '';
    const wrong = await fetch(`${sim.baseUrl}/notion/externalintegrationauthcallback?code=x&state=forged`, {
      headers: { cookie },
      redirect: 'manual',
    });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain('state does not match');
    const denied = await fetch(
      `${sim.baseUrl}/notion/externalintegrationauthcallback?error=access_denied&state=${url.searchParams.get('state')}`,
      { headers: { cookie }, redirect: 'manual' },
    );
    expect(denied.status).toBe(302);
    expect(denied.headers.get('location')).toBe(`${sim.baseUrl}/`);
    expect((await driver.state()).lastAuthError).toContain('access_denied');
  });

  it('refuses cross-origin and non-JSON posts to the playground', async () => {
    const form = await fetch(`${sim.baseUrl}/playground/disconnect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1',
    });
    expect(form.status).toBe(403);
    const cross = await fetch(`${sim.baseUrl}/playground/disconnect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.test' },
      body: '{}',
    });
    expect(cross.status).toBe(403);
  });

  it('refuses a post body that is not a JSON object, too large, or names a setting value it does not know', async () => {
    const post = (path: string, body: string) =>
      fetch(`${sim.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const before = (await (await post('/playground/settings', '{}')).json()) as { settings: unknown };
    for (const body of ['[]', 'null', '42', '"x"']) {
      const res = await post('/playground/settings', body);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'the body must be a JSON object' });
    }
    const big = await post('/playground/previews', JSON.stringify({ url: 'x'.repeat(70 * 1024) }));
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ error: 'the body is larger than 64 KB' });
    for (const client of [[1], 'post', { tokenAuth: 'none' }, { deletedTokenMethod: 5 }]) {
      const res = await post('/playground/settings', JSON.stringify({ client }));
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/^client/);
    }
    // Nothing was changed by the refused posts.
    expect(await (await post('/playground/settings', '{}')).json()).toEqual(before);
    const ok = await post('/playground/settings', JSON.stringify({ client: { tokenAuth: 'client_secret_basic' } }));
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { settings: { tokenAuth: string } }).settings.tokenAuth).toBe('client_secret_basic');
    await post('/playground/settings', JSON.stringify({ client: { tokenAuth: 'client_secret_post' } }));
  });

  it('pushes an accepted update and a rejected one over Server-Sent Events', async () => {
    const driver = new NotionDriver({ baseUrl: sim.baseUrl });
    await driver.open();
    const preview = await driver.paste('https://acme.test/items/9', { signIn: false });
    const session = sim.simulator.session(sessionId(driver));
    if (!session) throw new Error('no session');
    // Give this Notion user a connection on Notion's side, as the service's code exchange would.
    const { accessToken, connectionId } = sim.simulator.createConnection({ key: 'sse-user' });
    const conn = sim.simulator.connection(connectionId);
    if (!conn) throw new Error('no connection');
    conn.sessionId = session.id;

    const controller = new AbortController();
    const events = await fetch(`${sim.baseUrl}/playground/events`, {
      headers: { cookie: driver.jar.header(new URL(sim.baseUrl)) ?? '' },
      signal: controller.signal,
    });
    expect(events.headers.get('content-type')).toContain('text/event-stream');
    const reader = (events.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    type PushedState = { previews: Array<{ id: string; card?: { title: string }; validationError?: string }> };
    const nextState = async (predicate: (s: PushedState) => boolean): Promise<PushedState> => {
      for (;;) {
        const blocks = buffer.split('\n\n');
        buffer = blocks.pop() ?? '';
        for (const block of blocks) {
          const m = /^event: state\ndata: (.*)$/s.exec(block);
          if (m) {
            const state = JSON.parse(m[1] as string) as PushedState;
            if (predicate(state)) return state;
          }
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buffer += decoder.decode(value, { stream: true });
      }
    };
    const patch = (body: unknown) =>
      fetch(`${sim.apiBaseUrl}/v1/external/object`, {
        method: 'PATCH',
        headers: {
          authorization: `Bearer ${accessToken}`,
          'notion-version': '2021-08-16',
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
      });
    const dev = {
      id: 'dev',
      name: 'Dev',
      type: 'inline',
      inline: { plain_text: { value: 'Acme', section: 'secondary' } },
    };
    const title = {
      id: 'title',
      name: 'Title',
      type: 'inline',
      inline: { title: { value: 'Live <b>title</b>', section: 'title' } },
    };
    try {
      expect(
        (await patch({ uri: preview.uri, operations: [{ path: ['attributes'], set: [title, dev] }] })).status,
      ).toBe(200);
      const updated = await nextState((s) =>
        s.previews.some((p) => p.id === preview.id && p.card?.title === 'Live <b>title</b>'),
      );
      expect(updated).toBeDefined();
      expect((await patch({ uri: preview.uri, operations: [{ path: ['attributes'], set: [dev] }] })).status).toBe(400);
      const rejected = await nextState((s) =>
        s.previews.some(
          (p) => p.id === preview.id && (p.validationError ?? '').includes('"title" attribute is required'),
        ),
      );
      // The last good card stays; the rejected payload is shown as an error, not rendered.
      expect(rejected.previews.find((p) => p.id === preview.id)?.card?.title).toBe('Live <b>title</b>');
    } finally {
      controller.abort();
    }
  });
});

describe('unfurl answers are checked as docs/protocol.md §3.2 requires', () => {
  /** A stand-in for the service at https://service.example: grants a token, answers the unfurl with `answer`. */
  let answer: unknown[] = [];
  const serviceFetch: typeof fetch = async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (!url.startsWith('https://service.example/')) return fetch(input, init);
    const json = (status: number, body: unknown) =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    if (url === 'https://service.example/oauth/token')
      return json(200, { access_token: 'svc-at', token_type: 'bearer' });
    if (url === 'https://service.example/unfurl' && init?.method === 'POST') {
      const { uri } = JSON.parse(String(init.body)) as { uri: string };
      return json(200, { uri, operations: [{ path: ['attributes'], set: answer }] });
    }
    return json(404, {});
  };
  let own: StartedSimulator;
  beforeAll(async () => {
    own = await startNotionSimulator({
      integration,
      notionClient: { clientId: 'n-id', clientSecret: 'n-secret' },
      serviceClient: { clientId: 'svc-client', clientSecret: 'svc-secret' },
      settings: (d) => ({ ...d, client: { ...d.client, serviceBaseUrl: 'https://service.example' } }),
      fetch: serviceFetch,
    });
  });
  afterAll(async () => {
    await own.stop();
  });

  const titleAttr = {
    id: 'title',
    name: 'Title',
    type: 'inline',
    inline: { title: { value: 'Item 7', section: 'title' } },
  };
  const devAttr = {
    id: 'dev',
    name: 'Developer Name',
    type: 'inline',
    inline: { plain_text: { value: 'Acme', section: 'secondary' } },
  };

  it('rejects an answer without dev or without title (an update may leave dev out, an answer may not)', async () => {
    const { driver, pasted, callback } = await pasteAndConnect(own.baseUrl, 'https://acme.test/items/7');
    answer = [titleAttr];
    const back = await callback();
    expect(back.status).toBe(302);
    const noDev = await driver.preview(pasted.id);
    expect(noDev.unfurls).toBe(1);
    expect(noDev.state).toBe('failed');
    expect(noDev.card).toBeUndefined();
    expect(noDev.validationError).toBe(
      'Unfurl answer rejected: body.operations[0].set: the "dev" attribute is required',
    );

    answer = [devAttr];
    await driver.refresh(pasted.id);
    expect((await driver.preview(pasted.id)).validationError).toBe(
      'Unfurl answer rejected: body.operations[0].set: the "title" attribute is required',
    );

    answer = [titleAttr, devAttr];
    await driver.refresh(pasted.id);
    const card = await driver.preview(pasted.id);
    expect(card.state).toBe('card');
    expect(card.card?.title).toBe('Item 7');
    expect(card.validationError).toBeUndefined();
  });
});

describe("refreshing the service's token as docs/protocol.md §2.6 describes", () => {
  /** The service's token answers, in order: the code exchange first, then each refresh. */
  let tokenAnswers: Record<string, unknown>[] = [];
  /** Failures the token URL answers first, in order: an HTTP status, or 0 for no answer at all. */
  let tokenFailures: number[] = [];
  const tokenForms: URLSearchParams[] = [];
  const serviceFetch: typeof fetch = async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (!url.startsWith('https://service.example/')) return fetch(input, init);
    const json = (status: number, body: unknown) =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    if (url === 'https://service.example/oauth/token') {
      tokenForms.push(new URLSearchParams(String(init?.body)));
      const failure = tokenFailures.shift();
      if (failure === 0) throw new TypeError('fetch failed');
      if (failure !== undefined) return json(failure, { error: 'temporarily_unavailable' });
      const next = tokenAnswers.shift();
      return next ? json(200, next) : json(400, { error: 'invalid_grant' });
    }
    if (url === 'https://service.example/unfurl' && init?.method === 'POST') {
      const { uri } = JSON.parse(String(init.body)) as { uri: string };
      const set = [
        { id: 'title', name: 'Title', type: 'inline', inline: { title: { value: 'Item', section: 'title' } } },
        { id: 'dev', name: 'Dev', type: 'inline', inline: { plain_text: { value: 'Acme', section: 'secondary' } } },
      ];
      return json(200, { uri, operations: [{ path: ['attributes'], set }] });
    }
    return json(404, {});
  };
  const clock = new ManualClock(Date.UTC(2026, 11, 7, 12));
  let own: StartedSimulator;
  beforeAll(async () => {
    own = await startNotionSimulator({
      integration,
      notionClient: { clientId: 'n-id', clientSecret: 'n-secret' },
      serviceClient: { clientId: 'svc-client', clientSecret: 'svc-secret' },
      settings: (d) => ({
        ...d,
        client: { ...d.client, serviceBaseUrl: 'https://service.example', refreshMarginSeconds: 60 },
      }),
      fetch: serviceFetch,
      clock,
    });
  });
  afterAll(async () => {
    await own.stop();
  });

  it('keeps the previous expires_in and refresh_token when a refresh answer leaves them out', async () => {
    const { driver, pasted, callback } = await pasteAndConnect(own.baseUrl, 'https://acme.test/items/8');
    tokenAnswers = [
      { access_token: 'at-1', token_type: 'bearer', refresh_token: 'rt-1', expires_in: 3600 },
      // docs/protocol.md §2.6: a refresh may replace refresh_token and expires_in, or not: first expires_in is
      // left out, then both.
      { access_token: 'at-2', token_type: 'bearer', refresh_token: 'rt-2' },
      { access_token: 'at-3', token_type: 'bearer' },
    ];
    await callback();
    const first = await driver.state();
    expect(first.connected).toBe(true);
    expect(first.grant?.expiresAt).toBe(clock.now() + 3600_000);

    // Past the refresh margin: the next unfurl refreshes first. The answer carries a new refresh token but no
    // expires_in, which docs/protocol.md §2.6 allows: the grant stays, with the same lifetime counted from this refresh.
    clock.advance(3600_000 - 30_000);
    const second = await driver.refresh(pasted.id);
    expect(second.lastAuthError).toBeUndefined();
    expect(second.connected).toBe(true);
    expect(second.grant).toEqual({ expiresAt: clock.now() + 3600_000, refreshable: true, refreshCount: 1 });
    expect(tokenForms[1]?.get('refresh_token')).toBe('rt-1');

    // The next refresh uses the rotated refresh token; an answer with only access_token keeps it.
    clock.advance(3600_000 - 30_000);
    const third = await driver.refresh(pasted.id);
    expect(third.connected).toBe(true);
    expect(third.grant).toEqual({ expiresAt: clock.now() + 3600_000, refreshable: true, refreshCount: 2 });
    expect(tokenForms[2]?.get('refresh_token')).toBe('rt-2');
    expect((await driver.preview(pasted.id)).state).toBe('card');

    // And still once more, with rt-2 (no rotation in the last answer).
    tokenAnswers = [{ access_token: 'at-4', token_type: 'bearer' }];
    clock.advance(3600_000 - 30_000);
    expect((await driver.refresh(pasted.id)).grant?.refreshCount).toBe(3);
    expect(tokenForms[3]?.get('refresh_token')).toBe('rt-2');
  });

  it('keeps the grant when a refresh gets no answer or a 5xx, and tries again at the next call', async () => {
    const { driver, pasted, callback } = await pasteAndConnect(own.baseUrl, 'https://acme.test/items/10');
    tokenForms.length = 0;
    tokenAnswers = [{ access_token: 'at-a', token_type: 'bearer', refresh_token: 'rt-a', expires_in: 3600 }];
    await callback();
    expect((await driver.preview(pasted.id)).state).toBe('card');

    // Expired: the refresh is answered 503, then not at all. Neither says the refresh token is bad
    // (RFC 6749 §5.2: invalid_grant does), so the user stays connected and the card stays.
    clock.advance(3600_000);
    tokenFailures = [503];
    const after503 = await driver.refresh(pasted.id);
    expect(after503.connected).toBe(true);
    expect(after503.grant?.refreshCount).toBe(0);
    const kept = after503.previews.find((p) => p.id === pasted.id);
    expect(kept?.state).toBe('card');
    expect(kept?.failure).toMatch(/503/);
    tokenFailures = [0];
    const afterNetwork = await driver.refresh(pasted.id);
    expect(afterNetwork.connected).toBe(true);
    expect(afterNetwork.previews.find((p) => p.id === pasted.id)?.failure).toMatch(/fetch failed/);

    // The next call refreshes with the same refresh token, and the card is unfurled again.
    tokenAnswers = [{ access_token: 'at-b', token_type: 'bearer', refresh_token: 'rt-b', expires_in: 3600 }];
    const refreshed = await driver.refresh(pasted.id);
    expect(refreshed.grant?.refreshCount).toBe(1);
    expect(tokenForms.map((f) => f.get('refresh_token'))).toEqual([null, 'rt-a', 'rt-a', 'rt-a']);
    const again = refreshed.previews.find((p) => p.id === pasted.id);
    expect(again?.state).toBe('card');
    expect(again?.failure).toBeUndefined();

    // A refused refresh (400 invalid_grant) still ends the grant: connect again.
    clock.advance(3600_000);
    tokenAnswers = [];
    const refused = await driver.refresh(pasted.id);
    expect(refused.connected).toBe(false);
    expect(refused.previews.find((p) => p.id === pasted.id)?.state).toBe('needs-auth');
  });

  it('spends nothing on a HEAD of its redirect_uri: the GET that follows still connects', async () => {
    const { driver, pasted, callback } = await pasteAndConnect(own.baseUrl, 'https://acme.test/items/11');
    tokenForms.length = 0;
    tokenAnswers = [{ access_token: 'at-h', token_type: 'bearer', refresh_token: 'rt-h', expires_in: 3600 }];
    const head = await callback('HEAD');
    expect(head.status).toBe(200);
    expect(tokenForms).toHaveLength(0);
    expect((await driver.state()).connected).toBe(false);
    expect((await callback()).status).toBe(302);
    expect(tokenForms).toHaveLength(1);
    expect((await driver.preview(pasted.id)).state).toBe('card');
  });

  it('still refuses a code exchange that returns a refresh_token without expires_in (§2.5)', async () => {
    const { driver, callback } = await pasteAndConnect(own.baseUrl, 'https://acme.test/items/9');
    tokenAnswers = [{ access_token: 'at-x', token_type: 'bearer', refresh_token: 'rt-x' }];
    await callback();
    const view = await driver.state();
    expect(view.connected).toBe(false);
    expect(view.lastAuthError).toBe(
      'a refresh_token was returned without expires_in (docs/protocol.md §2.5 requires it)',
    );
  });
});
