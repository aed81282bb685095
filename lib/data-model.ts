/**
 * DynamoDB table and queue definitions, written once as plain data.
 *
 * The CDK construct (lib/constructs/data-tables.ts) turns these into tables in
 * AWS; the local runtime and the integration tests create the very same tables
 * in the embedded emulator from them (local/emulators.ts). Neither copies a key
 * schema by hand. Five tables: docs/adr/0021-data-model.md says why these
 * four, docs/adr/0090-delivery-log.md adds the delivery log.
 */
import { ENV } from './env-names.js';

export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N';
}

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
}

export interface TableDefinition {
  /** Logical id used by the stack and the base of the local table name. */
  readonly id: string;
  /** Environment variable that carries the table's name to handlers. */
  readonly envName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly globalIndexes: readonly IndexDefinition[];
  /** Attribute holding an epoch-seconds expiry (DynamoDB TTL). Readers also check it. */
  readonly ttlAttribute?: string;
}

/** Connections: one per completed browser round-trip (our grant × one Notion token). */
export const CONNECTIONS_TABLE: TableDefinition = {
  id: 'Connections',
  envName: ENV.CONNECTIONS_TABLE,
  partitionKey: { name: 'pk', type: 'S' },
  globalIndexes: [
    { indexName: 'bySubject', partitionKey: { name: 'subject', type: 'S' }, sortKey: { name: 'createdAt', type: 'N' } },
  ],
  ttlAttribute: 'expiresAt',
};

/** Short-lived OAuth state: authorization codes, pending authorizations, consent refusals. */
export const AUTH_STATE_TABLE: TableDefinition = {
  id: 'AuthState',
  envName: ENV.AUTH_STATE_TABLE,
  partitionKey: { name: 'pk', type: 'S' },
  globalIndexes: [],
  ttlAttribute: 'expiresAt',
};

/**
 * Preview subscriptions: (resource key, connection × uri), fan-out by resource, clean-up by connection.
 * No TTL: a subscription lives until Notion deletes the preview or its connection ends (docs/adr/0114).
 */
export const SUBSCRIPTIONS_TABLE: TableDefinition = {
  id: 'Subscriptions',
  envName: ENV.SUBSCRIPTIONS_TABLE,
  partitionKey: { name: 'resourceKey', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalIndexes: [
    {
      indexName: 'byConnection',
      partitionKey: { name: 'connectionId', type: 'S' },
      sortKey: { name: 'sk', type: 'S' },
    },
  ],
};

/** Token buckets per connection and pauses per workspace, plus idempotency markers. */
export const RATE_LIMITS_TABLE: TableDefinition = {
  id: 'RateLimits',
  envName: ENV.RATE_LIMITS_TABLE,
  partitionKey: { name: 'pk', type: 'S' },
  globalIndexes: [],
  ttlAttribute: 'expiresAt',
};

/**
 * Delivery log: the last pushes per connection with Notion's answers, for
 * support (`npm run deliveries -- <connectionId>`). Written by the worker, one
 * item per PATCH, newest first by `sk` (`<epoch ms, 13 digits>#<random>`); kept
 * for DELIVERY_LOG_TTL_DAYS. See docs/adr/0090-delivery-log.md.
 */
export const DELIVERY_LOG_TABLE: TableDefinition = {
  id: 'DeliveryLog',
  envName: ENV.DELIVERY_LOG_TABLE,
  partitionKey: { name: 'connectionId', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalIndexes: [],
  ttlAttribute: 'expiresAt',
};

/** How long a delivery stays in the log. */
export const DELIVERY_LOG_TTL_DAYS = 14;

export const TABLES = [
  CONNECTIONS_TABLE,
  AUTH_STATE_TABLE,
  SUBSCRIPTIONS_TABLE,
  RATE_LIMITS_TABLE,
  DELIVERY_LOG_TABLE,
] as const;

export interface QueueDefinition {
  readonly id: string;
  readonly envName: string;
  /** Seconds a received message stays invisible; ≥ 6 × the worker's timeout in AWS. */
  readonly visibilityTimeoutSeconds: number;
  /** How long the queue keeps a message (SQS's MessageRetentionPeriod). */
  readonly retentionSeconds: number;
  readonly deadLetter?: { readonly queueId: string; readonly maxReceiveCount: number };
}

export const WORKER_TIMEOUT_SECONDS = 30;

export const UPDATE_DLQ: QueueDefinition = {
  id: 'UpdateDeadLetterQueue',
  envName: ENV.UPDATE_DLQ_URL,
  visibilityTimeoutSeconds: 30,
  retentionSeconds: 14 * 86_400,
};

export const UPDATE_QUEUE: QueueDefinition = {
  id: 'UpdateQueue',
  envName: ENV.UPDATE_QUEUE_URL,
  visibilityTimeoutSeconds: WORKER_TIMEOUT_SECONDS * 6,
  retentionSeconds: 4 * 86_400,
  deadLetter: { queueId: UPDATE_DLQ.id, maxReceiveCount: 5 },
};

export const QUEUES = [UPDATE_DLQ, UPDATE_QUEUE] as const;

/** Kebab-case local name of a table or queue, e.g. `Connections` → `nlp-local-connections`. */
export const localResourceName = (id: string, prefix = 'nlp-local'): string =>
  `${prefix}-${id.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}`;
