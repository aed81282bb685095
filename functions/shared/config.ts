/**
 * Runtime configuration: read from the environment once, validated, typed.
 * Names and parsers come from lib/settings.ts (shared with the CDK stack);
 * the groups below name the settings the code shares, `settings` holds them all.
 *
 * A handler calls `getConfig()` at cold start; an invalid setting throws a
 * ConfigError naming the variable. Settings that only some handlers need are
 * optional here and fetched with `need()`, which fails by name when absent.
 * Local defaults live in local/defaults.ts, never here: a deployed function
 * gets nothing it was not given.
 */
import type { ParsedBy } from '#lib/setting-parsers.js';
import { SETTINGS, type SettingName } from '#lib/settings.js';
import { ConfigError } from './errors.js';

/** A secret is either its value (local) or the ARN of a Secrets Manager secret (AWS). */
export type SecretRef = { readonly value: string } | { readonly secretArn: string };

type Settings = typeof SETTINGS;
/** The settings a function parses, each typed by the parser declared in lib/settings.ts. */
type Parsed = {
  readonly [K in SettingName as Settings[K] extends { readonly parse: unknown } ? K : never]: ParsedBy<
    Extract<Settings[K], { readonly parse: unknown }>['parse']
  >;
};

const parsers = Object.entries(SETTINGS).flatMap(([name, s]) =>
  'parse' in s && s.parse ? [[name, s.parse] as const] : [],
);

const secretRef = (value: string | undefined, arn: string | undefined): SecretRef | undefined =>
  arn ? { secretArn: arn } : value ? { value } : undefined;

const build = (e: Parsed) => ({
  stage: e.STAGE,
  logLevel: e.LOG_LEVEL,
  publicBaseUrl: e.PUBLIC_BASE_URL?.replace(/\/+$/, ''),
  oauth: {
    clientId: e.OAUTH_CLIENT_ID,
    clientSecret: secretRef(e.OAUTH_CLIENT_SECRET, e.OAUTH_CLIENT_SECRET_ARN),
    extraRedirectUris: e.NOTION_REDIRECT_URIS,
    accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
    tokenSigningKey: secretRef(e.TOKEN_SIGNING_KEY, e.TOKEN_SIGNING_KEY_SECRET_ARN),
  },
  notion: {
    apiBaseUrl: e.NOTION_API_BASE_URL.replace(/\/+$/, ''),
    version: e.NOTION_VERSION,
    /** Timeout of each call to Notion's API, in milliseconds. */
    timeoutMs: e.NOTION_TIMEOUT_MS,
    /** Local: id and secret as values. AWS: one secret holding {"clientId","clientSecret"}. */
    clientId: e.NOTION_CLIENT_ID,
    clientSecret: e.NOTION_CLIENT_SECRET,
    credentialsSecretArn: e.NOTION_CREDENTIALS_SECRET_ARN,
    ratePerMinute: e.NOTION_RATE_LIMIT_PER_MINUTE,
    tokenEncryption: e.NOTION_TOKEN_KMS_KEY_ID
      ? ({ kind: 'kms', keyId: e.NOTION_TOKEN_KMS_KEY_ID } as const)
      : e.NOTION_TOKEN_ENCRYPTION_KEY
        ? ({ kind: 'local', key: e.NOTION_TOKEN_ENCRYPTION_KEY } as const)
        : undefined,
  },
  oidc: {
    issuer: e.OIDC_ISSUER,
    clientId: e.OIDC_CLIENT_ID,
    clientSecret: secretRef(e.OIDC_CLIENT_SECRET, e.OIDC_CLIENT_SECRET_ARN),
  },
  changes: {
    webhookSecret: secretRef(e.CHANGES_WEBHOOK_SECRET, e.CHANGES_WEBHOOK_SECRET_ARN),
    coalesceWindowSeconds: e.COALESCE_WINDOW_SECONDS,
  },
  tables: {
    connections: e.CONNECTIONS_TABLE,
    authState: e.AUTH_STATE_TABLE,
    subscriptions: e.SUBSCRIPTIONS_TABLE,
    rateLimits: e.RATE_LIMITS_TABLE,
    deliveryLog: e.DELIVERY_LOG_TABLE,
  },
  queues: { updates: e.UPDATE_QUEUE_URL, deadLetter: e.UPDATE_DLQ_URL },
  endpoints: { dynamodb: e.DYNAMODB_ENDPOINT, sqs: e.SQS_ENDPOINT },
  unfurl: {
    deadlineMs: e.UNFURL_DEADLINE_MS,
    /** An unchanged answer rewrites its subscription only when the stored one is older than this (0 = always). */
    snapshotRefreshSeconds: e.UNFURL_SNAPSHOT_REFRESH_SECONDS,
    sourceAdapter: e.SOURCE_ADAPTER,
    sourceBaseUrl: e.SOURCE_BASE_URL,
    /** JSON mapping of the generic HTTP JSON adapter. */
    httpMapping: e.SOURCE_HTTP_MAPPING,
    rules: e.UNFURL_RULES,
    devName: e.DEV_NAME,
  },
  /**
   * Every setting by its name, parsed by its declared parser: a setting added to lib/settings.ts is read
   * here (`config.settings.NAME`) with no change to this file.
   */
  settings: e,
});

export type Config = ReturnType<typeof build>;

/** Parses an environment; throws a ConfigError that names every invalid variable. */
export const parseConfig = (env: Readonly<Record<string, string | undefined>>): Config => {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, parse] of parsers) {
    const parsed = parse(env[name]);
    if (parsed.ok) values[name] = parsed.value;
    else
      for (const p of parsed.problems) problems.push(`${p.at === undefined ? name : `${name}.${p.at}`}: ${p.message}`);
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  return build(values as Parsed);
};

let cached: Config | undefined;

/** The process's configuration, parsed on first use (cold start) and cached. */
export const getConfig = (): Config => {
  cached ??= parseConfig(process.env);
  return cached;
};

/** Forgets the cached configuration (tests and the local server after changing env). */
export const resetConfig = (): void => {
  cached = undefined;
};

/** Returns a required value or throws a ConfigError naming the variable. */
export const need = <T>(value: T | undefined, envName: string): T => {
  if (value === undefined || value === null || value === '') {
    throw new ConfigError(`Missing required setting ${envName}`);
  }
  return value;
};
