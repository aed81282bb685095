/**
 * Embedded AWS-protocol emulators for the local runtime and the integration tests.
 *
 * - DynamoDB: dynalite (pure npm, LevelDB in memory, or on disk under
 *   `dataDir`), served in-process or in a child process.
 * - SQS: fauxqs 2 (pure npm, in memory, or SQLite under `dataDir`; speaks the
 *   JSON protocol of current @aws-sdk/client-sqs), served in-process.
 *
 * Both listen on 127.0.0.1 (port 0 = OS-assigned). Tables and queues are created
 * through the real AWS SDK clients from the definitions in lib/data-model.ts,
 * the same ones the CDK stack uses. See docs/adr/0020-local-emulators.md for the
 * choice and for what each emulator lacks (notably: neither deletes expired
 * items, so a sweep here stands in for DynamoDB TTL and readers check expiry).
 * With `dataDir`, tables and queues that already exist there are kept (ADR 0101).
 */

import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AttributeDefinition,
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import {
  type KeyAttribute,
  localResourceName,
  QUEUES,
  type QueueDefinition,
  TABLES,
  type TableDefinition,
} from '#lib/data-model.js';
import { ENV } from '#lib/env-names.js';
import { forkUntilReady } from './child-process.js';
import { persistentStores } from './fauxqs-persistence.js';

export interface EmulatorOptions {
  /** Interface to bind; 127.0.0.1 unless told otherwise. */
  host?: string;
  /** 0 (default) = OS-assigned. */
  dynamodbPort?: number;
  /** 0 (default) = OS-assigned. */
  sqsPort?: number;
  /** Prefix of table and queue names (default `nlp-local`). */
  prefix?: string;
  /** Overrides the visibility timeout of every queue (seconds), e.g. for fast redelivery in tests. */
  visibilityTimeoutSeconds?: number;
  /** Overrides maxReceiveCount of every redrive policy. */
  maxReceiveCount?: number;
  /** Interval of the expiry sweep that stands in for DynamoDB TTL (ms; 0 disables; default 60 000). */
  ttlSweepMs?: number;
  /**
   * Where dynalite runs: in this process (default) or in a child process of
   * its own ('child'), so that its work uses another core, as DynamoDB runs
   * elsewhere than a Lambda function (the benchmark does this).
   */
  dynamoProcess?: 'inline' | 'child';
  /**
   * Keep tables, items, queues and messages on disk under this directory
   * (`dynamodb/`: dynalite's LevelDB, `sqs/`: fauxqs's SQLite), found again by
   * the next start with the same directory. Absent (the default): in memory.
   */
  dataDir?: string;
}

export interface Emulators {
  readonly dynamodbEndpoint: string;
  readonly sqsEndpoint: string;
  /** Settings to hand to handlers: table names, queue URLs, endpoints, region and dummy credentials, keyed by ENV names. */
  readonly env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_PREFIX = 'nlp-local';
const DEFAULT_SWEEP_MS = 60_000;

interface DynaliteOptions {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}
type DynaliteFactory = (options?: DynaliteOptions) => Server;
const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as DynaliteFactory;

const listen = (server: Server, port: number, host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });

const closeServer = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive sockets of SDK clients would hold close() open.
    server.closeAllConnections();
  });

const urlHost = (host: string): string => (host.includes(':') ? `[${host}]` : host);

const dedupeAttributes = (keys: readonly (KeyAttribute | undefined)[]): AttributeDefinition[] => {
  const seen = new Map<string, AttributeDefinition>();
  for (const k of keys) if (k) seen.set(k.name, { AttributeName: k.name, AttributeType: k.type });
  return [...seen.values()];
};

const keySchema = (pk: KeyAttribute, sk?: KeyAttribute): KeySchemaElement[] => [
  { AttributeName: pk.name, KeyType: 'HASH' },
  ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' as const }] : []),
];

/** The CreateTable input for a table definition (exported for tests of other parts). */
export const createTableInput = (table: TableDefinition, tableName: string) => {
  const indexes: GlobalSecondaryIndex[] = table.globalIndexes.map((i) => ({
    IndexName: i.indexName,
    KeySchema: keySchema(i.partitionKey, i.sortKey),
    Projection: { ProjectionType: 'ALL' },
  }));
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: dedupeAttributes([
      table.partitionKey,
      table.sortKey,
      ...table.globalIndexes.flatMap((i) => [i.partitionKey, i.sortKey]),
    ]),
    KeySchema: keySchema(table.partitionKey, table.sortKey),
    ...(indexes.length > 0 ? { GlobalSecondaryIndexes: indexes } : {}),
  };
};

/** Whether an SDK error is `name` (SQS's JSON protocol may prefix it: `AWS.SimpleQueueService.QueueNameExists`). */
const isNamed = (error: unknown, name: string): boolean => {
  if (typeof error !== 'object' || error === null) return false;
  const { name: actual, Code: code } = error as { name?: unknown; Code?: unknown };
  return [actual, code].some((n) => typeof n === 'string' && (n === name || n.endsWith(`.${name}`)));
};

/** A table kept from an earlier start must have the keys and indexes the code expects. */
const checkExistingTable = async (client: DynamoDBClient, table: TableDefinition, name: string): Promise<void> => {
  const wanted = createTableInput(table, name);
  const found = (await client.send(new DescribeTableCommand({ TableName: name }))).Table;
  const keys = (k: readonly KeySchemaElement[] | undefined) =>
    JSON.stringify((k ?? []).map((e) => [e.AttributeName, e.KeyType]));
  const indexes = (
    list: readonly { IndexName?: string | undefined; KeySchema?: KeySchemaElement[] | undefined }[] | undefined,
  ) => JSON.stringify((list ?? []).map((i) => [i.IndexName, keys(i.KeySchema)]).sort());
  if (
    keys(found?.KeySchema) !== keys(wanted.KeySchema) ||
    indexes(found?.GlobalSecondaryIndexes) !== indexes(wanted.GlobalSecondaryIndexes)
  ) {
    throw new Error(
      `The kept table ${name} has other keys or indexes than lib/data-model.ts defines; start clean with \`npm start -- --fresh\``,
    );
  }
};

const createTables = async (client: DynamoDBClient, prefix: string): Promise<Record<string, string>> => {
  const env: Record<string, string> = {};
  await Promise.all(
    TABLES.map(async (table) => {
      const name = localResourceName(table.id, prefix);
      try {
        await client.send(new CreateTableCommand(createTableInput(table, name)));
      } catch (error) {
        // Kept on disk from an earlier start.
        if (!isNamed(error, 'ResourceInUseException')) throw error;
        await checkExistingTable(client, table, name);
      }
      env[table.envName] = name;
    }),
  );
  // dynalite is started with createTableMs 0, but the state flip is still asynchronous.
  for (const name of Object.values(env)) {
    for (let i = 0; i < 200; i++) {
      const d = await client.send(new DescribeTableCommand({ TableName: name }));
      if (d.Table?.TableStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  return env;
};

/**
 * Deletes items whose TTL attribute (epoch seconds) has passed, as DynamoDB's
 * TTL would (eventually) do. dynalite has no UpdateTimeToLive; correctness never
 * depends on this sweep, because every reader checks expiry itself.
 */
export const sweepExpired = async (client: DynamoDBClient, prefix: string, nowMs = Date.now()): Promise<number> => {
  let deleted = 0;
  for (const table of TABLES) {
    if (!table.ttlAttribute) continue;
    const tableName = localResourceName(table.id, prefix);
    const keyNames = [table.partitionKey.name, ...(table.sortKey ? [table.sortKey.name] : [])];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({
          TableName: tableName,
          FilterExpression: '#ttl <= :now',
          ExpressionAttributeNames: { '#ttl': table.ttlAttribute },
          ExpressionAttributeValues: { ':now': { N: String(Math.floor(nowMs / 1000)) } },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      const keys = (page.Items ?? []).map((item) =>
        Object.fromEntries(keyNames.map((k) => [k, item[k] as AttributeValue])),
      );
      for (let i = 0; i < keys.length; i += 25) {
        const chunk = keys.slice(i, i + 25);
        await client.send(
          new BatchWriteItemCommand({
            RequestItems: { [tableName]: chunk.map((Key) => ({ DeleteRequest: { Key } })) },
          }),
        );
        deleted += chunk.length;
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }
  return deleted;
};

const dynamoClient = (endpoint: string) =>
  new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });

const awsEnv = (): Record<string, string> => ({
  AWS_REGION: LOCAL_REGION,
  AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
});

interface RunningDynalite {
  readonly port: number;
  close(): Promise<void>;
}

const listenInline = async (port: number, host: string, path: string | undefined): Promise<RunningDynalite> => {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(path ? { path } : {}) });
  return { port: await listen(server, port, host), close: () => closeServer(server) };
};

/** Starts local/dynalite-process.cjs and waits for its port; close() ends the process. */
const forkDynalite = async (port: number, host: string, path: string | undefined): Promise<RunningDynalite> => {
  const child = await forkUntilReady<{ port?: unknown }>(
    fileURLToPath(new URL('./dynalite-process.cjs', import.meta.url)),
    'dynalite in its own process',
    { env: { DYNALITE_PORT: String(port), DYNALITE_HOST: host, DYNALITE_PATH: path ?? '' }, execArgv: [] },
  );
  if (typeof child.message.port !== 'number') {
    await child.stop();
    throw new Error('dynalite in its own process did not start: no port');
  }
  return { port: child.message.port, close: child.stop };
};

/** Starts dynalite on 127.0.0.1 and creates every table of lib/data-model.ts. */
export async function startDynamo(options: EmulatorOptions = {}): Promise<Omit<Emulators, 'sqsEndpoint'>> {
  const host = options.host ?? DEFAULT_HOST;
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const path = options.dataDir ? join(options.dataDir, 'dynamodb') : undefined;
  if (path) mkdirSync(path, { recursive: true });
  const { port, close } =
    options.dynamoProcess === 'child'
      ? await forkDynalite(options.dynamodbPort ?? 0, host, path)
      : await listenInline(options.dynamodbPort ?? 0, host, path);
  const dynamodbEndpoint = `http://${urlHost(host)}:${port}`;
  const client = dynamoClient(dynamodbEndpoint);
  let tables: Record<string, string>;
  try {
    tables = await createTables(client, prefix);
  } catch (error) {
    client.destroy();
    await close();
    throw error;
  }

  const sweepMs = options.ttlSweepMs ?? DEFAULT_SWEEP_MS;
  let sweeping: Promise<unknown> | undefined;
  const timer =
    sweepMs > 0
      ? setInterval(() => {
          sweeping ??= sweepExpired(client, prefix)
            .catch(() => undefined)
            .finally(() => {
              sweeping = undefined;
            });
        }, sweepMs)
      : undefined;
  timer?.unref();

  let stopped = false;
  return {
    dynamodbEndpoint,
    env: { ...tables, [ENV.DYNAMODB_ENDPOINT]: dynamodbEndpoint, ...awsEnv() },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearInterval(timer);
      await sweeping;
      client.destroy();
      await close();
    },
  };
}

interface SqsEmulator {
  readonly sqsEndpoint: string;
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

const createQueues = async (
  client: SQSClient,
  prefix: string,
  port: number,
  options: EmulatorOptions,
): Promise<Record<string, string>> => {
  const env: Record<string, string> = {};
  const arns = new Map<string, string>();
  // Dead-letter queues first: a redrive policy names its target by ARN.
  const ordered = [...QUEUES].sort((a, b) => Number(a.deadLetter !== undefined) - Number(b.deadLetter !== undefined));
  for (const queue of ordered as QueueDefinition[]) {
    const attributes: Record<string, string> = {
      VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? queue.visibilityTimeoutSeconds),
    };
    if (queue.deadLetter) {
      const target = arns.get(queue.deadLetter.queueId);
      if (!target) throw new Error(`Dead-letter queue ${queue.deadLetter.queueId} is not defined before ${queue.id}`);
      attributes.RedrivePolicy = JSON.stringify({
        deadLetterTargetArn: target,
        maxReceiveCount: options.maxReceiveCount ?? queue.deadLetter.maxReceiveCount,
      });
    }
    const queueName = localResourceName(queue.id, prefix);
    let url: string;
    try {
      url = (await client.send(new CreateQueueCommand({ QueueName: queueName, Attributes: attributes })))
        .QueueUrl as string;
    } catch (error) {
      // Kept on disk from an earlier start with other attributes (e.g. a test's visibility timeout): take ours.
      if (!isNamed(error, 'QueueNameExists')) throw error;
      url = (await client.send(new GetQueueUrlCommand({ QueueName: queueName }))).QueueUrl as string;
      await client.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes }));
    }
    // A kept queue's URL names the port of the start that created it; name this one's.
    const current = new URL(url);
    current.port = String(port);
    url = current.toString();
    const attrs = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
    arns.set(queue.id, attrs.Attributes?.QueueArn as string);
    env[queue.envName] = url;
  }
  return env;
};

const startSqs = async (options: EmulatorOptions): Promise<SqsEmulator> => {
  const host = options.host ?? DEFAULT_HOST;
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  // buildApp + our own listen(): startFauxqs() would bind 0.0.0.0.
  const kept = options.dataDir ? await persistentStores(join(options.dataDir, 'sqs')) : undefined;
  const app = buildApp({ logger: false, defaultRegion: LOCAL_REGION, ...(kept ? { stores: kept.stores } : {}) });
  const close = async () => {
    app.server.closeAllConnections();
    await app.close();
    kept?.close();
  };
  let client: SQSClient | undefined;
  try {
    await app.listen({ port: options.sqsPort ?? 0, host });
    const port = (app.server.address() as AddressInfo).port;
    const sqsEndpoint = `http://${urlHost(host)}:${port}`;
    const sqsClient = new SQSClient({ endpoint: sqsEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    client = sqsClient;
    const queues = await createQueues(sqsClient, prefix, port, options);
    return {
      sqsEndpoint,
      env: { ...queues, [ENV.SQS_ENDPOINT]: sqsEndpoint },
      async stop() {
        sqsClient.destroy();
        await close();
      },
    };
  } catch (error) {
    client?.destroy();
    await close();
    throw error;
  }
};

/** Starts dynalite and fauxqs on 127.0.0.1 with every table and queue of lib/data-model.ts. */
export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  const [dynamo, sqs] = await Promise.allSettled([startDynamo(options), startSqs(options)]);
  if (dynamo.status === 'rejected' || sqs.status === 'rejected') {
    if (dynamo.status === 'fulfilled') await dynamo.value.stop();
    if (sqs.status === 'fulfilled') await sqs.value.stop();
    throw dynamo.status === 'rejected' ? dynamo.reason : (sqs as PromiseRejectedResult).reason;
  }
  const d = dynamo.value;
  const s = sqs.value;
  let stopped = false;
  return {
    dynamodbEndpoint: d.dynamodbEndpoint,
    sqsEndpoint: s.sqsEndpoint,
    env: { ...d.env, ...s.env },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all([d.stop(), s.stop()]);
    },
  };
}
