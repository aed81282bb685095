/**
 * Every function of the stack and what it needs, declared once: the tables it
 * may touch and how, the queues it sends to, the secrets it reads, the KMS key
 * uses, its timeout. Settings that are not resources declare their functions
 * themselves (lib/settings.ts).
 *
 * Read by:
 * - the stack, whose `bind*()` calls grant exactly this and set the matching
 *   environment variables (lib/notion-link-preview-stack.ts);
 * - each handler's composition at init (`requireSettings`, below), which fails
 *   the cold start naming the first variable its function needs and lacks;
 * - the infra tests (function ids, roles, environments, grants).
 *
 * Runtime code imports this file too: it holds data only (type-only imports of
 * the CDK constructs).
 */
import type { KeyUse, TableAction } from './constructs/node-function.js';
import { WORKER_TIMEOUT_SECONDS } from './data-model.js';
import type { FunctionName } from './routes.js';
import { type SettingName, settingsDeclaredFor } from './settings.js';

type TableSetting =
  | 'CONNECTIONS_TABLE'
  | 'AUTH_STATE_TABLE'
  | 'SUBSCRIPTIONS_TABLE'
  | 'RATE_LIMITS_TABLE'
  | 'DELIVERY_LOG_TABLE';
type QueueSetting = 'UPDATE_QUEUE_URL' | 'UPDATE_DLQ_URL';
type SecretSetting =
  | 'OAUTH_CLIENT_SECRET_ARN'
  | 'NOTION_CREDENTIALS_SECRET_ARN'
  | 'TOKEN_SIGNING_KEY_SECRET_ARN'
  | 'OIDC_CLIENT_SECRET_ARN'
  | 'CHANGES_WEBHOOK_SECRET_ARN';
type KeySetting = 'NOTION_TOKEN_KMS_KEY_ID';

export interface FunctionNeeds {
  /**
   * Tables, by the setting that names them, with exactly the DynamoDB operations the function's code sends
   * there (`Query:<index>`: a query of that index). The grants are these, nothing more; test/infra/stack.test.ts
   * asserts the synthesized list and test/integration/data/iam-actions.test.ts what the code really sends.
   */
  readonly tables?: Readonly<Partial<Record<TableSetting, readonly TableAction[]>>>;
  /** Queues it sends messages to, by the setting that names them. */
  readonly queues?: readonly QueueSetting[];
  /** Secrets Manager secrets it reads, by the setting that names them. */
  readonly secrets?: readonly SecretSetting[];
  /** KMS keys and what it does with them. */
  readonly keys?: Readonly<Partial<Record<KeySetting, readonly KeyUse[]>>>;
  /** It calls the source adapter: it gets the adapter's own settings. */
  readonly callsSource?: boolean;
  readonly timeoutSeconds?: number;
}

export const FUNCTIONS = {
  // GET /oauth/authorize, GET /oauth/callback, POST /oauth/consent: pending authorizations and codes,
  // creates the connection; envelope-encrypts the Notion token, Notion's code while the user decides and
  // the upstream tokens (and decrypts the code back); exchanges Notion's code with the integration
  // credentials; logs the user in upstream.
  // A newer connection supersedes an older one of the same user and workspace: the older one ends (its
  // subscriptions removed, the end logged).
  'oauth-authorize': {
    tables: {
      // pending logins (put, update, read, take) and codes (put)
      AUTH_STATE_TABLE: ['DeleteItem', 'GetItem', 'PutItem'],
      // create the connection, end the user's earlier ones (listed by subject)
      CONNECTIONS_TABLE: ['PutItem', 'Query:bySubject', 'UpdateItem'],
      // an ended connection's subscriptions (listed by connection) removed
      SUBSCRIPTIONS_TABLE: ['BatchWriteItem', 'Query:byConnection'],
      // the end recorded
      DELIVERY_LOG_TABLE: ['PutItem'],
    },
    secrets: ['NOTION_CREDENTIALS_SECRET_ARN', 'OIDC_CLIENT_SECRET_ARN'],
    keys: { NOTION_TOKEN_KMS_KEY_ID: ['encrypt', 'decrypt'] },
  },
  // POST /oauth/token: authenticates Notion, redeems codes, rotates refresh tokens, signs JWTs; ends a
  // connection on refresh-token reuse or a replayed code (its subscriptions removed, the end logged).
  'oauth-token': {
    tables: {
      // read and redeem codes (one conditional update)
      AUTH_STATE_TABLE: ['GetItem', 'UpdateItem'],
      // the connection behind a token; rotate refresh tokens, end a connection on reuse
      CONNECTIONS_TABLE: ['GetItem', 'UpdateItem'],
      // an ended connection's subscriptions (listed by connection) removed
      SUBSCRIPTIONS_TABLE: ['BatchWriteItem', 'Query:byConnection'],
      // the end recorded
      DELIVERY_LOG_TABLE: ['PutItem'],
    },
    secrets: ['OAUTH_CLIENT_SECRET_ARN', 'TOKEN_SIGNING_KEY_SECRET_ARN'],
  },
  // POST /oauth/revoke (RFC 7009): authenticates Notion, verifies our access tokens (signing key) or finds the
  // refresh token's connection, ends it (subscriptions removed, the end logged). No auth state, no KMS.
  'oauth-revoke': {
    tables: {
      // the token's connection; end it
      CONNECTIONS_TABLE: ['GetItem', 'UpdateItem'],
      // its subscriptions (listed by connection) removed
      SUBSCRIPTIONS_TABLE: ['BatchWriteItem', 'Query:byConnection'],
      // the end recorded
      DELIVERY_LOG_TABLE: ['PutItem'],
    },
    secrets: ['OAUTH_CLIENT_SECRET_ARN', 'TOKEN_SIGNING_KEY_SECRET_ARN'],
  },
  // POST /unfurl: verifies the bearer (one connection read), renders with the user's upstream credentials
  // (decrypted; refreshed at the upstream provider and stored back, encrypted, when they expire: ADR 0127),
  // signs service assertions, records or refreshes the subscription (read for stale-while-revalidate).
  unfurl: {
    tables: {
      // the connection and the stored answer in one BatchGetItem (ADR 0065); upstream tokens refreshed and
      // stored back with conditional updates, re-read by the caller that lost the race (ADR 0127)
      CONNECTIONS_TABLE: ['BatchGetItem', 'GetItem', 'UpdateItem'],
      // record or refresh the subscription, drop it when the link is gone
      SUBSCRIPTIONS_TABLE: ['BatchGetItem', 'DeleteItem', 'GetItem', 'UpdateItem'],
    },
    secrets: ['TOKEN_SIGNING_KEY_SECRET_ARN', 'OIDC_CLIENT_SECRET_ARN'],
    keys: { NOTION_TOKEN_KMS_KEY_ID: ['encrypt', 'decrypt'] },
    callsSource: true,
  },
  // DELETE /unfurl, DELETE|POST /deleted-token: removes subscriptions, revokes a connection.
  'unfurl-delete': {
    tables: {
      // the bearer's connection; end it
      CONNECTIONS_TABLE: ['GetItem', 'UpdateItem'],
      // delete one (keyed by connection and uri), or all of a connection's (listed by connection)
      SUBSCRIPTIONS_TABLE: ['BatchWriteItem', 'DeleteItem', 'Query:byConnection'],
      // the end recorded
      DELIVERY_LOG_TABLE: ['PutItem'],
    },
    secrets: ['TOKEN_SIGNING_KEY_SECRET_ARN'],
  },
  // POST /changes: verifies the webhook signature, accepts each webhook-id once (a marker in the
  // auth-state table, read before and written after the enqueue: ADR 0153), checks the URI against the
  // unfurl rules and enqueues the change event.
  changes: {
    tables: { AUTH_STATE_TABLE: ['GetItem', 'PutItem'] },
    queues: ['UPDATE_QUEUE_URL'],
    secrets: ['CHANGES_WEBHOOK_SECRET_ARN'],
  },
  // GET /.well-known/oauth-authorization-server (`metadata`) needs nothing: it is built from PUBLIC_BASE_URL.
  // GET /.well-known/jwks.json: the public service-assertion keys, from the signing-key secret (ADR 0128).
  jwks: {
    secrets: ['TOKEN_SIGNING_KEY_SECRET_ARN'],
  },
  // The SQS worker: idempotency markers, fan-out to subscriptions, rate buckets, ends connections Notion
  // rejects, decrypts Notion and upstream tokens, re-enqueues with a delay while rate limited and parks
  // poison events in the DLQ with a reason. Notion's PATCH uses each connection's token; after a 401 it
  // refreshes that token once with the integration's credentials (ADR 0151) and stores it back encrypted.
  // Like the unfurl, it refreshes upstream tokens (encrypting them) and signs service assertions.
  'update-worker': {
    tables: {
      // idempotency and pushed markers
      AUTH_STATE_TABLE: ['GetItem', 'PutItem'],
      // fan-out by resource, a push message's targets in one batch, claim and record pushes in the item,
      // drop the subscriptions of gone links and ended connections (listed by connection)
      SUBSCRIPTIONS_TABLE: [
        'BatchGetItem',
        'BatchWriteItem',
        'DeleteItem',
        'GetItem',
        'Query',
        'Query:byConnection',
        'UpdateItem',
      ],
      // token buckets (one conditional update), pauses (a page's in one batch)
      RATE_LIMITS_TABLE: ['BatchGetItem', 'GetItem', 'UpdateItem'],
      // a page's connections in one batch; upstream and Notion tokens refreshed; end one when Notion rejects its token
      CONNECTIONS_TABLE: ['BatchGetItem', 'GetItem', 'UpdateItem'],
      // a work item's entries in one batch
      DELIVERY_LOG_TABLE: ['BatchWriteItem', 'PutItem'],
    },
    queues: ['UPDATE_QUEUE_URL', 'UPDATE_DLQ_URL'],
    secrets: ['TOKEN_SIGNING_KEY_SECRET_ARN', 'OIDC_CLIENT_SECRET_ARN', 'NOTION_CREDENTIALS_SECRET_ARN'],
    keys: { NOTION_TOKEN_KMS_KEY_ID: ['encrypt', 'decrypt'] },
    callsSource: true,
    timeoutSeconds: WORKER_TIMEOUT_SECONDS,
  },
} as const satisfies Readonly<Partial<Record<FunctionName, FunctionNeeds>>>;

/** What a function needs; a function without an entry needs no resource. */
export const needsOf = (fn: FunctionName): FunctionNeeds =>
  (FUNCTIONS as Partial<Record<FunctionName, FunctionNeeds>>)[fn] ?? {};

/** The resource settings (tables, queues, secrets, keys) a function's needs put into its environment. */
export const resourceSettingsOf = (fn: FunctionName): SettingName[] => {
  const needs = needsOf(fn);
  return [
    ...(Object.keys(needs.tables ?? {}) as SettingName[]),
    ...(needs.queues ?? []),
    ...(needs.secrets ?? []),
    ...(Object.keys(needs.keys ?? {}) as SettingName[]),
  ];
};

/** Every setting a deployed function's environment carries: its resources, and the settings declared for it. */
export const environmentOf = (fn: FunctionName): SettingName[] => {
  const declared = settingsDeclaredFor(fn).map(([name]) => name);
  return [...new Set([...declared, ...resourceSettingsOf(fn)])].sort();
};

/**
 * Where a resource setting may be given instead by its value (the local runtime): a secret's ARN by the
 * secret itself, the KMS key by a local key.
 */
const LOCAL_ALTERNATIVES: Readonly<Partial<Record<SettingName, readonly SettingName[]>>> = {
  OAUTH_CLIENT_SECRET_ARN: ['OAUTH_CLIENT_SECRET'],
  NOTION_CREDENTIALS_SECRET_ARN: ['NOTION_CLIENT_SECRET'],
  TOKEN_SIGNING_KEY_SECRET_ARN: ['TOKEN_SIGNING_KEY'],
  OIDC_CLIENT_SECRET_ARN: ['OIDC_CLIENT_SECRET'],
  CHANGES_WEBHOOK_SECRET_ARN: ['CHANGES_WEBHOOK_SECRET'],
  NOTION_TOKEN_KMS_KEY_ID: ['NOTION_TOKEN_ENCRYPTION_KEY'],
};

/**
 * The settings a function cannot start without: each entry is a list of alternatives, one of which must be
 * set (its tables, queues, secrets and key; the public base URL every function builds URLs and tokens from).
 */
export const requiredSettingsOf = (fn: FunctionName): (readonly SettingName[])[] =>
  ['PUBLIC_BASE_URL' as SettingName, ...resourceSettingsOf(fn)].map((name) => [
    name,
    ...(LOCAL_ALTERNATIVES[name] ?? []),
  ]);

/** The first required setting of `fn` that `env` lacks (as its alternatives), or undefined. */
export const missingSettingOf = (
  fn: FunctionName,
  env: Readonly<Record<string, string | undefined>>,
): readonly SettingName[] | undefined =>
  requiredSettingsOf(fn).find((names) => !names.some((n) => (env[n] ?? '').trim() !== ''));
