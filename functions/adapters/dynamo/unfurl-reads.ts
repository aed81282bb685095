/**
 * UnfurlReads on DynamoDB: the connection and the stamp of its subscription to
 * the uri in one BatchGetItem, both strongly consistent (docs/adr/0065).
 *
 * BatchGetItem may leave keys unprocessed under throttling; they are asked
 * again a few times with a short backoff. A connection still unanswered then
 * fails as throttling (503 with Retry-After, ADR 0085); a subscription still
 * unanswered is reported as not known, and the unfurl writes it as before.
 */
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Connection, StampRead, SubscriptionKey, UnfurlReads } from '#core/ports.js';
import { stampOf, UNKNOWN_STAMP } from '#core/unfurl/reads.js';
import { connectionFromItem, connectionKey } from './connection-store.js';
import { MAX_PARTITION_KEY_BYTES, subscriptionSortKey } from './rules.js';

/** Retries of unprocessed keys, and the first backoff (doubled each time). */
const UNPROCESSED_RETRIES = 3;
const UNPROCESSED_BACKOFF_MS = 10;

type Item = Record<string, unknown>;
type KeysAndAttributes = {
  Keys: Item[];
  ConsistentRead: true;
  ProjectionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
};

/** Raised when DynamoDB keeps leaving the connection unread: handled like any throttling. */
export class UnprocessedReadError extends Error {
  override readonly name = 'ProvisionedThroughputExceededException';
  constructor() {
    super('DynamoDB left the connection read unprocessed');
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The subscription's key, when DynamoDB can take it (a longer resource key cannot be stored either). */
const subscriptionItemKey = (key: SubscriptionKey): Item | undefined => {
  if (Buffer.byteLength(key.resourceKey) > MAX_PARTITION_KEY_BYTES) return undefined;
  return { resourceKey: key.resourceKey, sk: subscriptionSortKey(key.connectionId, key.uri) };
};

export class DynamoUnfurlReads implements UnfurlReads {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly connectionsTable: string,
    private readonly subscriptionsTable: string,
  ) {}

  async read(
    connectionId: string,
    key?: SubscriptionKey,
  ): Promise<{ readonly connection: Connection | undefined; readonly stored: StampRead }> {
    const subscriptionKey = key && subscriptionItemKey(key);
    let request: Record<string, KeysAndAttributes> = {
      [this.connectionsTable]: { Keys: [connectionKey(connectionId)], ConsistentRead: true },
      ...(subscriptionKey
        ? {
            [this.subscriptionsTable]: {
              Keys: [subscriptionKey],
              ConsistentRead: true,
              ProjectionExpression: '#hash, #at',
              ExpressionAttributeNames: { '#hash': 'contentHash', '#at': 'snapshotAt' },
            },
          }
        : {}),
    };
    let connectionItem: Item | undefined;
    let subscriptionItem: Item | undefined;
    for (let attempt = 0; ; attempt++) {
      const out = await this.doc.send(new BatchGetCommand({ RequestItems: request }));
      connectionItem ??= out.Responses?.[this.connectionsTable]?.[0];
      subscriptionItem ??= out.Responses?.[this.subscriptionsTable]?.[0];
      const unprocessed = out.UnprocessedKeys ?? {};
      if (Object.keys(unprocessed).length === 0) {
        return { connection: connectionItem && connectionFromItem(connectionItem), stored: stamp(subscriptionItem) };
      }
      if (attempt === UNPROCESSED_RETRIES) {
        if (unprocessed[this.connectionsTable]) throw new UnprocessedReadError();
        return { connection: connectionItem && connectionFromItem(connectionItem), stored: UNKNOWN_STAMP };
      }
      await sleep(UNPROCESSED_BACKOFF_MS * 2 ** attempt);
      request = unprocessed as Record<string, KeysAndAttributes>;
    }

    function stamp(item: Item | undefined): StampRead {
      if (!subscriptionKey) return UNKNOWN_STAMP;
      return { known: true, stamp: item && stampOf(item as { contentHash?: string; snapshotAt?: number }) };
    }
  }
}
