/**
 * The simulator's Notion API over HTTP: token exchange (docs/protocol.md §2.3), external
 * object updates (§5.1), Notion-Version (§6.2), rate limits (§6.3), error
 * objects (§6.4) and fault injection.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ManualClock } from '#local/notion-simulator/clock.js';
import type { StartedSimulator } from '#local/notion-simulator/server.js';
import { startNotionSimulator } from '#local/notion-simulator/server.js';

const notionClient = { clientId: 'integration-id', clientSecret: 'integration-secret' };
const integration = {
  domain: 'acme.test',
  rules: [{ name: 'item', pattern: String.raw`^https://acme\.test/items/(?<id>\d+)$`, placeholder: [] }],
};
const clock = new ManualClock();
let roll = 0.99;
let sim: StartedSimulator;

beforeAll(async () => {
  sim = await startNotionSimulator({
    integration,
    notionClient,
    serviceClient: { clientId: 'svc', clientSecret: 'svc-secret' },
    clock,
    random: () => roll,
    sleep: async () => undefined,
  });
});
afterAll(async () => {
  await sim.stop();
});
beforeEach(() => {
  roll = 0.99;
  sim.simulator.configure({
    api: {
      rateLimit: 180,
      rateWindowSeconds: 60,
      workspaceRateLimit: 0,
      faults: { overloadRate: 0, unavailableRate: 0, unavailableApplied: false, slowRate: 0, blocked: false },
    },
  });
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

const exchange = (code: string, opts: { auth?: string; version?: string | null; body?: unknown } = {}) =>
  fetch(`${sim.apiBaseUrl}/v1/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: opts.auth ?? basic(notionClient.clientId, notionClient.clientSecret),
      'content-type': 'application/json',
      ...(opts.version === null ? {} : { 'notion-version': opts.version ?? '2022-06-28' }),
    },
    body: JSON.stringify(
      opts.body ?? {
        grant_type: 'authorization_code',
        code,
        external_account: { key: 'user-1', name: 'alice@acme.test' },
      },
    ),
  });

const title = (value: string) => ({
  id: 'title',
  name: 'Title',
  type: 'inline',
  inline: { title: { value, section: 'title' } },
});
const dev = {
  id: 'dev',
  name: 'Developer Name',
  type: 'inline',
  inline: { plain_text: { value: 'Acme', section: 'secondary' } },
};
const update = (uri: string, value = 'Updated') => ({
  uri,
  operations: [{ path: ['attributes'], set: [title(value), dev] }],
});

const patch = (token: string, body: unknown, version: string | null = '2021-08-16') =>
  fetch(`${sim.apiBaseUrl}/v1/external/object`, {
    method: 'PATCH',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      ...(version === null ? {} : { 'notion-version': version }),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const expectError = async (res: Response, status: number, code: string) => {
  expect(res.status).toBe(status);
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ object: 'error', status, code });
  expect(typeof body.message).toBe('string');
  expect(typeof body.request_id).toBe('string');
  return body;
};

describe('POST /v1/oauth/token', () => {
  it('exchanges a Notion code once for a token with the documented fields', async () => {
    const code = sim.simulator.issueCode();
    const res = await exchange(code);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      token_type: 'bearer',
      workspace_name: 'Acme Workspace (simulated)',
      duplicated_template_id: null,
      refresh_token: null,
    });
    for (const k of ['access_token', 'bot_id', 'workspace_id']) expect(typeof body[k]).toBe('string');
    expect(body.owner).toMatchObject({ type: 'user' });
    await expectError(await exchange(code), 400, 'invalid_grant');
  });

  it('refuses an expired, unknown or malformed code, and bad client credentials', async () => {
    const code = sim.simulator.issueCode();
    clock.advance(10 * 60 * 1000 + 1);
    await expectError(await exchange(code), 400, 'invalid_grant');
    await expectError(await exchange('00000000-0000-4000-8000-000000000000'), 400, 'invalid_grant');
    const fresh = sim.simulator.issueCode();
    await expectError(await exchange(fresh, { auth: basic(notionClient.clientId, 'wrong') }), 401, 'unauthorized');
    await expectError(await exchange(fresh, { auth: `Bearer ${notionClient.clientSecret}` }), 401, 'unauthorized');
    await expectError(await exchange(fresh, { version: null }), 400, 'missing_version');
    // The token exchange checks the version's value as PATCH /v1/external/object does (§6.2).
    await expectError(await exchange(fresh, { version: '2022-6-28' }), 400, 'validation_error');
    await expectError(
      await exchange(fresh, { body: { grant_type: 'authorization_code', code: fresh } }),
      400,
      'validation_error',
    );
    await expectError(
      await exchange(fresh, {
        body: { grant_type: 'authorization_code', code: fresh, external_account: { name: 'x' } },
      }),
      400,
      'validation_error',
    );
    await expectError(
      await exchange(fresh, { body: { grant_type: 'client_credentials', code: fresh } }),
      400,
      'validation_error',
    );
    // None of the malformed requests spent the code.
    expect((await exchange(fresh)).status).toBe(200);
  });

  it('answers invalid JSON with invalid_json', async () => {
    const res = await fetch(`${sim.apiBaseUrl}/v1/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: basic(notionClient.clientId, notionClient.clientSecret),
        'notion-version': '2022-06-28',
        'content-type': 'application/json',
      },
      body: '{nope',
    });
    await expectError(res, 400, 'invalid_json');
  });

  it('replaces the connection when the same external account connects again', async () => {
    const before = sim.simulator.stats().connections.length;
    const first = (await (await exchange(sim.simulator.issueCode(), { body: undefined })).json()) as {
      access_token: string;
      bot_id: string;
    };
    const body = { grant_type: 'authorization_code', external_account: { key: 'user-1', name: 'alice again' } };
    const second = (await (await exchange('', { body: { ...body, code: sim.simulator.issueCode() } })).json()) as {
      access_token: string;
      bot_id: string;
    };
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.bot_id).toBe(first.bot_id);
    expect(sim.simulator.stats().connections.filter((c) => c.externalAccountKey === 'user-1')).toHaveLength(1);
    expect(sim.simulator.stats().connections.length).toBeLessThanOrEqual(before + 1);
    const c = sim.simulator.connectionByExternalKey('user-1');
    expect(c?.externalAccount.name).toBe('alice again');
    sim.simulator.addPreview(c?.id as string, 'https://acme.test/items/1');
    await expectError(await patch(first.access_token, update('https://acme.test/items/1')), 401, 'unauthorized');
    expect((await patch(second.access_token, update('https://acme.test/items/1'))).status).toBe(200);
  });
});

describe('PATCH /v1/external/object', () => {
  const uri = 'https://acme.test/items/7';

  it('applies a full attribute list to the previews of that uri and remembers the payload', async () => {
    const c = sim.simulator.createConnection({ key: 'patch-ok' });
    const preview = sim.simulator.addPreview(c.connectionId, uri);
    const res = await patch(c.accessToken, update(uri, 'Fresh title'));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ uri });
    expect(preview.card?.title).toBe('Fresh title');
    expect(sim.simulator.lastPayload(uri)).toEqual(update(uri, 'Fresh title'));
    const error = await patch(c.accessToken, {
      uri,
      operations: [{ path: ['error'], set: { status: 404, message: 'Content not found' } }],
    });
    expect(error.status).toBe(200);
    expect(preview.state).toBe('error');
    await patch(c.accessToken, update(uri, 'Back'));
    expect(preview.state).toBe('card');
    expect(preview.error).toBeUndefined();
  });

  it('requires Notion-Version', async () => {
    const c = sim.simulator.createConnection({ key: 'no-version' });
    await expectError(await patch(c.accessToken, update(uri), null), 400, 'missing_version');
    await expectError(await patch(c.accessToken, update(uri), 'yesterday'), 400, 'validation_error');
  });

  it('answers an unknown or revoked token with 401 unauthorized', async () => {
    await expectError(await patch('ntn_unknown', update(uri)), 401, 'unauthorized');
    const c = sim.simulator.createConnection({ key: 'revoked' });
    sim.simulator.addPreview(c.connectionId, uri);
    sim.simulator.revokeConnection(c.connectionId);
    await expectError(await patch(c.accessToken, update(uri)), 401, 'unauthorized');
  });

  it('an expired access token answers 401 while its refresh token gets a new pair once (single use, rotated)', async () => {
    sim.simulator.configure({ api: { issueRefreshToken: true } });
    try {
      const c = sim.simulator.createConnection({ key: 'expiring' });
      sim.simulator.addPreview(c.connectionId, uri);
      const refreshToken = sim.simulator.connection(c.connectionId)?.refreshToken as string;
      expect(refreshToken).toMatch(/^ntn_/);
      expect(sim.simulator.expireAccessToken(c.connectionId)).toBe(true);
      await expectError(await patch(c.accessToken, update(uri)), 401, 'unauthorized');
      const refresh = (token: string) => exchange('', { body: { grant_type: 'refresh_token', refresh_token: token } });
      const res = await refresh(refreshToken);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { access_token: string; refresh_token: string };
      expect(body.access_token).not.toBe(c.accessToken);
      expect(body.refresh_token).not.toBe(refreshToken);
      expect((await patch(body.access_token, update(uri, 'Refreshed'))).status).toBe(200);
      // The refresh token was spent; the rotated one works once more.
      await expectError(await refresh(refreshToken), 400, 'invalid_grant');
      expect((await refresh(body.refresh_token)).status).toBe(200);
      // A revoked connection's refresh token is refused too.
      const r = sim.simulator.createConnection({ key: 'expiring-revoked' });
      const revokedRefresh = sim.simulator.connection(r.connectionId)?.refreshToken as string;
      sim.simulator.revokeConnection(r.connectionId);
      expect(sim.simulator.expireAccessToken(r.connectionId)).toBe(false);
      await expectError(await refresh(revokedRefresh), 400, 'invalid_grant');
    } finally {
      sim.simulator.configure({ api: { issueRefreshToken: false } });
    }
  });

  it('answers a uri not previewed under this connection with 404 object_not_found', async () => {
    const a = sim.simulator.createConnection({ key: 'owner-a' });
    const b = sim.simulator.createConnection({ key: 'owner-b' });
    sim.simulator.addPreview(a.connectionId, uri);
    await expectError(await patch(b.accessToken, update(uri)), 404, 'object_not_found');
    sim.simulator.removePreviews(a.connectionId, uri);
    await expectError(await patch(a.accessToken, update(uri)), 404, 'object_not_found');
  });

  it("accepts an update without dev, as Notion's documented PATCH example has none, and notes it in the log", async () => {
    const c = sim.simulator.createConnection({ key: 'no-dev' });
    const preview = sim.simulator.addPreview(c.connectionId, uri);
    const res = await patch(c.accessToken, { uri, operations: [{ path: ['attributes'], set: [title('No dev')] }] });
    expect(res.status).toBe(200);
    expect(preview.state).toBe('card');
    expect(preview.card?.title).toBe('No dev');
    expect(preview.validationError).toBeUndefined();
    expect(
      sim.simulator.log
        .all()
        .some((e) => e.level === 'warn' && e.sessionId === c.sessionId && e.summary.includes('no "dev" attribute')),
    ).toBe(true);
  });

  it('rejects payloads Notion would reject and shows the reason on the preview', async () => {
    const c = sim.simulator.createConnection({ key: 'invalid' });
    const preview = sim.simulator.addPreview(c.connectionId, uri);
    const noTitle = await expectError(
      await patch(c.accessToken, { uri, operations: [{ path: ['attributes'], set: [dev] }] }),
      400,
      'validation_error',
    );
    expect(noTitle.message).toContain('"title" attribute is required');
    expect(preview.validationError).toContain('"title" attribute is required');
    await expectError(await patch(c.accessToken, '{"uri":'), 400, 'invalid_json');
    await expectError(await patch(c.accessToken, { uri, operations: [] }), 400, 'validation_error');
    await expectError(
      await patch(c.accessToken, {
        uri,
        operations: [
          {
            path: ['attributes'],
            set: [
              title('<b>'),
              dev,
              { id: 'x', name: 'x', type: 'embed', embed: { src_url: 'javascript:1', image: { section: 'embed' } } },
            ],
          },
        ],
      }),
      400,
      'validation_error',
    );
    const log = sim.simulator.log.all().filter((e) => e.summary.startsWith('Update rejected by validation'));
    expect(log.length).toBeGreaterThanOrEqual(3);
  });

  it('limits each connection to 180 requests per 60 s window with 429 rate_limited and Retry-After', async () => {
    const c = sim.simulator.createConnection({ key: 'rate' });
    sim.simulator.addPreview(c.connectionId, uri);
    const other = sim.simulator.createConnection({ key: 'rate-other' });
    sim.simulator.addPreview(other.connectionId, uri);
    for (let i = 0; i < 180; i += 1) expect((await patch(c.accessToken, update(uri))).status).toBe(200);
    clock.advance(15_000);
    const limited = await patch(c.accessToken, update(uri));
    expect(limited.headers.get('retry-after')).toBe('45');
    const body = await expectError(limited, 429, 'rate_limited');
    expect(body.additional_data).toEqual({ rate_limit_reason: 'public_api_request_rate_limit', retry_after: '45' });
    expect((await patch(other.accessToken, update(uri))).status).toBe(200);
    clock.advance(45_000);
    expect((await patch(c.accessToken, update(uri))).status).toBe(200);
    const stats = sim.simulator.stats().connections.find((s) => s.connectionId === c.connectionId);
    expect(stats).toMatchObject({ calls: 182, rateLimited: 1 });
    expect(sim.simulator.stats().rateLimited).toBeGreaterThanOrEqual(1);
  });

  it('has a configurable per-connection limit and an optional workspace-wide limit', async () => {
    sim.simulator.configure({
      api: { rateLimit: 2, rateWindowSeconds: 10, workspaceRateLimit: 3, workspaceRateWindowSeconds: 120 },
    });
    const a = sim.simulator.createConnection({ key: 'ws-a' });
    const b = sim.simulator.createConnection({ key: 'ws-b' });
    sim.simulator.addPreview(a.connectionId, uri);
    sim.simulator.addPreview(b.connectionId, uri);
    expect((await patch(a.accessToken, update(uri))).status).toBe(200);
    expect((await patch(a.accessToken, update(uri))).status).toBe(200);
    const own = await expectError(await patch(a.accessToken, update(uri)), 429, 'rate_limited');
    expect(own.additional_data).toMatchObject({ rate_limit_reason: 'public_api_request_rate_limit' });
    expect((await patch(b.accessToken, update(uri))).status).toBe(200);
    const space = await patch(b.accessToken, update(uri));
    expect(space.headers.get('retry-after')).toBe('120');
    const body = await expectError(space, 429, 'rate_limited');
    expect(body.additional_data).toMatchObject({ rate_limit_reason: 'public_api_space_request_rate_limit' });
  });

  it('injects 529, 503 and the blocked mode when configured', async () => {
    const c = sim.simulator.createConnection({ key: 'faults' });
    sim.simulator.addPreview(c.connectionId, uri);
    sim.simulator.configure({ api: { faults: { overloadRate: 0.2, unavailableRate: 0.3 } } });
    roll = 0.1;
    const overload = await patch(c.accessToken, update(uri));
    expect(overload.headers.get('retry-after')).not.toBeNull();
    await expectError(overload, 529, 'service_overload');
    roll = 0.4;
    await expectError(await patch(c.accessToken, update(uri)), 503, 'service_unavailable');
    roll = 0.6;
    expect((await patch(c.accessToken, update(uri))).status).toBe(200);
    sim.simulator.configure({ api: { faults: { blocked: true } } });
    const blocked = await expectError(await patch(c.accessToken, update(uri)), 429, 'rate_limited');
    expect(blocked.additional_data).toEqual({ rate_limit_reason: 'public_api_request_blocked' });
  });

  it('a 503 fault leaves the update unapplied by default, and applies a valid one first when so configured', async () => {
    const c = sim.simulator.createConnection({ key: 'faults-503' });
    const preview = sim.simulator.addPreview(c.connectionId, uri);
    sim.simulator.configure({ api: { faults: { unavailableRate: 1 } } });
    roll = 0.5;
    await expectError(await patch(c.accessToken, update(uri, 'Not applied')), 503, 'service_unavailable');
    expect(preview.card?.title).toBeUndefined();
    // docs/protocol.md §6.3: a write answered 503 may already have been applied.
    sim.simulator.configure({ api: { faults: { unavailableApplied: true } } });
    await expectError(await patch(c.accessToken, update(uri, 'Applied')), 503, 'service_unavailable');
    expect(preview.card?.title).toBe('Applied');
    expect(preview.updates).toBe(1);
    // An invalid update is not applied, whatever the answer.
    await expectError(
      await patch(c.accessToken, { uri, operations: [{ path: ['attributes'], set: [dev] }] }),
      503,
      'service_unavailable',
    );
    expect(preview.card?.title).toBe('Applied');
    expect(preview.validationError).toContain('title');
  });

  it('answers slowly when the slow fault hits', async () => {
    const waits: number[] = [];
    const slow = await startNotionSimulator({
      integration,
      notionClient,
      serviceClient: { clientId: 'svc', clientSecret: 'svc-secret' },
      random: () => 0,
      sleep: async (ms) => {
        waits.push(ms);
      },
      settings: (d) => ({ ...d, api: { ...d.api, faults: { ...d.api.faults, slowRate: 0.5, slowMs: 2500 } } }),
    });
    try {
      const c = slow.simulator.createConnection({ key: 'slow' });
      slow.simulator.addPreview(c.connectionId, uri);
      const res = await fetch(`${slow.apiBaseUrl}/v1/external/object`, {
        method: 'PATCH',
        headers: {
          authorization: `Bearer ${c.accessToken}`,
          'notion-version': '2021-08-16',
          'content-type': 'application/json',
        },
        body: JSON.stringify(update(uri)),
      });
      expect(res.status).toBe(200);
      expect(waits).toEqual([2500]);
    } finally {
      await slow.stop();
    }
  });

  it('refuses bodies over 500 KB with validation_error', async () => {
    const c = sim.simulator.createConnection({ key: 'large' });
    sim.simulator.addPreview(c.connectionId, uri);
    const big = { uri, operations: [{ path: ['attributes'], set: [title('x'.repeat(600 * 1024)), dev] }] };
    const body = await expectError(await patch(c.accessToken, big), 400, 'validation_error');
    expect(body.message).toContain('too large');
  });

  it('counts the 500 KB in bytes, not characters: a body one byte over is refused', async () => {
    const c = sim.simulator.createConnection({ key: 'large-bytes' });
    sim.simulator.addPreview(c.connectionId, uri);
    // Under the limit in UTF-16 units, one byte over it in UTF-8 (each "é" takes two bytes, one unit).
    const shell = JSON.stringify({ uri, operations: [{ path: ['attributes'], set: [title(''), dev] }] });
    const room = 500 * 1024 + 1 - Buffer.byteLength(shell);
    const text = 'é'.repeat(Math.floor(room / 2)) + 'x'.repeat(room % 2);
    const raw = JSON.stringify({ uri, operations: [{ path: ['attributes'], set: [title(text), dev] }] });
    expect(Buffer.byteLength(raw)).toBe(500 * 1024 + 1);
    expect(raw.length).toBeLessThanOrEqual(500 * 1024);
    const body = await expectError(await patch(c.accessToken, raw), 400, 'validation_error');
    expect(body.message).toBe('Request body too large (limit 500 KB).');
  });

  it('answers unknown API paths with invalid_request_url', async () => {
    await expectError(
      await fetch(`${sim.apiBaseUrl}/v1/pages`, { headers: { 'notion-version': '2022-06-28' } }),
      400,
      'invalid_request_url',
    );
    await expectError(
      await fetch(`${sim.apiBaseUrl}/v1/external/object`, { method: 'POST', body: '{}' }),
      400,
      'invalid_request_url',
    );
  });

  it('logs the wire with tokens redacted', async () => {
    const c = sim.simulator.createConnection({ key: 'logged' });
    sim.simulator.addPreview(c.connectionId, uri);
    await patch(c.accessToken, update(uri, 'logged'));
    const entry = [...sim.simulator.log.all()]
      .reverse()
      .find((e) => e.direction === 'to-notion' && e.sessionId === c.sessionId);
    expect(entry?.status).toBe(200);
    expect(JSON.stringify(entry)).not.toContain(c.accessToken);
    expect(entry?.request?.headers?.authorization).toBe('[redacted]');
  });

  it('serves a body sent without Content-Type: application/json and says so in the user’s log', async () => {
    const c = sim.simulator.createConnection({ key: 'content-type' });
    sim.simulator.addPreview(c.connectionId, uri);
    const warnings = () =>
      sim.simulator.log
        .all()
        .filter((e) => e.sessionId === c.sessionId && e.level === 'warn' && e.summary.includes('Content-Type'));
    expect((await patch(c.accessToken, update(uri, 'typed'))).status).toBe(200);
    expect(warnings()).toEqual([]);
    const res = await fetch(`${sim.apiBaseUrl}/v1/external/object`, {
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${c.accessToken}`,
        'content-type': 'text/plain',
        'notion-version': '2021-08-16',
      },
      body: JSON.stringify(update(uri, 'untyped')),
    });
    // Notion's answer to another type is undocumented (docs/protocol.md §6.1): served, and noted.
    expect(res.status).toBe(200);
    expect(warnings().map((e) => e.summary)).toEqual([expect.stringContaining('"text/plain", not application/json')]);
  });
});
