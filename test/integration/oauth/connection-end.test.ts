/**
 * The one way a connection ends (#core/connection-end.js), against the
 * DynamoDB emulator: a connection with a Notion token and subscriptions (with
 * snapshots) is ended each way there is — RFC 7009 revocation (refresh and
 * access token), Notion's deleted-token callback, refresh-token reuse, a
 * replayed code, a newer connection superseding it, the operator's command and
 * Notion answering 401 to a push — and afterwards every table is scanned: of
 * the connection there is the ended record (without token material), the
 * delivery-log entry saying why, and nothing else but short-lived bookkeeping
 * that holds neither tokens nor product data (a spent code's hash, a rate
 * bucket), which expires on its own.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from '@jest/globals';
import { DynamoDeliveryLog } from '#adapters/dynamo/delivery-log.js';
import { MemoryUpdateQueue } from '#adapters/memory/index.js';
import type { ConnectionEnded, ConnectionEndPorts } from '#core/connection-end.js';
import { notionTokenContext } from '#core/oauth/cipher-contexts.js';
import { handleRevocationRequest } from '#core/oauth/revoke.js';
import { handleTokenRequest, type TokenResponse } from '#core/oauth/token.js';
import type { Connection } from '#core/ports.js';
import { revokeByTokens } from '#core/unfurl/delete.js';
import { TABLES } from '#lib/data-model.js';
import { need } from '#shared/config.js';
import { hashSecret } from '#shared/crypto.js';
import { allowThroughHandler } from '#test/helpers/consent.js';
import { useDynamo } from '#test/helpers/ddb.js';
import {
  activeConnection,
  authorizeDependencies,
  CLIENT_ID,
  CLIENT_SECRET,
  FakeClock,
  FakeNotion,
  FakeUpstream,
  NOTION_REDIRECT,
  tokenDependencies,
  tokenSettings,
} from '#test/unit/oauth/fakes.js';
import { change, fakeCipher, Harness } from '#test/unit/updates/harness.js';
import { createAuthorizeHandler } from '../../../functions/handlers/oauth-authorize.js';
import { revoke as operatorRevoke } from '../../../scripts/connections.js';

const ddb = useDynamo();
const clock = new FakeClock(Date.now());
const tokens = tokenSettings();
let seq = 0;

const endings = (heard: ConnectionEnded[]): ConnectionEndPorts => ({
  subscriptions: ddb().stores.subscriptions,
  deliveries: new DynamoDeliveryLog(ddb().doc, need(ddb().config.tables.deliveryLog, 'DELIVERY_LOG_TABLE')),
  onEnded: (e) => heard.push(e),
});

const deps = (heard: ConnectionEnded[]) =>
  tokenDependencies(
    {
      authState: ddb().stores.authState,
      connections: ddb().stores.connections,
      clock,
      endings: endings(heard),
    },
    tokens,
  );

/** A connection as consent leaves it, with a Notion token and two subscriptions holding snapshots. */
const connectionWithData = async (overrides: Partial<Connection> = {}): Promise<Connection> => {
  const id = `3b0c3c5e-0000-4000-8000-${String(++seq).padStart(12, '0')}`;
  const c = activeConnection({
    id,
    subject: `u-${seq}`,
    notionTokenCiphertext: await fakeCipher.encrypt(`notion-token-${id}`, notionTokenContext(id)),
    upstreamTokenCiphertext: 'encrypted-upstream-token',
    createdAt: clock.now(),
    updatedAt: clock.now(),
    ...overrides,
  });
  await ddb().stores.connections.create(c);
  for (const n of [1, 2]) {
    await ddb().stores.subscriptions.upsert({
      resourceKey: `task:${n}`,
      connectionId: c.id,
      uri: `https://app.example.com/tasks/${n}`,
      snapshot: [{ id: 'title', value: `secret product data ${n}` }],
      contentHash: `v1:${n}`,
      createdAt: clock.now(),
      updatedAt: clock.now(),
    });
  }
  return c;
};

/** Our code for `connectionId`, redeemed at the token endpoint. */
const issueTokens = async (connectionId: string, heard: ConnectionEnded[]) => {
  const code = `code-${connectionId}`;
  await ddb().stores.authState.putCode({
    codeHash: hashSecret(code),
    connectionId,
    clientId: CLIENT_ID,
    redirectUri: NOTION_REDIRECT,
    scope: 'unfurl',
    expiresAt: clock.now() + 60_000,
  });
  const form = {
    grant_type: 'authorization_code',
    code,
    redirect_uri: NOTION_REDIRECT,
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
  };
  const issued: TokenResponse = await handleTokenRequest({ authorization: undefined, form }, deps(heard));
  return { code, form, issued };
};

const scan = async (tableName: string): Promise<Record<string, unknown>[]> => {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await ddb().doc.send(
      new ScanCommand({ TableName: tableName, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    items.push(...((page.Items ?? []) as Record<string, unknown>[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
};

/** Every item of every table that names the connection, by table id. */
const itemsOf = async (connectionId: string): Promise<Record<string, Record<string, unknown>[]>> => {
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const table of TABLES) {
    const name = ddb().env[table.envName] as string;
    out[table.id] = (await scan(name)).filter((item) => JSON.stringify(item).includes(connectionId));
  }
  return out;
};

/** What must hold after any end: the ended record, the reason logged, no subscription, no token, no product data. */
const expectNothingLeftBut = async (
  connectionId: string,
  reason: string,
  heard: readonly ConnectionEnded[],
  status: 'revoked' | 'disconnected' = 'revoked',
) => {
  const left = await itemsOf(connectionId);
  expect(left.Subscriptions).toEqual([]);
  expect(left.Connections).toHaveLength(1);
  const record = left.Connections?.[0] ?? {};
  expect(record).toMatchObject({ id: connectionId, status });
  for (const gone of [
    'notionTokenCiphertext',
    'notionRefreshTokenCiphertext',
    'upstreamTokenCiphertext',
    'refreshTokenHash',
  ])
    expect(record).not.toHaveProperty(gone);
  // The delivery log says why (and, for Notion's 401, what Notion answered before).
  expect(left.DeliveryLog?.filter((d) => d.action === 'connection_ended')).toEqual([
    expect.objectContaining({ connectionId, status: 'none', code: reason }),
  ]);
  for (const d of left.DeliveryLog ?? []) expect(d).not.toHaveProperty('snapshot');
  // Short-lived bookkeeping only: no token material, no product data, gone within a day or two by TTL.
  const horizon = Math.floor(clock.now() / 1000) + 2 * 86_400;
  for (const item of [...(left.AuthState ?? []), ...(left.RateLimits ?? [])]) {
    expect(JSON.stringify(item)).not.toMatch(/Ciphertext|snapshot|secret product data|notion-token/);
    expect(Number(item.expiresAt)).toBeLessThanOrEqual(horizon);
  }
  expect(heard).toEqual([expect.objectContaining({ connectionId, reason, status, subscriptionsRemoved: 2 })]);
};

describe('every way a connection ends leaves nothing of it but the ended record', () => {
  it('RFC 7009: revoking its refresh token', async () => {
    const heard: ConnectionEnded[] = [];
    const c = await connectionWithData();
    const { issued } = await issueTokens(c.id, heard);
    const outcome = await handleRevocationRequest(
      {
        authorization: undefined,
        form: { token: issued.refresh_token, client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
      },
      { ...deps(heard), tokens },
    );
    expect(outcome).toBe('refresh_token');
    await expectNothingLeftBut(c.id, 'revoked', heard);
  });

  it('RFC 7009: revoking its access token (with a wrong hint, which is ignored)', async () => {
    const heard: ConnectionEnded[] = [];
    const c = await connectionWithData();
    const { issued } = await issueTokens(c.id, heard);
    const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
    const outcome = await handleRevocationRequest(
      { authorization: basic, form: { token: issued.access_token, token_type_hint: 'refresh_token' } },
      { ...deps(heard), tokens },
    );
    expect(outcome).toBe('access_token');
    await expectNothingLeftBut(c.id, 'revoked', heard);
  });

  it("Notion's deleted-token callback", async () => {
    const heard: ConnectionEnded[] = [];
    const c = await connectionWithData();
    const { issued } = await issueTokens(c.id, heard);
    const report = await revokeByTokens(
      {
        connections: ddb().stores.connections,
        subscriptions: ddb().stores.subscriptions,
        tokens,
        clock,
        endings: endings(heard),
      },
      { accessToken: issued.access_token },
    );
    expect(report.connectionIds).toEqual([c.id]);
    await expectNothingLeftBut(c.id, 'deleted_token', heard);
  });

  it('refresh-token reuse', async () => {
    const heard: ConnectionEnded[] = [];
    const c = await connectionWithData();
    const { issued } = await issueTokens(c.id, heard);
    const form = {
      grant_type: 'refresh_token',
      refresh_token: issued.refresh_token,
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
    };
    await handleTokenRequest({ authorization: undefined, form }, deps(heard));
    await expect(handleTokenRequest({ authorization: undefined, form }, deps(heard))).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expectNothingLeftBut(c.id, 'refresh_token_reused', heard);
  });

  it('a replayed authorization code', async () => {
    const heard: ConnectionEnded[] = [];
    const c = await connectionWithData();
    const { form } = await issueTokens(c.id, heard);
    await expect(handleTokenRequest({ authorization: undefined, form }, deps(heard))).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expectNothingLeftBut(c.id, 'code_replayed', heard);
  });

  it('a newer connection of the same user and workspace (a reconnect)', async () => {
    const heard: ConnectionEnded[] = [];
    const notion = new FakeNotion();
    const older = await connectionWithData({
      subject: 'u-alice',
      notion: { workspaceId: notion.workspaceId, workspaceName: null, workspaceIcon: null, botId: 'b' },
    });
    const handler = createAuthorizeHandler(() =>
      authorizeDependencies({
        authState: ddb().stores.authState,
        connections: ddb().stores.connections,
        notion,
        upstream: new FakeUpstream(),
        clock,
        endings: endings(heard),
      }),
    );
    const allowed = await allowThroughHandler(handler);
    expect(new URL(String(allowed.headers?.location)).searchParams.get('code')).toBeTruthy();
    const mine = await ddb().stores.connections.listBySubject('u-alice', clock.now());
    expect(mine.filter((m) => m.status === 'active').map((m) => m.id)).not.toContain(older.id);
    await expectNothingLeftBut(older.id, 'superseded', heard);
  });

  it("the operator's npm run connections -- revoke", async () => {
    const heard: ConnectionEnded[] = [];
    const c = await connectionWithData();
    const ports = endings(heard);
    const { subscriptionsRemoved } = await operatorRevoke(
      {
        connections: ddb().stores.connections,
        subscriptions: ddb().stores.subscriptions,
        deliveries: ports.deliveries,
        now: () => clock.now(),
        onEnded: ports.onEnded,
      },
      c.id,
      'lost laptop',
    );
    expect(subscriptionsRemoved).toBe(2);
    await expectNothingLeftBut(c.id, 'operator', heard);
    expect((await ddb().stores.connections.get(c.id))?.revokedReason).toBe('operator: lost laptop');
  });

  it('Notion answering 401 to a push (the update worker)', async () => {
    const heard: ConnectionEnded[] = [];
    const harness = new Harness({
      stores: {
        connections: ddb().stores.connections,
        authState: ddb().stores.authState,
        subscriptions: ddb().stores.subscriptions,
        rateLimits: ddb().stores.rateLimits,
        updateQueue: new MemoryUpdateQueue(),
      },
      deliveries: endings(heard).deliveries,
    });
    harness.clock.t = clock.now();
    const c = await connectionWithData();
    harness.product.set('task:1', 2);
    harness.answer = () => ({ kind: 'response', status: 401, code: 'unauthorized' });
    await harness.publish(change('task:1', { id: `evt-${c.id}` }));
    await harness.drain();
    expect(harness.calls).toHaveLength(1);
    const ended = harness.events
      .filter((e) => e.event === 'connection_ended')
      .map((e) => e.data as unknown as ConnectionEnded);
    await expectNothingLeftBut(c.id, 'notion_unauthorized', ended, 'disconnected');
    // The next change pushes nothing for it.
    harness.answer = () => ({ kind: 'response', status: 200 });
    harness.product.set('task:1', 3);
    await harness.publish(change('task:1', { id: `evt2-${c.id}` }));
    await harness.drain();
    expect(harness.calls).toHaveLength(1);
  });
});
