/**
 * DynamoDB throttling under the HTTP routes of the whole local system: the
 * token endpoint, the unfurl callback and the change webhook answer a clean
 * 503 with Retry-After (no stack, no internals), and a throttled request
 * leaves nothing half-written: after the fault clears, the same request (or
 * Notion's restart of the flow) gets a consistent answer.
 */
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { accessTokenSettings } from '#adapters/config/oauth-settings.js';
import { authStateStore, connectionStore, documentClient, subscriptionStore } from '#adapters/dynamo/factory.js';
import { loadSecret } from '#adapters/oidc/secrets.js';
import { signWebhook } from '#core/changes/verify.js';
import { issueAccessToken } from '#core/oauth/access-token.js';
import type { Connection } from '#core/ports.js';
import { getConfig } from '#shared/config.js';
import { hashSecret, systemRandom } from '#shared/crypto.js';
import { useLocalSystem } from '#test/helpers/system.js';
import { type DynamoCall, type FaultInjector, injectDynamoFaults } from './inject.js';

const system = useLocalSystem({ workerLoop: false });
let faults: FaultInjector;
const REDIRECT = 'https://www.notion.so/externalintegrationauthcallback';

beforeAll(() => {
  faults = injectDynamoFaults(documentClient(getConfig()));
});

afterEach(() => {
  faults.rule = () => undefined;
});

const tables = () => getConfig().tables;

const connection = (id: string): Connection => ({
  id,
  subject: 'u-alice',
  displayName: 'Alice',
  clientId: system().env.OAUTH_CLIENT_ID as string,
  scope: 'unfurl',
  notion: { workspaceId: `ws-${id}`, workspaceName: null, workspaceIcon: null, botId: `bot-${id}` },
  status: 'active',
  tokenGeneration: 0,
  previousRefreshTokenHashes: [],
  createdAt: Date.now(),
  updatedAt: Date.now(),
});

/** A connection and an authorization code for it, as consent leaves them. */
const seedCode = async (id: string, code: string) => {
  await connectionStore(getConfig()).create(connection(id));
  await authStateStore(getConfig()).putCode({
    codeHash: hashSecret(code),
    connectionId: id,
    clientId: system().env.OAUTH_CLIENT_ID as string,
    redirectUri: REDIRECT,
    scope: 'unfurl',
    expiresAt: Date.now() + 60_000,
  });
};

const exchange = (code: string) =>
  fetch(`${system().baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      client_id: system().env.OAUTH_CLIENT_ID as string,
      client_secret: system().env.OAUTH_CLIENT_SECRET as string,
    }),
  });

/** Nothing about the implementation in an answer. */
const expectClean = (text: string) => {
  expect(text).not.toMatch(/Exception|DynamoDB|dynamo|\n\s+at |node_modules|\.ts:\d+|Table|table/);
  for (const name of Object.values(tables())) if (name) expect(text).not.toContain(name);
};

describe('DynamoDB throttled under the HTTP routes', () => {
  it('token endpoint: 503 temporarily_unavailable while every call is throttled; the code still works afterwards', async () => {
    await seedCode('conn-throttle-all', 'code-throttle-all');
    faults.rule = () => 'throttle';
    const throttled = await exchange('code-throttle-all');
    const text = await throttled.text();
    expect(throttled.status).toBe(503);
    expect(throttled.headers.get('retry-after')).toBe('1');
    expect(throttled.headers.get('cache-control')).toBe('no-store');
    expect(JSON.parse(text)).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
    expectClean(text);
    expect(faults.injected.length).toBeGreaterThan(0);

    faults.rule = () => undefined;
    const retried = await exchange('code-throttle-all');
    expect(retried.status).toBe(200);
    const grant = (await retried.json()) as { access_token: string; refresh_token: string };
    expect(grant.access_token).toBeTruthy();
    expect((await connectionStore(getConfig()).get('conn-throttle-all'))?.status).toBe('active');
  }, 20_000);

  it.each([
    [
      'the first refresh token is set',
      'conn-throttle-set',
      (c: DynamoCall) => c.table === tables().connections && c.command === 'UpdateItemCommand',
    ],
    [
      'the code is spent',
      'conn-throttle-spend',
      (c: DynamoCall) => c.table === tables().authState && c.command === 'UpdateItemCommand',
    ],
  ])(
    'token endpoint: throttled when %s → 503; the same code then works, once',
    async (_when, id, picks) => {
      await seedCode(id, `code-${id}`);
      faults.rule = (call) => (picks(call) ? 'throttle' : undefined);
      const throttled = await exchange(`code-${id}`);
      const text = await throttled.text();
      expect(throttled.status).toBe(503);
      expectClean(text);
      expect(text).not.toContain('access_token');

      faults.rule = () => undefined;
      const retried = await exchange(`code-${id}`);
      expect(retried.status).toBe(200);
      const grant = (await retried.json()) as { refresh_token: string };
      expect((await connectionStore(getConfig()).get(id))?.status).toBe('active');
      // The retried grant refreshes; the code is spent now, and presenting it again ends the grant.
      const refreshed = await fetch(`${system().baseUrl}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: grant.refresh_token,
          client_id: system().env.OAUTH_CLIENT_ID as string,
          client_secret: system().env.OAUTH_CLIENT_SECRET as string,
        }),
      });
      expect(refreshed.status).toBe(200);
      const replay = await exchange(`code-${id}`);
      expect(replay.status).toBe(400);
      expect(((await replay.json()) as { error: string }).error).toBe('invalid_grant');
      expect((await connectionStore(getConfig()).get(id))?.status).toBe('revoked');
    },
    20_000,
  );

  it('unfurl: 503 with Retry-After while the connection read is throttled, nothing recorded; 200 once it clears', async () => {
    const c = connection('conn-unfurl-throttle');
    await connectionStore(getConfig()).create(c);
    const { token } = await issueAccessToken(c, accessTokenSettings(getConfig(), loadSecret), {
      clock: { now: () => Date.now() },
      random: systemRandom,
    });
    const uri = `${system().baseUrl}/demo/tasks/1`;
    const unfurl = () =>
      fetch(`${system().baseUrl}/unfurl`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ uri }),
      });
    // The connection is read with the subscription, in one BatchGetItem.
    faults.rule = (call) => (call.tables.includes(tables().connections ?? '') ? 'throttle' : undefined);
    const throttled = await unfurl();
    const text = await throttled.text();
    expect(throttled.status).toBe(503);
    expect(throttled.headers.get('retry-after')).toBe('1');
    expect(JSON.parse(text)).toEqual({
      error: { status: 503, code: 'temporarily_unavailable', message: expect.any(String) },
    });
    expectClean(text);
    expect(await subscriptionStore(getConfig()).listByConnection('conn-unfurl-throttle')).toEqual([]);

    // Throttled subscription writes: a clean 503, never a card whose subscription was not recorded (it would never update).
    faults.rule = (call) =>
      call.tables.includes(tables().subscriptions ?? '') && call.command === 'UpdateItemCommand'
        ? 'throttle'
        : undefined;
    const partial = await unfurl();
    const partialText = await partial.text();
    expectClean(partialText);
    expect(partial.status).toBe(503);

    faults.rule = () => undefined;
    const ok = await unfurl();
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('title');
    const subs = await subscriptionStore(getConfig()).listByConnection('conn-unfurl-throttle');
    expect(subs.map((s) => s.uri)).toEqual([uri]);
  }, 20_000);

  it('POST /changes: 503 while the webhook-id marker cannot be written; the same webhook is then queued once', async () => {
    const secret = system().env.CHANGES_WEBHOOK_SECRET as string;
    const body = JSON.stringify({ resource: 'task:1', changed_at: new Date().toISOString() });
    const send = () =>
      fetch(`${system().baseUrl}/changes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signWebhook(secret, 'msg_throttled_1', body, Date.now()) },
        body,
      });
    faults.rule = (call) => (call.table === tables().authState ? 'throttle' : undefined);
    const throttled = await send();
    expect(throttled.status).toBe(503);
    expectClean(await throttled.text());
    faults.rule = () => undefined;
    const first = await send();
    expect(first.status).toBe(202);
    const again = await send();
    expect(again.status).toBe(200);
    expect(((await again.json()) as { status: string }).status).toBe('duplicate');
  }, 20_000);
});
