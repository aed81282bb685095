/**
 * DeliveryLog on DynamoDB (table DELIVERY_LOG_TABLE): partition `connectionId`,
 * sort key `sk` = `<epoch ms, 13 digits>#<random>` so a Query in descending
 * order with a Limit returns the newest pushes first; every item carries
 * `expiresAt` (epoch seconds) for DynamoDB TTL, and readers skip expired items
 * TTL has not removed yet.
 */
import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Delivery, DeliveryLog } from '#core/updates/ports.js';
import { DELIVERY_LOG_TTL_DAYS } from '#lib/data-model.js';
import { batchWriteItems } from './client.js';

const MAX_LIMIT = 500;
const sortKey = (at: number): string => `${String(Math.max(0, Math.floor(at))).padStart(13, '0')}#${randomUUID()}`;

export class DynamoDeliveryLog implements DeliveryLog {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
    private readonly retentionDays = DELIVERY_LOG_TTL_DAYS,
  ) {}

  private item(delivery: Delivery): Record<string, unknown> {
    return {
      ...delivery,
      sk: sortKey(delivery.at),
      expiresAt: Math.floor(delivery.at / 1000) + this.retentionDays * 86_400,
    };
  }

  async record(delivery: Delivery): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: this.item(delivery) }));
  }

  /** One BatchWriteItem per 25 deliveries (a single one is a PutItem). */
  async recordMany(deliveries: readonly Delivery[]): Promise<void> {
    if (deliveries.length === 1 && deliveries[0]) return this.record(deliveries[0]);
    await batchWriteItems(
      this.doc,
      this.tableName,
      deliveries.map((d) => ({ PutRequest: { Item: this.item(d) } })),
    );
  }

  async recent(connectionId: string, limit: number): Promise<readonly Delivery[]> {
    const want = Math.min(Math.max(0, Math.floor(limit)), MAX_LIMIT);
    if (want === 0) return [];
    const nowSeconds = Math.floor(this.now() / 1000);
    const out: Delivery[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'connectionId = :c',
          ExpressionAttributeValues: { ':c': connectionId },
          ScanIndexForward: false,
          Limit: want - out.length,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        if (typeof item.expiresAt === 'number' && item.expiresAt <= nowSeconds) continue;
        out.push(toDelivery(item));
      }
      start = page.LastEvaluatedKey;
    } while (start && out.length < want);
    return out;
  }
}

const toDelivery = (item: Record<string, unknown>): Delivery => {
  const status = item.status;
  return {
    connectionId: String(item.connectionId),
    at: Number(item.at),
    resource: String(item.resource ?? ''),
    uri: String(item.uri ?? ''),
    status:
      typeof status === 'number'
        ? status
        : status === 'timeout' || status === 'none' || status === 'skipped'
          ? status
          : 'network',
    action: String(item.action ?? ''),
    ...(typeof item.code === 'string' ? { code: item.code } : {}),
    ...(typeof item.message === 'string' ? { message: item.message } : {}),
    ...(typeof item.requestId === 'string' ? { requestId: item.requestId } : {}),
  };
};
