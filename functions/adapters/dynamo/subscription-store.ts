/**
 * SubscriptionStore on DynamoDB (table SUBSCRIPTIONS_TABLE): partition key
 * `resourceKey` (fan-out), sort key `sk` = "<connectionId>#<uri>", index
 * byConnection (connectionId, sk) for clean-up when a connection ends.
 */
import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Page, PushClaim, PushRestore, Subscription, SubscriptionKey, SubscriptionStore } from '#core/ports.js';
import { SUBSCRIPTIONS_TABLE } from '#lib/data-model.js';
import { batchGetItems, isConditionFailed } from './client.js';
import { decodeCursor, encodeCursor, pageSize, subscriptionSortKey } from './rules.js';

const CONNECTION_INDEX = SUBSCRIPTIONS_TABLE.globalIndexes[0]?.indexName ?? 'byConnection';
const BATCH_WRITE_MAX = 25;
const BATCH_RETRIES = 8;

type Item = Record<string, unknown>;

const key = (resourceKey: string, connectionId: string, uri: string) => ({
  resourceKey,
  sk: subscriptionSortKey(connectionId, uri),
});

const OPTIONAL_FIELDS = ['workspaceId', 'contentHash', 'snapshot', 'snapshotAt', 'lastPushedAt'] as const;

export const subscriptionFromItem = (item: Item): Subscription => {
  const s = item as unknown as Subscription;
  const result: Record<string, unknown> = {
    resourceKey: s.resourceKey,
    connectionId: s.connectionId,
    uri: s.uri,
    createdAt: Number(s.createdAt),
    updatedAt: Number(s.updatedAt),
  };
  for (const f of OPTIONAL_FIELDS) if (item[f] !== undefined) result[f] = item[f];
  if (typeof item.leaseHolder === 'string' && item.leaseUntil !== undefined)
    result.pushLease = { holder: item.leaseHolder, until: Number(item.leaseUntil) };
  return result as unknown as Subscription;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class DynamoSubscriptionStore implements SubscriptionStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async upsert(subscription: Subscription): Promise<void> {
    const names: Record<string, string> = {
      '#connectionId': 'connectionId',
      '#uri': 'uri',
      '#createdAt': 'createdAt',
      '#updatedAt': 'updatedAt',
    };
    const values: Record<string, unknown> = {
      ':connectionId': subscription.connectionId,
      ':uri': subscription.uri,
      ':createdAt': subscription.createdAt,
      ':updatedAt': subscription.updatedAt,
    };
    const sets = [
      '#connectionId = :connectionId',
      '#uri = :uri',
      '#createdAt = if_not_exists(#createdAt, :createdAt)',
      '#updatedAt = :updatedAt',
    ];
    for (const f of OPTIONAL_FIELDS) {
      const v = subscription[f];
      if (v === undefined) continue;
      names[`#${f}`] = f;
      values[`:${f}`] = v;
      sets.push(`#${f} = :${f}`);
    }
    // A content hash written here (the unfurl's answer) is no push of the worker's: its lease goes.
    const drop = subscription.contentHash === undefined ? '' : ' REMOVE #lh, #lu';
    if (drop) Object.assign(names, { '#lh': 'leaseHolder', '#lu': 'leaseUntil' });
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key(subscription.resourceKey, subscription.connectionId, subscription.uri),
        UpdateExpression: `SET ${sets.join(', ')}${drop}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  async get(resourceKey: string, connectionId: string, uri: string): Promise<Subscription | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: key(resourceKey, connectionId, uri), ConsistentRead: true }),
    );
    return out.Item ? subscriptionFromItem(out.Item) : undefined;
  }

  async getMany(keys: readonly SubscriptionKey[]): Promise<Subscription[]> {
    const unique = new Map(keys.map((k) => [`${k.resourceKey}\n${subscriptionSortKey(k.connectionId, k.uri)}`, k]));
    const items = await batchGetItems(
      this.doc,
      this.tableName,
      [...unique.values()].map((k) => key(k.resourceKey, k.connectionId, k.uri)),
    );
    return items.map(subscriptionFromItem);
  }

  async deleteForConnectionUri(connectionId: string, uri: string): Promise<number> {
    // The index's key is (connectionId, sk) and sk is "<connectionId>#<uri>": this reads the
    // subscriptions of this connection to this uri only, under whatever resource key each was filed.
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: CONNECTION_INDEX,
        KeyConditionExpression: '#c = :c AND #sk = :sk',
        ExpressionAttributeNames: { '#c': 'connectionId', '#sk': 'sk', '#rk': 'resourceKey' },
        ExpressionAttributeValues: { ':c': connectionId, ':sk': subscriptionSortKey(connectionId, uri) },
        ProjectionExpression: '#rk, #sk',
      }),
    );
    const found = out.Items ?? [];
    await Promise.all(
      found.map((i) =>
        this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: { resourceKey: i.resourceKey, sk: i.sk } })),
      ),
    );
    return found.length;
  }

  async delete(resourceKey: string, connectionId: string, uri: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: key(resourceKey, connectionId, uri) }));
  }

  async listByResource(
    resourceKey: string,
    page: { readonly limit?: number; readonly cursor?: string } = {},
  ): Promise<Page<Subscription>> {
    const limit = pageSize(page.limit);
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined =
      page.cursor !== undefined ? { resourceKey, sk: decodeCursor(page.cursor) } : undefined;
    // Ask for one more than the page so that the last page carries no cursor.
    while (items.length <= limit) {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#rk = :rk',
          ExpressionAttributeNames: { '#rk': 'resourceKey' },
          ExpressionAttributeValues: { ':rk': resourceKey },
          Limit: limit + 1 - items.length,
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
      if (!start) break;
    }
    if (items.length > limit) {
      const pageItems = items.slice(0, limit);
      const last = pageItems[pageItems.length - 1] as Item;
      return { items: pageItems.map(subscriptionFromItem), cursor: encodeCursor(last.sk as string) };
    }
    return { items: items.map(subscriptionFromItem) };
  }

  async listByConnection(connectionId: string): Promise<Subscription[]> {
    const result: Subscription[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.queryByConnection(connectionId, start);
      for (const item of out.items) result.push(subscriptionFromItem(item));
      start = out.next;
    } while (start);
    return result;
  }

  private async queryByConnection(
    connectionId: string,
    start: Record<string, unknown> | undefined,
  ): Promise<{ items: Item[]; next: Record<string, unknown> | undefined }> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: CONNECTION_INDEX,
        KeyConditionExpression: '#c = :c',
        ExpressionAttributeNames: { '#c': 'connectionId' },
        ExpressionAttributeValues: { ':c': connectionId },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    return { items: out.Items ?? [], next: out.LastEvaluatedKey };
  }

  async deleteAllForConnection(connectionId: string): Promise<number> {
    let deleted = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.queryByConnection(connectionId, start);
      const keys = out.items.map((i) => ({ resourceKey: i.resourceKey, sk: i.sk }));
      for (let i = 0; i < keys.length; i += BATCH_WRITE_MAX) {
        const chunk = keys.slice(i, i + BATCH_WRITE_MAX);
        await this.batchDelete(chunk);
        deleted += chunk.length;
      }
      start = out.next;
    } while (start);
    return deleted;
  }

  private async batchDelete(keys: Record<string, unknown>[]): Promise<void> {
    let requests = keys.map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt > BATCH_RETRIES) throw new Error('DynamoDB kept items of a batch delete unprocessed');
      if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt) * Math.random());
      const out = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }));
      requests = (out.UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
    }
  }

  async claimPush(k: SubscriptionKey, claim: PushClaim): Promise<boolean> {
    const snapshot = claim.snapshot === null || claim.snapshot === undefined ? undefined : claim.snapshot;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key(k.resourceKey, k.connectionId, k.uri),
          UpdateExpression: `SET #hash = :hash, #pushed = :now, #updated = :now, #lh = :holder, #lu = :until${
            snapshot === undefined ? ' REMOVE #snap, #snapAt' : ', #snap = :snapshot, #snapAt = :now'
          }`,
          ConditionExpression:
            claim.takeOverFrom === undefined
              ? 'attribute_exists(sk) AND (attribute_not_exists(#hash) OR #hash <> :hash)'
              : 'attribute_exists(sk) AND #hash = :hash AND #lh = :previous',
          ExpressionAttributeNames: {
            '#hash': 'contentHash',
            '#snap': 'snapshot',
            '#snapAt': 'snapshotAt',
            '#pushed': 'lastPushedAt',
            '#updated': 'updatedAt',
            '#lh': 'leaseHolder',
            '#lu': 'leaseUntil',
          },
          ExpressionAttributeValues: {
            ':hash': claim.contentHash,
            ':now': claim.now,
            ':holder': claim.lease.holder,
            ':until': claim.lease.until,
            ...(snapshot === undefined ? {} : { ':snapshot': snapshot }),
            ...(claim.takeOverFrom === undefined ? {} : { ':previous': claim.takeOverFrom }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async releasePush(
    k: SubscriptionKey,
    release: { readonly holder: string; readonly contentHash: string; readonly restore: PushRestore },
  ): Promise<void> {
    const names: Record<string, string> = { '#hash': 'contentHash', '#lh': 'leaseHolder', '#lu': 'leaseUntil' };
    const values: Record<string, unknown> = { ':claimed': release.contentHash, ':holder': release.holder };
    const sets: string[] = [];
    const removes: string[] = [];
    // The lease read before the claim goes back too (a released take-over leaves the claim it took over).
    const lease = release.restore.pushLease;
    if (lease === undefined) removes.push('#lh', '#lu');
    else {
      Object.assign(values, { ':restoredHolder': lease.holder, ':restoredUntil': lease.until });
      sets.push('#lh = :restoredHolder', '#lu = :restoredUntil');
    }
    const fields = { contentHash: '#hash', snapshot: '#snap', snapshotAt: '#snapAt', lastPushedAt: '#pushed' } as const;
    for (const [field, name] of Object.entries(fields) as [Exclude<keyof PushRestore, 'pushLease'>, string][]) {
      names[name] = field;
      const v = release.restore[field];
      if (v === undefined) removes.push(name);
      else {
        values[`:${field}`] = v;
        sets.push(`${name} = :${field}`);
      }
    }
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key(k.resourceKey, k.connectionId, k.uri),
          UpdateExpression: [
            sets.length > 0 ? `SET ${sets.join(', ')}` : '',
            removes.length > 0 ? `REMOVE ${removes.join(', ')}` : '',
          ]
            .filter(Boolean)
            .join(' '),
          ConditionExpression: '#hash = :claimed AND #lh = :holder',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      // Someone else wrote the item since: their state stays, and the lease lapses on its own.
      if (!isConditionFailed(error)) throw error;
    }
  }
}
