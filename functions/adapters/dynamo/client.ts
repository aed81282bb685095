/**
 * The DynamoDB DocumentClient shared by the store adapters of one process.
 *
 * In AWS the endpoint, region and credentials come from the Lambda environment;
 * locally DYNAMODB_ENDPOINT points at the embedded emulator (local/emulators.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '#shared/config.js';

export const createDynamoDbClient = (config: Pick<Config, 'endpoints'>): DynamoDBClient =>
  new DynamoDBClient(config.endpoints.dynamodb ? { endpoint: config.endpoints.dynamodb } : {});

export const documentClientFor = (client: DynamoDBClient): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
    unmarshallOptions: { wrapNumbers: false },
  });

export const createDocumentClient = (config: Pick<Config, 'endpoints'>): DynamoDBDocumentClient =>
  documentClientFor(createDynamoDbClient(config));

/** True for the error DynamoDB raises when a ConditionExpression is false. */
export const isConditionFailed = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

/** BatchGetItem takes at most 100 keys; BatchWriteItem at most 25 requests. */
export const BATCH_GET_MAX = 100;
export const BATCH_WRITE_MAX = 25;
const BATCH_RETRIES = 8;

const backoff = (attempt: number) =>
  new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt) * Math.random()));

/**
 * Reads `keys` of one table with as few strongly consistent BatchGetItem requests as
 * the limit allows (100 keys each), asking again for what DynamoDB left unprocessed.
 */
export const batchGetItems = async (
  doc: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Record<string, unknown>[],
): Promise<Record<string, unknown>[]> => {
  const items: Record<string, unknown>[] = [];
  for (let i = 0; i < keys.length; i += BATCH_GET_MAX) {
    let pending: Record<string, unknown>[] = keys.slice(i, i + BATCH_GET_MAX);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > BATCH_RETRIES) throw new Error('DynamoDB kept keys of a batch read unprocessed');
      if (attempt > 0) await backoff(attempt);
      const out = await doc.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }),
      );
      items.push(...(out.Responses?.[tableName] ?? []));
      pending = (out.UnprocessedKeys?.[tableName]?.Keys ?? []) as Record<string, unknown>[];
    }
  }
  return items;
};

/** Writes (puts or deletes) with as few BatchWriteItem requests as the limit allows (25 each), retrying what is unprocessed. */
export const batchWriteItems = async (
  doc: DynamoDBDocumentClient,
  tableName: string,
  requests: readonly (
    | { PutRequest: { Item: Record<string, unknown> } }
    | { DeleteRequest: { Key: Record<string, unknown> } }
  )[],
): Promise<void> => {
  for (let i = 0; i < requests.length; i += BATCH_WRITE_MAX) {
    let pending = requests.slice(i, i + BATCH_WRITE_MAX);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > BATCH_RETRIES) throw new Error('DynamoDB kept items of a batch write unprocessed');
      if (attempt > 0) await backoff(attempt);
      const out = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: [...pending] } }));
      pending = (out.UnprocessedItems?.[tableName] ?? []) as typeof pending;
    }
  }
};
