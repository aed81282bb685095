import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from '@jest/globals';
import { connectionKey, type DynamoConnectionStore } from '#adapters/dynamo/connection-store.js';
import { CONNECTIONS_TABLE } from '#lib/data-model.js';
import { useDynamo } from '#test/helpers/ddb.js';
import {
  aConnection,
  connectionStoreContract,
  notionTokenStoreContract,
  upstreamTokenStoreContract,
} from '#test/unit/adapters/contracts/connection-store.contract.js';

const ddb = useDynamo();

connectionStoreContract('DynamoConnectionStore on dynalite', () => ddb().stores.connections);
upstreamTokenStoreContract(
  'DynamoConnectionStore on dynalite',
  () => ddb().stores.connections as DynamoConnectionStore,
);
notionTokenStoreContract('DynamoConnectionStore on dynalite', () => ddb().stores.connections as DynamoConnectionStore);

describe('DynamoConnectionStore: the expiry of a connection not yet redeemed (ADR 0160)', () => {
  const raw = async (id: string) =>
    (
      await ddb().doc.send(
        new GetCommand({ TableName: ddb().env[CONNECTIONS_TABLE.envName] as string, Key: connectionKey(id) }),
      )
    ).Item;

  it('is stored as the TTL attribute in epoch seconds (rounded up) beside the exact one, and goes with the first token', async () => {
    const c = aConnection({ expiresAt: Date.UTC(2026, 0, 15, 12, 2, 0, 1) });
    await ddb().stores.connections.create(c);
    expect(await raw(c.id)).toMatchObject({
      expiresAt: Date.UTC(2026, 0, 15, 12, 2, 1) / 1000,
      expiresAtMs: c.expiresAt,
    });
    const swap = await ddb().stores.connections.swapRefreshToken(c.id, {
      expectedHash: null,
      newHash: 'h1',
      now: Date.UTC(2026, 0, 15, 12, 0, 30),
      forCode: 'code-hash',
    });
    expect(swap.outcome).toBe('swapped');
    const item = await raw(c.id);
    expect(item).not.toHaveProperty('expiresAt');
    expect(item).not.toHaveProperty('expiresAtMs');
  });
});
