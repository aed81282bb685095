/**
 * The DynamoDB DocumentClient shared by the store adapters of one process.
 *
 * In AWS the endpoint, region and credentials come from the Lambda environment;
 * locally DYNAMODB_ENDPOINT points at the embedded emulator (local/emulators.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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
