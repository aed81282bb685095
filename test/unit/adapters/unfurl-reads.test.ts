import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { subscriptionSortKey } from '#adapters/dynamo/rules.js';
import { DynamoUnfurlReads } from '#adapters/dynamo/unfurl-reads.js';
import { MemoryConnectionStore, MemorySubscriptionStore } from '#adapters/memory/index.js';
import { separateReads } from '#core/unfurl/reads.js';
import { isThrottling } from '#shared/http.js';
import { aConnection } from './contracts/connection-store.contract.js';
import { unfurlReadsContract } from './contracts/unfurl-reads.contract.js';

let connections = new MemoryConnectionStore();
let subscriptions = new MemorySubscriptionStore();
beforeEach(() => {
  connections = new MemoryConnectionStore();
  subscriptions = new MemorySubscriptionStore();
});

unfurlReadsContract('separateReads over the in-memory stores', () => ({
  reads: separateReads(connections, subscriptions),
  connections,
  subscriptions,
}));

/** A DocumentClient stand-in that answers BatchGetItem from a script, recording each request. */
const scriptedDoc = (answers: Array<(request: Record<string, unknown>) => unknown>) => {
  const requests: Record<string, unknown>[] = [];
  const doc = {
    send: async (command: { input: { RequestItems: Record<string, unknown> } }) => {
      requests.push(command.input.RequestItems);
      const answer = answers.shift();
      if (!answer) throw new Error('no more scripted answers');
      return answer(command.input.RequestItems);
    },
  } as unknown as DynamoDBDocumentClient;
  return { doc, requests };
};

const KEY = { resourceKey: 'task:1', connectionId: 'c-1', uri: 'http://127.0.0.1:3000/demo/tasks/1' };
const connectionItem = { pk: 'connection#c-1', ...aConnection({ id: 'c-1' }) };

describe('DynamoUnfurlReads: what DynamoDB leaves unprocessed', () => {
  it('asks again for unprocessed keys only, and merges the answers', async () => {
    const { doc, requests } = scriptedDoc([
      (items) => ({
        Responses: { connections: [connectionItem] },
        UnprocessedKeys: { subscriptions: items.subscriptions },
      }),
      () => ({ Responses: { subscriptions: [{ contentHash: 'h', snapshotAt: 9 }] }, UnprocessedKeys: {} }),
    ]);
    const read = await new DynamoUnfurlReads(doc, 'connections', 'subscriptions').read('c-1', KEY);
    expect(read.connection?.id).toBe('c-1');
    expect(read.stored).toEqual({ known: true, stamp: { contentHash: 'h', snapshotAt: 9 } });
    expect(requests).toHaveLength(2);
    expect(Object.keys(requests[1] ?? {})).toEqual(['subscriptions']);
  });

  it('a subscription never processed is not known (the unfurl then writes); the connection still counts', async () => {
    const unprocessed = (items: Record<string, unknown>) => ({
      UnprocessedKeys: { subscriptions: items.subscriptions },
    });
    const { doc, requests } = scriptedDoc([
      (items) => ({
        Responses: { connections: [connectionItem] },
        UnprocessedKeys: { subscriptions: items.subscriptions },
      }),
      unprocessed,
      unprocessed,
      unprocessed,
    ]);
    const read = await new DynamoUnfurlReads(doc, 'connections', 'subscriptions').read('c-1', KEY);
    expect(read.connection?.id).toBe('c-1');
    expect(read.stored).toEqual({ known: false });
    expect(requests).toHaveLength(4);
  });

  it('a connection never processed fails as throttling (a 503 with Retry-After, never a guess)', async () => {
    const all = (items: Record<string, unknown>) => ({ UnprocessedKeys: items });
    const { doc } = scriptedDoc([all, all, all, all]);
    const error = await new DynamoUnfurlReads(doc, 'connections', 'subscriptions').read('c-1', KEY).catch((e) => e);
    expect(isThrottling(error)).toBe(true);
  });

  it('asks for a long uri by the digest key it is stored under (ADR 0150)', async () => {
    const { doc, requests } = scriptedDoc([() => ({ Responses: { connections: [connectionItem] } })]);
    const long = { ...KEY, uri: `http://127.0.0.1:3000/demo/tasks/${'9'.repeat(1100)}` };
    const read = await new DynamoUnfurlReads(doc, 'connections', 'subscriptions').read('c-1', long);
    expect(read.stored).toMatchObject({ known: true });
    const asked = (requests[0] as { subscriptions: { Keys: Array<{ sk: string }> } }).subscriptions.Keys;
    expect(asked).toEqual([{ resourceKey: 'task:1', sk: subscriptionSortKey('c-1', long.uri) }]);
    expect(asked[0]?.sk).toMatch(/^c-1#sha256:/);
  });

  it('does not ask for a resource key DynamoDB could not hold: it is not known', async () => {
    const { doc, requests } = scriptedDoc([() => ({ Responses: { connections: [connectionItem] } })]);
    const huge = { ...KEY, resourceKey: `task:${'9'.repeat(2100)}` };
    const read = await new DynamoUnfurlReads(doc, 'connections', 'subscriptions').read('c-1', huge);
    expect(read.stored).toEqual({ known: false });
    expect(Object.keys(requests[0] ?? {})).toEqual(['connections']);
  });
});
