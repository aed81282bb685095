/**
 * Every setting of the service, declared once: its name, what it means (one
 * line), how it is parsed, its local default, and where it applies.
 *
 * What is built from this table:
 * - `ENV` (lib/env-names.ts): the names, for code that reads or sets them;
 * - the runtime configuration's parsers (functions/shared/config.ts);
 * - the local defaults of `npm start` (local/defaults.ts);
 * - the environment the stack gives each function for settings that come from
 *   CDK context (lib/notion-link-preview-stack.ts, `contextEnvironment`).
 *
 * What is checked against it by tests (test/unit/settings/registry.test.ts and
 * test/infra/settings.test.ts): `.env.example`, the README's settings table,
 * the stage config's context keys, and the synthesized template's environment
 * of every function. A setting added here and missing in one of those places,
 * or present there and missing here, fails a test that names it.
 */

import type { FunctionName } from './routes.js';
import {
  csvOfRedirectUris,
  matchingOr,
  nonNegativeInt,
  oneOfOr,
  optionalString,
  optionalUrl,
  positiveInt,
  type SettingParser,
  textOr,
  urlOr,
} from './setting-parsers.js';

// --- the declaration (how values are parsed: lib/setting-parsers.ts; a ConfigError names the variable) ---

/** Where a setting's value comes from in a deployed stack, and which functions get it. */
export type DeploySource =
  /** From CDK context (`-c key=value` or cdk.json), through the stage config's field of the same name. */
  | { readonly functions: readonly FunctionName[] | 'all'; readonly context: string }
  /** Set by the stack's own wiring (the base URL, the stage, the upstream issuer). */
  | { readonly functions: readonly FunctionName[] | 'all'; readonly wiring: true }
  /**
   * Names a resource (table, queue, secret, key) the stack binds: the functions that get it are those whose
   * needs in lib/functions.ts name it.
   */
  | { readonly resource: true };

/** The sections of `.env.example` and of the README's settings table, in order. */
export const SETTING_GROUPS = {
  'local-server': 'Local server',
  'oauth-client': "The OAuth client Notion is to us (what you type into Notion's integration dashboard)",
  notion: "Our integration's credentials at Notion, and Notion's API",
  oidc: 'Upstream OpenID Connect provider (where users sign in)',
  webhook: 'Signed change webhook (POST /changes)',
  wiring: 'Deployment wiring (set by the stack in AWS; the local runtime fills in its own)',
  secrets: 'Secrets in AWS: the ARN of a Secrets Manager secret instead of a value (optional locally)',
  encryption: 'Encryption of stored Notion tokens',
  behaviour: 'Behaviour',
  simulator: 'Local Notion simulator (local only; local/notion-simulator/README.md)',
  idp: 'Local OpenID Connect provider under /idp (local only)',
  'kept-state': 'Kept state of npm start (local only)',
} as const;

export interface SettingDeclaration {
  readonly group: keyof typeof SETTING_GROUPS;
  /** The value `.env.example` shows when there is no local default (the part's own default). */
  readonly shown?: string | ((baseUrl: string) => string);
  /** One line: what it means. The same text heads its line in `.env.example`. */
  readonly description: string;
  /** Part of the contract users and tooling rely on (docs/architecture.md, local runtime: the contract setting names). */
  readonly contract?: boolean;
  /** How a function parses it (lib/setting-parsers.ts, read by functions/shared/config.ts); absent: functions never read it. */
  readonly parse?: SettingParser<unknown>;
  /** Deployed functions whose environment carries it, and where the stack takes its value. */
  readonly deploy?: DeploySource;
  /**
   * Its value under `npm start`: a value, a value built from the local base URL, or `emulator` (set by
   * the embedded emulators at start). Absent: no local default.
   */
  readonly local?: string | ((baseUrl: string) => string) | 'emulator';
  /** Read by the local runtime only (never by a deployed function). */
  readonly localOnly?: boolean;
  /** A secret: never printed (banner, dashboard). */
  readonly secret?: boolean;
  /** What takes its place in AWS, for the README's table (e.g. the secret that holds it there). */
  readonly aws?: string;
}

const declare = <const T extends Readonly<Record<string, SettingDeclaration>>>(settings: T): T => settings;

export const SETTINGS = declare({
  // --- contract: local server ---
  PORT: {
    group: 'local-server',
    description: 'Port of the local server on 127.0.0.1 (0 = any free port).',
    contract: true,
    localOnly: true,
    local: (base) => new URL(base).port || '80',
  },
  LOG_FORMAT: {
    group: 'local-server',
    description:
      "How npm start prints the handlers' log records: text (one short line each) or json (Powertools' JSON lines, as in Lambda).",
    localOnly: true,
    local: 'text',
  },

  // --- contract: the credentials Notion presents to us (our OAuth client) ---
  OAUTH_CLIENT_ID: {
    group: 'oauth-client',
    description: 'The OAuth client id Notion presents to us.',
    contract: true,
    parse: optionalString,
    deploy: { functions: ['oauth-authorize', 'oauth-token', 'oauth-revoke'], context: 'oauthClientId' },
    local: 'notion-local',
  },
  OAUTH_CLIENT_SECRET: {
    group: 'oauth-client',
    description: 'The client secret Notion presents at our token URL.',
    aws: 'In AWS: a Secrets Manager secret (`OAUTH_CLIENT_SECRET_ARN`).',
    contract: true,
    secret: true,
    parse: optionalString,
    local: 'local-oauth-client-secret-change-me',
  },

  // --- contract: our integration's credentials at Notion, and Notion's API ---
  NOTION_CLIENT_ID: {
    group: 'notion',
    description: "Our integration's OAuth client id at Notion.",
    aws: 'In AWS: `NOTION_CREDENTIALS_SECRET_ARN`.',
    contract: true,
    parse: optionalString,
    local: 'local-notion-integration',
  },
  NOTION_CLIENT_SECRET: {
    group: 'notion',
    description: "Our integration's client secret at Notion.",
    aws: 'In AWS: `NOTION_CREDENTIALS_SECRET_ARN` (JSON `{"clientId","clientSecret"}`).',
    contract: true,
    secret: true,
    parse: optionalString,
    local: 'local-notion-integration-secret',
  },
  NOTION_API_BASE_URL: {
    group: 'notion',
    description: "Base URL of Notion's API (https://api.notion.com in AWS); any Notion stand-in works.",
    contract: true,
    parse: urlOr('https://api.notion.com'),
    deploy: { functions: ['oauth-authorize', 'update-worker'], context: 'notionApiBaseUrl' },
    local: (base) => `${base}/notion`,
  },
  NOTION_VERSION: {
    group: 'notion',
    description: 'Notion-Version header sent to Notion: updates, the code exchange and token refreshes.',
    contract: true,
    parse: matchingOr(/^\d{4}-\d{2}-\d{2}$/, 'must be a date like 2021-08-16', '2021-08-16'),
    deploy: { functions: ['oauth-authorize', 'update-worker'], context: 'notionVersion' },
    local: '2021-08-16',
  },
  NOTION_REDIRECT_URIS: {
    group: 'notion',
    description:
      "Comma-separated redirect URIs accepted in addition to Notion's own: exact strings, no fragment, and no `code`, `state`, `error` or `iss` in their query.",
    contract: true,
    parse: csvOfRedirectUris,
    deploy: { functions: ['oauth-authorize'], context: 'notionRedirectUris' },
    local: (base) => `${base}/notion/externalintegrationauthcallback`,
  },

  // --- contract: upstream OpenID Connect provider ---
  OIDC_ISSUER: {
    group: 'oidc',
    description: 'Issuer URL of the upstream provider (Cognito in AWS by default).',
    contract: true,
    parse: optionalUrl,
    deploy: { functions: ['oauth-authorize', 'unfurl', 'update-worker'], wiring: true },
    local: (base) => `${base}/idp`,
  },
  OIDC_CLIENT_ID: {
    group: 'oidc',
    description: 'Our client id at the upstream provider.',
    contract: true,
    parse: optionalString,
    deploy: { functions: ['oauth-authorize', 'unfurl', 'update-worker'], wiring: true },
    local: 'notion-link-preview-local',
  },
  OIDC_CLIENT_SECRET: {
    group: 'oidc',
    description: 'Our client secret at the upstream provider.',
    aws: 'In AWS: `OIDC_CLIENT_SECRET_ARN`.',
    contract: true,
    secret: true,
    parse: optionalString,
    local: 'local-oidc-client-secret',
  },

  // --- contract: signed change webhook ---
  CHANGES_WEBHOOK_SECRET: {
    group: 'webhook',
    description: 'Standard Webhooks secret (whsec_<base64>) that signs POST /changes.',
    aws: 'In AWS: `CHANGES_WEBHOOK_SECRET_ARN`.',
    contract: true,
    secret: true,
    parse: optionalString,
    local: 'whsec_bG9jYWwtY2hhbmdlcy13ZWJob29rLXNlY3JldA==',
  },

  // --- deployment wiring (set by the stack; the local runtime fills in its own) ---
  PUBLIC_BASE_URL: {
    group: 'wiring',
    description:
      'Our own base URL: token issuer, audience and callback URLs. Locally, its host is the one name besides 127.0.0.1 and localhost that the local server answers (e.g. a tunnel).',
    parse: optionalUrl,
    deploy: { functions: 'all', wiring: true },
    local: (base) => base,
  },
  STAGE: {
    group: 'wiring',
    description: 'Stage name.',
    parse: textOr('local'),
    deploy: { functions: 'all', wiring: true },
    local: 'local',
  },
  LOG_LEVEL: {
    group: 'wiring',
    description: 'Log level: DEBUG, INFO, WARN, ERROR or SILENT (in any case).',
    parse: oneOfOr(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'], 'INFO', { anyCase: true }),
    deploy: { functions: 'all', context: 'logLevel' },
  },
  CONNECTIONS_TABLE: {
    group: 'wiring',
    description: 'DynamoDB table of connections (locally always set by the embedded emulator).',
    parse: optionalString,
    deploy: { resource: true },
    local: 'emulator',
  },
  AUTH_STATE_TABLE: {
    group: 'wiring',
    description: 'DynamoDB table of authorization codes and pending logins (locally set by the emulator).',
    parse: optionalString,
    deploy: { resource: true },
    local: 'emulator',
  },
  SUBSCRIPTIONS_TABLE: {
    group: 'wiring',
    description: 'DynamoDB table of subscriptions (locally set by the emulator).',
    parse: optionalString,
    deploy: { resource: true },
    local: 'emulator',
  },
  RATE_LIMITS_TABLE: {
    group: 'wiring',
    description: 'DynamoDB table of rate-limit buckets (locally set by the emulator).',
    parse: optionalString,
    deploy: { resource: true },
    local: 'emulator',
  },
  DELIVERY_LOG_TABLE: {
    group: 'wiring',
    description: 'DynamoDB table of the delivery log (locally set by the emulator).',
    parse: optionalString,
    deploy: { resource: true },
    local: 'emulator',
  },
  UPDATE_QUEUE_URL: {
    group: 'wiring',
    description: 'SQS URL of the update queue (locally set by the emulator).',
    parse: optionalString,
    deploy: { resource: true },
    local: 'emulator',
  },
  UPDATE_DLQ_URL: {
    group: 'wiring',
    description: "SQS URL of the update queue's dead-letter queue (locally set by the emulator).",
    parse: optionalString,
    deploy: { resource: true },
    local: 'emulator',
  },
  DYNAMODB_ENDPOINT: {
    group: 'wiring',
    description: "DynamoDB endpoint override (locally the embedded store's URL).",
    aws: 'Unset in AWS.',
    parse: optionalUrl,
    local: 'emulator',
  },
  SQS_ENDPOINT: {
    group: 'wiring',
    description: "SQS endpoint override (locally the embedded queue's URL).",
    aws: 'Unset in AWS.',
    parse: optionalUrl,
    local: 'emulator',
  },

  // --- secrets in AWS: the ARN of a Secrets Manager secret instead of a value ---
  OAUTH_CLIENT_SECRET_ARN: {
    group: 'secrets',
    description: 'Optional. Secret holding OAUTH_CLIENT_SECRET.',
    parse: optionalString,
    deploy: { resource: true },
  },
  NOTION_CREDENTIALS_SECRET_ARN: {
    group: 'secrets',
    description: 'Optional. Secret holding our Notion credentials as JSON {"clientId","clientSecret"}.',
    parse: optionalString,
    deploy: { resource: true },
  },
  TOKEN_SIGNING_KEY: {
    group: 'secrets',
    description:
      'Access-token signing keys: secrets of at least 32 characters separated by spaces, or a JWK Set; the first signs.',
    aws: 'In AWS: `TOKEN_SIGNING_KEY_SECRET_ARN`.',
    secret: true,
    parse: optionalString,
    local: 'local-token-signing-key-seed-change-me',
  },
  TOKEN_SIGNING_KEY_SECRET_ARN: {
    group: 'secrets',
    description: 'Optional. Secret holding TOKEN_SIGNING_KEY.',
    parse: optionalString,
    deploy: { resource: true },
  },
  OIDC_CLIENT_SECRET_ARN: {
    group: 'secrets',
    description: 'Optional. Secret holding OIDC_CLIENT_SECRET.',
    parse: optionalString,
    deploy: { resource: true },
  },
  CHANGES_WEBHOOK_SECRET_ARN: {
    group: 'secrets',
    description: 'Optional. Secret holding CHANGES_WEBHOOK_SECRET.',
    parse: optionalString,
    deploy: { resource: true },
  },

  // --- encryption of stored Notion tokens: a local key, or a KMS key in AWS ---
  NOTION_TOKEN_ENCRYPTION_KEY: {
    group: 'encryption',
    description: 'AES-256-GCM key (32 bytes, base64) for Notion tokens at rest.',
    aws: 'In AWS: `NOTION_TOKEN_KMS_KEY_ID` selects KMS envelope encryption instead.',
    secret: true,
    parse: optionalString,
    local: 'bG9jYWwtbm90aW9uLXRva2VuLWVuY3J5cHRpb24ta3k=',
  },
  NOTION_TOKEN_KMS_KEY_ID: {
    group: 'encryption',
    description: 'Optional. KMS key id; when set, KMS envelope encryption replaces the local key.',
    parse: optionalString,
    deploy: { resource: true },
  },

  // --- behaviour ---
  ACCESS_TOKEN_TTL_SECONDS: {
    group: 'behaviour',
    description: 'Lifetime of our access tokens, in seconds.',
    parse: positiveInt(3600),
  },
  UNFURL_DEADLINE_MS: {
    group: 'behaviour',
    description: 'Hard deadline for a source adapter during an unfurl, in milliseconds.',
    parse: positiveInt(2000),
    deploy: { functions: ['unfurl', 'update-worker'], context: 'unfurlDeadlineMs' },
  },
  UNFURL_SNAPSHOT_REFRESH_SECONDS: {
    group: 'behaviour',
    description: 'An unchanged unfurl answer rewrites its subscription only when older than this (0 = always).',
    aws: '[ADR 0065](docs/adr/0065-one-request-per-repeated-unfurl.md).',
    parse: nonNegativeInt(60),
  },
  NOTION_TIMEOUT_MS: {
    group: 'behaviour',
    description:
      "Timeout of calls to Notion's API, in milliseconds: at most 10,000, and at most 20,000 with UNFURL_DEADLINE_MS (a push, or a token refresh and its push, fits in the update worker's 30 s with its reserve before and after).",
    parse: positiveInt(10000),
  },
  NOTION_RATE_LIMIT_PER_MINUTE: {
    group: 'behaviour',
    description: "Notion's per-connection budget of requests per minute (180, or 600 on Business/Enterprise).",
    parse: positiveInt(180),
    deploy: { functions: ['update-worker'], context: 'notionRateLimitPerMinute' },
  },
  COALESCE_WINDOW_SECONDS: {
    group: 'behaviour',
    description: 'Change events for one resource within this many seconds give one push per subscriber.',
    parse: positiveInt(2),
  },
  SOURCE_ADAPTER: {
    group: 'behaviour',
    description: "Where previews come from: demo, http or a custom adapter's name.",
    contract: true,
    parse: textOr('demo'),
    deploy: { functions: ['unfurl', 'changes', 'update-worker'], context: 'sourceAdapter' },
  },
  SOURCE_ADAPTER_MODULE: {
    group: 'behaviour',
    description:
      'Path of a source adapter module of your own (default export: defineSourceAdapter); SOURCE_ADAPTER defaults to its name.',
    aws: "In AWS: the stack's `source` prop (docs/connect-your-product.md).",
    localOnly: true,
  },
  SOURCE_BASE_URL: {
    group: 'behaviour',
    shown: (base) => `${base}/demo`,
    description: 'Base URL of the product API the adapter calls (demo: PUBLIC_BASE_URL/demo; required for http).',
    contract: true,
    parse: optionalUrl,
    deploy: { functions: ['unfurl', 'changes', 'update-worker'], context: 'sourceBaseUrl' },
  },
  SOURCE_HTTP_MAPPING: {
    group: 'behaviour',
    description: 'Optional. JSON field mapping of the http adapter (see README).',
    contract: true,
    parse: optionalString,
    deploy: { functions: ['unfurl', 'changes', 'update-worker'], context: 'sourceHttpMapping' },
  },
  UNFURL_RULES: {
    group: 'behaviour',
    description:
      'Optional (default: the demo rules). JSON {domain, rules:[{name, pattern, sampleUrls, placeholder, resource}]}.',
    contract: true,
    parse: optionalString,
    deploy: { functions: ['unfurl', 'changes', 'update-worker'], context: 'unfurlRules' },
  },
  DEV_NAME: {
    group: 'behaviour',
    description: 'The dev attribute every preview carries.',
    parse: textOr('notion-link-preview'),
    deploy: { functions: ['oauth-authorize', 'unfurl', 'changes', 'update-worker'], context: 'devName' },
  },

  // --- local Notion simulator (local only; local/notion-simulator/settings.ts parses them) ---
  NOTION_SIM_RATE_LIMIT: {
    group: 'simulator',
    description: 'PATCH requests per window and connection; more are answered 429.',
    localOnly: true,
    local: '180',
  },
  NOTION_SIM_RATE_WINDOW_SECONDS: {
    group: 'simulator',
    description: 'Length of that window, in seconds.',
    localOnly: true,
    local: '60',
  },
  NOTION_SIM_WORKSPACE_RATE_LIMIT: {
    group: 'simulator',
    description: 'Requests per window for a whole workspace (0 = off).',
    localOnly: true,
    local: '0',
  },
  NOTION_SIM_WORKSPACE_RATE_WINDOW_SECONDS: {
    group: 'simulator',
    shown: '60',
    description: 'Length of the workspace window, in seconds.',
    localOnly: true,
  },
  NOTION_SIM_ENFORCE_LIMITS: {
    group: 'simulator',
    shown: 'true',
    description: 'Reject text and URLs over 2,000 characters (UTF-16 code units) and more than 100 attributes.',
    localOnly: true,
  },
  NOTION_SIM_ISSUE_REFRESH_TOKEN: {
    group: 'simulator',
    shown: 'false',
    description: 'Return a Notion refresh token (and accept grant_type=refresh_token).',
    localOnly: true,
  },
  NOTION_SIM_FAULT_529_RATE: {
    group: 'simulator',
    description: 'Share (0..1) of PATCHes answered 529 service_overload.',
    localOnly: true,
    local: '0',
  },
  NOTION_SIM_FAULT_503_RATE: {
    group: 'simulator',
    description: 'Share (0..1) of PATCHes answered 503 service_unavailable.',
    localOnly: true,
    local: '0',
  },
  NOTION_SIM_FAULT_503_APPLIED: {
    group: 'simulator',
    description: 'A 503 fault applies a valid update before answering (a write answered 503 may have been applied).',
    localOnly: true,
    local: 'false',
  },
  NOTION_SIM_FAULT_SLOW_RATE: {
    group: 'simulator',
    description: 'Share (0..1) of PATCHes answered only after NOTION_SIM_FAULT_SLOW_MS.',
    localOnly: true,
    local: '0',
  },
  NOTION_SIM_FAULT_SLOW_MS: {
    group: 'simulator',
    shown: '3000',
    description: 'Delay of a slow answer, in milliseconds.',
    localOnly: true,
  },
  NOTION_SIM_BLOCKED: {
    group: 'simulator',
    description: 'Answer every PATCH 429 public_api_request_blocked.',
    localOnly: true,
    local: 'false',
  },
  NOTION_SIM_SERVICE_BASE_URL: {
    group: 'simulator',
    shown: (base) => base,
    description: 'Base URL of the service the simulator talks to (default: the local server).',
    localOnly: true,
  },
  NOTION_SIM_SCOPE: {
    group: 'simulator',
    shown: 'unfurl',
    description: 'scope sent to the authorize URL (empty: none).',
    localOnly: true,
  },
  NOTION_SIM_TOKEN_AUTH: {
    group: 'simulator',
    description: 'How the simulator authenticates at our token URL: client_secret_post or client_secret_basic.',
    localOnly: true,
    local: 'client_secret_post',
  },
  NOTION_SIM_UNFURL_DELETE_SHAPE: {
    group: 'simulator',
    description: 'Where an unfurl DELETE carries its uri: json or query.',
    localOnly: true,
    local: 'json',
  },
  NOTION_SIM_DELETED_TOKEN_SHAPE: {
    group: 'simulator',
    description: 'What the deleted-token callback carries: json-tokens, bearer-empty, bearer-uri or form.',
    localOnly: true,
    local: 'json-tokens',
  },
  NOTION_SIM_DELETED_TOKEN_METHOD: {
    group: 'simulator',
    description: 'Method of the deleted-token callback: DELETE or POST.',
    localOnly: true,
    local: 'DELETE',
  },
  NOTION_SIM_DELETED_TOKEN_ON: {
    group: 'simulator',
    description:
      'When the deleted-token callback is called: disconnect, or remove-and-disconnect (also on every removed preview).',
    localOnly: true,
    local: 'disconnect',
  },
  NOTION_SIM_REFRESH_MARGIN_SECONDS: {
    group: 'simulator',
    shown: '0',
    description:
      "Refresh the service's access token this many seconds before it expires; 0: once it has, as Notion does.",
    localOnly: true,
  },

  // --- local only ---
  LOCAL_IDP_ACCESS_TOKEN_TTL_SECONDS: {
    group: 'idp',
    description:
      "Lifetime of its access tokens, in seconds (the service refreshes them with the user's refresh token).",
    contract: true,
    localOnly: true,
    local: '600',
  },
  LOCAL_IDP_COOKIE_KEYS: {
    group: 'idp',
    description: 'Comma-separated signing keys of its cookies (the first signs, all verify).',
    localOnly: true,
    secret: true,
    local: 'local-idp-cookie-key-1-change-me',
  },
  LOCAL_DATA_DIR: {
    group: 'kept-state',
    shown: '.local-data',
    description: 'Where npm start keeps its state across restarts (default .local-data).',
    localOnly: true,
  },
});

export type SettingName = keyof typeof SETTINGS;

type Declared = { readonly functions: readonly FunctionName[] | 'all' } & DeploySource;

/**
 * The settings lib/settings.ts declares for a deployed function (from CDK context or the stack's wiring;
 * resources follow from lib/functions.ts), each with its deploy declaration.
 */
export const settingsDeclaredFor = (fn: FunctionName): [SettingName, Declared][] =>
  (Object.entries(SETTINGS) as [SettingName, SettingDeclaration][]).flatMap(([name, s]) => {
    const deploy = s.deploy;
    if (!deploy || !('functions' in deploy)) return [];
    return deploy.functions === 'all' || deploy.functions.includes(fn) ? [[name, deploy]] : [];
  });
