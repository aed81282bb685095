/**
 * One-liners for tests that need the embedded emulators (dynalite + fauxqs on
 * 127.0.0.1, OS-assigned ports, tables and queues from lib/data-model.ts):
 *
 *   const emulators = useEmulators();            // beforeAll starts, afterAll stops
 *   ... emulators().env, emulators().config, emulators().sqs
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll } from '@jest/globals';
import {
  type EmulatorOptions,
  type Emulators,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  startEmulators,
} from '#local/emulators.js';
import { type Config, parseConfig } from '#shared/config.js';

export interface TestEmulators extends Emulators {
  /** The configuration a handler would parse from `env`. */
  readonly config: Config;
  /** An SQS client pointed at the emulator (explicit endpoint: fauxqs queue URLs do not resolve). */
  readonly sqs: SQSClient;
}

export const sqsClientFor = (endpoint: string): SQSClient =>
  new SQSClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });

export const dynamoClientFor = (endpoint: string): DynamoDBClient =>
  new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });

/** Starts both emulators (no TTL sweep unless asked: tests control time). */
export const startTestEmulators = async (options: EmulatorOptions = {}): Promise<TestEmulators> => {
  const emulators = await startEmulators({ ttlSweepMs: 0, ...options });
  const sqs = sqsClientFor(emulators.sqsEndpoint);
  return {
    ...emulators,
    config: parseConfig(emulators.env),
    sqs,
    async stop() {
      sqs.destroy();
      await emulators.stop();
    },
  };
};

/** Registers beforeAll/afterAll for this file and returns an accessor. */
export const useEmulators = (options: EmulatorOptions = {}): (() => TestEmulators) => {
  let current: TestEmulators | undefined;
  beforeAll(async () => {
    current = await startTestEmulators(options);
  });
  afterAll(async () => {
    await current?.stop();
  });
  return () => {
    if (!current) throw new Error('Emulators are not started yet (use the accessor inside tests or hooks)');
    return current;
  };
};

/**
 * Copies the emulators' region and dummy credentials into process.env (as the
 * local runtime and Lambda provide them), for clients built from configuration
 * by the adapters' factories. Returns a function that restores the old values.
 */
export const exportAwsEnv = (env: Readonly<Record<string, string>>): (() => void) => {
  const names = ['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
  const before = Object.fromEntries(names.map((n) => [n, process.env[n]]));
  for (const n of names) if (env[n] !== undefined) process.env[n] = env[n];
  return () => {
    for (const n of names) {
      if (before[n] === undefined) delete process.env[n];
      else process.env[n] = before[n];
    }
  };
};
