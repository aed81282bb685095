/**
 * The embedded emulators: tables and queues match lib/data-model.ts, the
 * settings they hand out are complete, the expiry sweep stands in for TTL, and
 * the store factories work on them with nothing but configuration.
 */

import {
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { authStateStore, connectionStore, rateLimitStore, subscriptionStore } from '#adapters/dynamo/factory.js';
import { QUEUES, TABLES } from '#lib/data-model.js';
import { ENV } from '#lib/env-names.js';
import { startDynamo, sweepExpired } from '#local/emulators.js';
import { parseConfig } from '#shared/config.js';
import { ConfigError } from '#shared/errors.js';
import { dynamoClientFor, exportAwsEnv, useEmulators } from '#test/helpers/emulators.js';
import { aConnection } from '#test/unit/adapters/contracts/connection-store.contract.js';

const emulators = useEmulators({ prefix: 'emu-test' });
let restoreEnv: () => void = () => undefined;
beforeAll(() => {
  restoreEnv = exportAwsEnv(emulators().env);
});
afterAll(() => restoreEnv());

describe('startEmulators', () => {
  it('hands out every setting a handler needs, on 127.0.0.1', () => {
    const { env, dynamodbEndpoint, sqsEndpoint } = emulators();
    for (const t of TABLES) expect(env[t.envName]).toMatch(/^emu-test-/);
    for (const q of QUEUES) expect(env[q.envName]).toMatch(/\/emu-test-/);
    expect(env[ENV.DYNAMODB_ENDPOINT]).toBe(dynamodbEndpoint);
    expect(env[ENV.SQS_ENDPOINT]).toBe(sqsEndpoint);
    expect(new URL(dynamodbEndpoint).hostname).toBe('127.0.0.1');
    expect(new URL(sqsEndpoint).hostname).toBe('127.0.0.1');
    expect(env).toMatchObject({ AWS_REGION: expect.any(String), AWS_ACCESS_KEY_ID: expect.any(String) });
    expect(() => parseConfig(env)).not.toThrow();
  });

  it('creates each table with the keys and indexes of its definition', async () => {
    const client = dynamoClientFor(emulators().dynamodbEndpoint);
    try {
      for (const t of TABLES) {
        const { Table } = await client.send(new DescribeTableCommand({ TableName: emulators().env[t.envName] }));
        expect(Table?.TableStatus).toBe('ACTIVE');
        expect(Table?.KeySchema).toEqual([
          { AttributeName: t.partitionKey.name, KeyType: 'HASH' },
          ...(t.sortKey ? [{ AttributeName: t.sortKey.name, KeyType: 'RANGE' }] : []),
        ]);
        const indexes = (Table?.GlobalSecondaryIndexes ?? []).map((i) => ({ name: i.IndexName, keys: i.KeySchema }));
        expect(indexes).toEqual(
          t.globalIndexes.map((i) => ({
            name: i.indexName,
            keys: [
              { AttributeName: i.partitionKey.name, KeyType: 'HASH' },
              ...(i.sortKey ? [{ AttributeName: i.sortKey.name, KeyType: 'RANGE' }] : []),
            ],
          })),
        );
      }
    } finally {
      client.destroy();
    }
  });

  it('creates each queue with its visibility timeout and redrive policy', async () => {
    const { sqs, env } = emulators();
    for (const q of QUEUES) {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: env[q.envName], AttributeNames: ['All'] }),
      );
      expect(Number(Attributes?.VisibilityTimeout)).toBe(q.visibilityTimeoutSeconds);
      if (q.deadLetter) {
        const target = QUEUES.find((d) => d.id === q.deadLetter?.queueId);
        const { Attributes: dlq } = await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: env[target?.envName as string], AttributeNames: ['QueueArn'] }),
        );
        expect(JSON.parse(Attributes?.RedrivePolicy as string)).toEqual({
          deadLetterTargetArn: dlq?.QueueArn,
          maxReceiveCount: q.deadLetter.maxReceiveCount,
        });
      }
    }
  });
});

describe('TTL on the DynamoDB emulator', () => {
  it('lacks UpdateTimeToLive, so sweepExpired deletes items whose TTL passed (and readers check expiry anyway)', async () => {
    const dynamo = await startDynamo({ prefix: 'ttl', ttlSweepMs: 0 });
    const client = dynamoClientFor(dynamo.dynamodbEndpoint);
    try {
      const table = dynamo.env[ENV.AUTH_STATE_TABLE];
      await expect(
        client.send(
          new UpdateTimeToLiveCommand({
            TableName: table,
            TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
          }),
        ),
      ).rejects.toThrow();
      const now = Date.UTC(2026, 0, 15);
      const put = (pk: string, ttlMs: number) =>
        client.send(
          new PutItemCommand({
            TableName: table,
            Item: { pk: { S: pk }, expiresAt: { N: String(Math.ceil(ttlMs / 1000)) } },
          }),
        );
      await put('marker#old', now - 1000);
      await put('marker#new', now + 60_000);
      expect(await sweepExpired(client, 'ttl', now)).toBe(1);
      const get = (pk: string) => client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk } } }));
      expect((await get('marker#old')).Item).toBeUndefined();
      expect((await get('marker#new')).Item).toBeDefined();
    } finally {
      client.destroy();
      await dynamo.stop();
    }
  });
});

describe('dynalite in a process of its own', () => {
  it('serves the same tables from a child process, and stop() ends that process', async () => {
    const listeners = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    const before = listeners();
    const dynamo = await startDynamo({ prefix: 'child', ttlSweepMs: 0, dynamoProcess: 'child' });
    const client = dynamoClientFor(dynamo.dynamodbEndpoint);
    try {
      // No listener was added to this process (others may close meanwhile).
      expect(listeners()).toBeLessThanOrEqual(before);
      const table = dynamo.env[ENV.CONNECTIONS_TABLE];
      await client.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'connection#child' } } }));
      const got = await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'connection#child' } } }));
      expect(got.Item?.pk?.S).toBe('connection#child');
    } finally {
      client.destroy();
      await dynamo.stop();
    }
    await expect(fetch(dynamo.dynamodbEndpoint, { method: 'POST' })).rejects.toThrow();
  });
});

describe('store factories', () => {
  it('build working stores from configuration alone', async () => {
    const config = emulators().config;
    const c = aConnection();
    await connectionStore(config).create(c);
    expect(await connectionStore(config).get(c.id)).toEqual(c);
    expect(connectionStore(config)).toBe(connectionStore(config));
    expect((await rateLimitStore(config).take('k', { capacity: 1, periodMs: 1000 }, 0)).allowed).toBe(true);
    expect(await subscriptionStore(config).listByConnection(c.id)).toEqual([]);
    expect(await authStateStore(config).getMarker('none', 0)).toBeUndefined();
  });

  it('fail by the environment-variable name when a table setting is missing', () => {
    const { [ENV.SUBSCRIPTIONS_TABLE]: _omit, ...env } = emulators().env;
    const config = parseConfig(env);
    expect(() => subscriptionStore(config)).toThrow(ConfigError);
    expect(() => subscriptionStore(config)).toThrow(/SUBSCRIPTIONS_TABLE/);
  });
});
