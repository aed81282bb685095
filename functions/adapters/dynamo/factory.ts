/**
 * Builds the DynamoDB stores from the process configuration, lazily and once
 * per configuration: a handler asks for the stores it uses at cold start, and a
 * missing table setting fails by its environment-variable name.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type {
  AuthStateStore,
  ConnectionStore,
  NotionTokenStore,
  RateLimitStore,
  SubscriptionStore,
  UnfurlReads,
  UpstreamTokenStore,
} from '#core/ports.js';
import type { DeliveryLog } from '#core/updates/ports.js';
import { ENV } from '#lib/env-names.js';
import { type Config, getConfig, need } from '#shared/config.js';
import { DynamoAuthStateStore } from './auth-state-store.js';
import { createDocumentClient } from './client.js';
import { DynamoConnectionStore } from './connection-store.js';
import { DynamoDeliveryLog } from './delivery-log.js';
import { DynamoRateLimitStore } from './rate-limit-store.js';
import { DynamoSubscriptionStore } from './subscription-store.js';
import { DynamoUnfurlReads } from './unfurl-reads.js';

export { createDocumentClient } from './client.js';

interface Built {
  doc?: DynamoDBDocumentClient;
  connections?: ConnectionStore & UpstreamTokenStore & NotionTokenStore;
  authState?: AuthStateStore;
  subscriptions?: SubscriptionStore;
  rateLimits?: RateLimitStore;
  deliveryLog?: DeliveryLog;
  unfurlReads?: UnfurlReads;
}

const built = new WeakMap<Config, Built>();

const slot = (config: Config): Built => {
  let b = built.get(config);
  if (!b) {
    b = {};
    built.set(config, b);
  }
  return b;
};

/** The DocumentClient shared by every store built from this configuration. */
export const documentClient = (config: Config = getConfig()): DynamoDBDocumentClient => {
  const b = slot(config);
  b.doc ??= createDocumentClient(config);
  return b.doc;
};

export const connectionStore = (
  config: Config = getConfig(),
): ConnectionStore & UpstreamTokenStore & NotionTokenStore => {
  const b = slot(config);
  if (!b.connections) {
    const table = need(config.tables.connections, ENV.CONNECTIONS_TABLE);
    b.connections = new DynamoConnectionStore(documentClient(config), table);
  }
  return b.connections;
};

export const authStateStore = (config: Config = getConfig()): AuthStateStore => {
  const b = slot(config);
  if (!b.authState) {
    const table = need(config.tables.authState, ENV.AUTH_STATE_TABLE);
    b.authState = new DynamoAuthStateStore(documentClient(config), table);
  }
  return b.authState;
};

export const subscriptionStore = (config: Config = getConfig()): SubscriptionStore => {
  const b = slot(config);
  if (!b.subscriptions) {
    const table = need(config.tables.subscriptions, ENV.SUBSCRIPTIONS_TABLE);
    b.subscriptions = new DynamoSubscriptionStore(documentClient(config), table);
  }
  return b.subscriptions;
};

export const rateLimitStore = (config: Config = getConfig()): RateLimitStore => {
  const b = slot(config);
  if (!b.rateLimits) {
    const table = need(config.tables.rateLimits, ENV.RATE_LIMITS_TABLE);
    b.rateLimits = new DynamoRateLimitStore(documentClient(config), table);
  }
  return b.rateLimits;
};

export const deliveryLog = (config: Config = getConfig()): DeliveryLog => {
  const b = slot(config);
  if (!b.deliveryLog) {
    const table = need(config.tables.deliveryLog, ENV.DELIVERY_LOG_TABLE);
    b.deliveryLog = new DynamoDeliveryLog(documentClient(config), table);
  }
  return b.deliveryLog;
};

/** The unfurl's first read: the connection and the uri's subscription in one request. */
export const unfurlReads = (config: Config = getConfig()): UnfurlReads => {
  const b = slot(config);
  if (!b.unfurlReads) {
    const connections = need(config.tables.connections, ENV.CONNECTIONS_TABLE);
    const subscriptions = need(config.tables.subscriptions, ENV.SUBSCRIPTIONS_TABLE);
    b.unfurlReads = new DynamoUnfurlReads(documentClient(config), connections, subscriptions);
  }
  return b.unfurlReads;
};
