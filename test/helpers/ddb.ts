/**
 * One-liners for tests that need DynamoDB only (dynalite on 127.0.0.1 with the
 * tables of lib/data-model.ts) and the DynamoDB stores built on it:
 *
 *   const ddb = useDynamo();                     // beforeAll starts, afterAll stops
 *   ... ddb().stores.connections, ddb().doc, ddb().env
 */

import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from '@jest/globals';
import { DynamoAuthStateStore } from '#adapters/dynamo/auth-state-store.js';
import { documentClientFor } from '#adapters/dynamo/client.js';
import { DynamoConnectionStore } from '#adapters/dynamo/connection-store.js';
import { DynamoRateLimitStore } from '#adapters/dynamo/rate-limit-store.js';
import { DynamoSubscriptionStore } from '#adapters/dynamo/subscription-store.js';
import type { AuthStateStore, ConnectionStore, RateLimitStore, SubscriptionStore } from '#core/ports.js';
import { type EmulatorOptions, type Emulators, startDynamo } from '#local/emulators.js';
import { type Config, need, parseConfig } from '#shared/config.js';
import { dynamoClientFor } from './emulators.js';

export interface TestDynamo extends Omit<Emulators, 'sqsEndpoint'> {
  readonly config: Config;
  /** A DocumentClient with the adapters' marshalling options and local credentials. */
  readonly doc: DynamoDBDocumentClient;
  readonly stores: {
    readonly connections: ConnectionStore;
    readonly authState: AuthStateStore;
    readonly subscriptions: SubscriptionStore;
    readonly rateLimits: RateLimitStore;
  };
}

export const startTestDynamo = async (options: EmulatorOptions = {}): Promise<TestDynamo> => {
  const dynamo = await startDynamo({ ttlSweepMs: 0, ...options });
  const config = parseConfig(dynamo.env);
  const doc = documentClientFor(dynamoClientFor(dynamo.dynamodbEndpoint));
  const t = config.tables;
  return {
    ...dynamo,
    config,
    doc,
    stores: {
      connections: new DynamoConnectionStore(doc, need(t.connections, 'CONNECTIONS_TABLE')),
      authState: new DynamoAuthStateStore(doc, need(t.authState, 'AUTH_STATE_TABLE')),
      subscriptions: new DynamoSubscriptionStore(doc, need(t.subscriptions, 'SUBSCRIPTIONS_TABLE')),
      rateLimits: new DynamoRateLimitStore(doc, need(t.rateLimits, 'RATE_LIMITS_TABLE')),
    },
    async stop() {
      doc.destroy();
      await dynamo.stop();
    },
  };
};

/** Registers beforeAll/afterAll for this file and returns an accessor. */
export const useDynamo = (options: EmulatorOptions = {}): (() => TestDynamo) => {
  let current: TestDynamo | undefined;
  beforeAll(async () => {
    current = await startTestDynamo(options);
  });
  afterAll(async () => {
    await current?.stop();
  });
  return () => {
    if (!current) throw new Error('DynamoDB is not started yet (use the accessor inside tests or hooks)');
    return current;
  };
};
