/**
 * A connection whose authorization code Notion never redeems (ADR 0160), against the DynamoDB
 * emulator with the real authorize and token handlers and a fake clock: the consent stores the
 * connection (with Notion's token, encrypted) and an expiry a minute after its code's; once that
 * passed, nothing finds or uses it — not the code, not a token made up for it, not a reconnect of
 * the same workspace, not the operator's tool — and the expiry sweep that stands in for DynamoDB's
 * TTL deletes it without a trace. A connection whose code is redeemed in time keeps no expiry.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from '@jest/globals';
import { DynamoDeliveryLog } from '#adapters/dynamo/delivery-log.js';
import type { ConnectionEnded, ConnectionEndPorts } from '#core/connection-end.js';
import { CODE_TTL_MS, UNREDEEMED_CONNECTION_TTL_MS } from '#core/oauth/authorize.js';
import { handleRevocationRequest } from '#core/oauth/revoke.js';
import { handleTokenRequest } from '#core/oauth/token.js';
import { revokeByTokens } from '#core/unfurl/delete.js';
import { TABLES } from '#lib/data-model.js';
import { sweepExpired } from '#local/emulators.js';
import { need } from '#shared/config.js';
import { allowThroughHandler } from '#test/helpers/consent.js';
import { useDynamo } from '#test/helpers/ddb.js';
import { dynamoClientFor } from '#test/helpers/emulators.js';
import {
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
import { createAuthorizeHandler } from '../../../functions/handlers/oauth-authorize.js';
import { revoke as operatorRevoke } from '../../../scripts/connections.js';

const PREFIX = 'unredeemed';
const ddb = useDynamo({ prefix: PREFIX });
const clock = new FakeClock(Date.now());
const tokens = tokenSettings();
const notion = new FakeNotion();

const endings = (heard: ConnectionEnded[]): ConnectionEndPorts => ({
  subscriptions: ddb().stores.subscriptions,
  deliveries: new DynamoDeliveryLog(ddb().doc, need(ddb().config.tables.deliveryLog, 'DELIVERY_LOG_TABLE')),
  onEnded: (e) => heard.push(e),
});

/** The browser round trip up to Notion's redirect_uri: authorize, upstream login, allow; our code. */
const consent = async (subject: string, heard: ConnectionEnded[]): Promise<string> => {
  const upstream = new FakeUpstream();
  upstream.user = { ...upstream.user, subject };
  const handler = createAuthorizeHandler(() =>
    authorizeDependencies({
      authState: ddb().stores.authState,
      connections: ddb().stores.connections,
      notion,
      upstream,
      clock,
      endings: endings(heard),
    }),
  );
  const allowed = await allowThroughHandler(handler);
  const code = new URL(String(allowed.headers?.location)).searchParams.get('code');
  expect(code).toBeTruthy();
  return code ?? '';
};

const tokenDeps = (heard: ConnectionEnded[]) =>
  tokenDependencies(
    { authState: ddb().stores.authState, connections: ddb().stores.connections, clock, endings: endings(heard) },
    tokens,
  );
const client = { client_id: CLIENT_ID, client_secret: CLIENT_SECRET };
const exchange = (code: string, heard: ConnectionEnded[]) =>
  handleTokenRequest(
    {
      authorization: undefined,
      form: { grant_type: 'authorization_code', code, redirect_uri: NOTION_REDIRECT, ...client },
    },
    tokenDeps(heard),
  );

const scan = async (tableName: string): Promise<Record<string, unknown>[]> =>
  ((await ddb().doc.send(new ScanCommand({ TableName: tableName }))).Items ?? []) as Record<string, unknown>[];

/** Every item of every table that names the connection, by table id (empty tables left out). */
const itemsOf = async (connectionId: string): Promise<Record<string, Record<string, unknown>[]>> => {
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const table of TABLES) {
    const found = (await scan(ddb().env[table.envName] as string)).filter((item) =>
      JSON.stringify(item).includes(connectionId),
    );
    if (found.length > 0) out[table.id] = found;
  }
  return out;
};

const sweep = async (nowMs: number): Promise<number> => {
  const dynamo = dynamoClientFor(ddb().dynamodbEndpoint);
  try {
    return await sweepExpired(dynamo, PREFIX, nowMs);
  } finally {
    dynamo.destroy();
  }
};

describe('a connection whose code Notion never redeems', () => {
  it('lapses a minute after its code: nothing finds or uses it, and the TTL sweep deletes it without a trace', async () => {
    const heard: ConnectionEnded[] = [];
    const allowedAt = clock.now();
    const code = await consent('u-abandoned', heard);
    const [connection] = await ddb().stores.connections.listBySubject('u-abandoned', clock.now());
    const id = connection?.id ?? '';
    expect(connection).toMatchObject({ status: 'active', expiresAt: allowedAt + UNREDEEMED_CONNECTION_TTL_MS });
    expect(UNREDEEMED_CONNECTION_TTL_MS).toBeGreaterThan(CODE_TTL_MS);
    // As stored: Notion's token (encrypted) and the table's TTL attribute in epoch seconds.
    const [item] = (await itemsOf(id)).Connections ?? [];
    expect(item?.notionTokenCiphertext).toEqual(expect.any(String));
    expect(item?.expiresAt).toBe(Math.ceil((allowedAt + UNREDEEMED_CONNECTION_TTL_MS) / 1000));

    // Notion never comes back. Once the expiry passed (DynamoDB's TTL may lag up to 48 hours):
    clock.t = allowedAt + UNREDEEMED_CONNECTION_TTL_MS;
    await expect(exchange(code, heard)).rejects.toMatchObject({ error: 'invalid_grant' });
    // A refresh token made up for it is refused, and revoking one finds nothing to end.
    const madeUp = `${id}.made-up-secret`;
    await expect(
      handleTokenRequest(
        { authorization: undefined, form: { grant_type: 'refresh_token', refresh_token: madeUp, ...client } },
        tokenDeps(heard),
      ),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(
      await handleRevocationRequest(
        { authorization: undefined, form: { token: madeUp, ...client } },
        { ...tokenDeps(heard), tokens },
      ),
    ).toBe('none');
    const report = await revokeByTokens(
      {
        connections: ddb().stores.connections,
        subscriptions: ddb().stores.subscriptions,
        tokens,
        clock,
        endings: endings(heard),
      },
      { refreshToken: madeUp },
    );
    expect(report.connectionIds).toEqual([]);
    // The operator's tool does not find it.
    const tools = {
      connections: ddb().stores.connections,
      subscriptions: ddb().stores.subscriptions,
      deliveries: endings(heard).deliveries,
      now: () => clock.now(),
    };
    expect((await operatorRevoke(tools, id, 'cleanup')).before).toBeUndefined();
    expect(await ddb().stores.connections.listBySubject('u-abandoned', clock.now())).toEqual([]);

    // The user connects the same workspace again: the lapsed connection is not ended (or reported) again.
    const again = await consent('u-abandoned', heard);
    const issued = await exchange(again, heard);
    expect(issued.refresh_token).not.toContain(id);
    expect(heard).toEqual([]);

    // Nothing of it was ever ended or logged. Left are the record and its unspent code's hash (kept a day
    // past the code's expiry to recognise a replay); the sweep (DynamoDB TTL's stand-in) deletes the record
    // now and the code's hash a day later.
    const left = await itemsOf(id);
    expect(Object.keys(left).sort()).toEqual(['AuthState', 'Connections']);
    expect(JSON.stringify(left.AuthState)).not.toMatch(/Ciphertext|notion-token/);
    expect(await sweep(clock.now() + 1_000)).toBeGreaterThanOrEqual(1);
    expect(Object.keys(await itemsOf(id))).toEqual(['AuthState']);
    await sweep(allowedAt + CODE_TTL_MS + 86_400_000 + 1_000);
    expect(await itemsOf(id)).toEqual({});
    expect(await ddb().stores.connections.get(id)).toBeUndefined();
  });

  it('redeemed in time, it keeps no expiry and outlives any sweep', async () => {
    const heard: ConnectionEnded[] = [];
    const code = await consent('u-prompt', heard);
    clock.advance(CODE_TTL_MS - 1);
    const issued = await exchange(code, heard);
    const id = issued.refresh_token.split('.')[0] ?? '';
    const [item] = (await itemsOf(id)).Connections ?? [];
    expect(item).toMatchObject({ id, status: 'active', refreshTokenHash: expect.any(String) });
    expect(item).not.toHaveProperty('expiresAt');
    expect(item).not.toHaveProperty('expiresAtMs');
    clock.advance(365 * 86_400_000);
    await sweep(clock.now());
    expect((await ddb().stores.connections.listBySubject('u-prompt', clock.now())).map((c) => c.id)).toEqual([id]);
    // And its tokens keep working: the refresh token rotates.
    const refreshed = await handleTokenRequest(
      {
        authorization: undefined,
        form: { grant_type: 'refresh_token', refresh_token: issued.refresh_token, ...client },
      },
      tokenDeps(heard),
    );
    expect(refreshed.refresh_token.startsWith(`${id}.`)).toBe(true);
    expect(heard).toEqual([]);
  });
});
