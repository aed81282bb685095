/**
 * The one place where environment-variable names are spelled.
 *
 * Both the CDK stack (lib/) and the runtime config (functions/shared/config.ts)
 * import these constants, so a name can never drift between what the stack sets
 * and what a handler reads. The names marked "contract" are relied on by users
 * and documented in the README's settings table: do not rename them.
 */
export const ENV = {
  // --- contract: local server ---
  PORT: 'PORT',

  // --- contract: the credentials Notion presents to us (our OAuth client) ---
  OAUTH_CLIENT_ID: 'OAUTH_CLIENT_ID',
  OAUTH_CLIENT_SECRET: 'OAUTH_CLIENT_SECRET',

  // --- contract: our integration's credentials at Notion ---
  NOTION_CLIENT_ID: 'NOTION_CLIENT_ID',
  NOTION_CLIENT_SECRET: 'NOTION_CLIENT_SECRET',
  NOTION_API_BASE_URL: 'NOTION_API_BASE_URL',
  NOTION_VERSION: 'NOTION_VERSION',
  NOTION_REDIRECT_URIS: 'NOTION_REDIRECT_URIS',

  // --- contract: upstream OpenID Connect provider ---
  OIDC_ISSUER: 'OIDC_ISSUER',
  OIDC_CLIENT_ID: 'OIDC_CLIENT_ID',
  OIDC_CLIENT_SECRET: 'OIDC_CLIENT_SECRET',

  // --- contract: signed change webhook ---
  CHANGES_WEBHOOK_SECRET: 'CHANGES_WEBHOOK_SECRET',

  // --- deployment wiring (set by the stack; local defaults by the local runtime) ---
  PUBLIC_BASE_URL: 'PUBLIC_BASE_URL',
  STAGE: 'STAGE',
  LOG_LEVEL: 'LOG_LEVEL',
  CONNECTIONS_TABLE: 'CONNECTIONS_TABLE',
  AUTH_STATE_TABLE: 'AUTH_STATE_TABLE',
  SUBSCRIPTIONS_TABLE: 'SUBSCRIPTIONS_TABLE',
  RATE_LIMITS_TABLE: 'RATE_LIMITS_TABLE',
  UPDATE_QUEUE_URL: 'UPDATE_QUEUE_URL',
  UPDATE_DLQ_URL: 'UPDATE_DLQ_URL',
  DYNAMODB_ENDPOINT: 'DYNAMODB_ENDPOINT',
  SQS_ENDPOINT: 'SQS_ENDPOINT',

  // --- secrets: a value locally, or the ARN of a Secrets Manager secret in AWS ---
  OAUTH_CLIENT_SECRET_ARN: 'OAUTH_CLIENT_SECRET_ARN',
  NOTION_CREDENTIALS_SECRET_ARN: 'NOTION_CREDENTIALS_SECRET_ARN',
  TOKEN_SIGNING_KEY: 'TOKEN_SIGNING_KEY',
  TOKEN_SIGNING_KEY_SECRET_ARN: 'TOKEN_SIGNING_KEY_SECRET_ARN',
  OIDC_CLIENT_SECRET_ARN: 'OIDC_CLIENT_SECRET_ARN',
  CHANGES_WEBHOOK_SECRET_ARN: 'CHANGES_WEBHOOK_SECRET_ARN',

  // --- encryption of stored Notion tokens: a local key, or a KMS key in AWS ---
  NOTION_TOKEN_ENCRYPTION_KEY: 'NOTION_TOKEN_ENCRYPTION_KEY',
  NOTION_TOKEN_KMS_KEY_ID: 'NOTION_TOKEN_KMS_KEY_ID',

  // --- behaviour ---
  ACCESS_TOKEN_TTL_SECONDS: 'ACCESS_TOKEN_TTL_SECONDS',
  UNFURL_DEADLINE_MS: 'UNFURL_DEADLINE_MS',
  NOTION_RATE_LIMIT_PER_MINUTE: 'NOTION_RATE_LIMIT_PER_MINUTE',
  COALESCE_WINDOW_SECONDS: 'COALESCE_WINDOW_SECONDS',
  SOURCE_ADAPTER: 'SOURCE_ADAPTER',
  SOURCE_BASE_URL: 'SOURCE_BASE_URL',
  UNFURL_RULES: 'UNFURL_RULES',
  DEV_NAME: 'DEV_NAME',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];
