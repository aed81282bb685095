/**
 * Safe local defaults for every setting, applied by the local runtime only
 * (never by a deployed function). Secrets here are well known and are only
 * meaningful for a server bound to 127.0.0.1: never reuse them in AWS.
 */
import { ENV } from '#lib/env-names.js';

export const DEFAULT_PORT = 3000;
export const LOCAL_HOST = '127.0.0.1';

/** Returns the local defaults for a given port; values already in `env` win. */
export const localDefaults = (port: number): Record<string, string> => {
  const base = `http://${LOCAL_HOST}:${port}`;
  return {
    [ENV.PORT]: String(port),
    [ENV.STAGE]: 'local',
    [ENV.PUBLIC_BASE_URL]: base,
    [ENV.OAUTH_CLIENT_ID]: 'notion-local',
    [ENV.OAUTH_CLIENT_SECRET]: 'local-oauth-client-secret-change-me',
    [ENV.NOTION_CLIENT_ID]: 'local-notion-integration',
    [ENV.NOTION_CLIENT_SECRET]: 'local-notion-integration-secret',
    [ENV.NOTION_API_BASE_URL]: `${base}/notion`,
    [ENV.NOTION_VERSION]: '2021-08-16',
    [ENV.NOTION_REDIRECT_URIS]: `${base}/notion/externalintegrationauthcallback`,
    [ENV.OIDC_ISSUER]: `${base}/idp`,
    [ENV.OIDC_CLIENT_ID]: 'notion-link-preview-local',
    [ENV.OIDC_CLIENT_SECRET]: 'local-oidc-client-secret',
    // Signing keys of the local OpenID Connect provider's cookies (first signs, all verify).
    [ENV.LOCAL_IDP_COOKIE_KEYS]: 'local-idp-cookie-key-1-change-me',
    [ENV.CHANGES_WEBHOOK_SECRET]: 'whsec_bG9jYWwtY2hhbmdlcy13ZWJob29rLXNlY3JldA==',
    // 32 bytes, base64: AES-256-GCM key for Notion tokens at rest (KMS in AWS).
    [ENV.NOTION_TOKEN_ENCRYPTION_KEY]: 'bG9jYWwtbm90aW9uLXRva2VuLWVuY3J5cHRpb24ta3k=',
    // Seed for the local token-signing key (a Secrets Manager secret in AWS).
    [ENV.TOKEN_SIGNING_KEY]: 'local-token-signing-key-seed-change-me',
    // Local Notion simulator (see local/notion-simulator/settings.ts).
    [ENV.NOTION_SIM_RATE_LIMIT]: '180',
    [ENV.NOTION_SIM_RATE_WINDOW_SECONDS]: '60',
    [ENV.NOTION_SIM_WORKSPACE_RATE_LIMIT]: '0',
    [ENV.NOTION_SIM_FAULT_529_RATE]: '0',
    [ENV.NOTION_SIM_FAULT_503_RATE]: '0',
    [ENV.NOTION_SIM_FAULT_SLOW_RATE]: '0',
    [ENV.NOTION_SIM_BLOCKED]: 'false',
    [ENV.NOTION_SIM_TOKEN_AUTH]: 'client_secret_post',
    [ENV.NOTION_SIM_UNFURL_DELETE_SHAPE]: 'json',
    [ENV.NOTION_SIM_DELETED_TOKEN_SHAPE]: 'json-tokens',
    [ENV.NOTION_SIM_DELETED_TOKEN_METHOD]: 'DELETE',
    // Shared by the demo source adapter and the demo product for service assertions.
    [ENV.SOURCE_SERVICE_SECRET]: 'local-demo-product-service-secret-change-me',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  };
};
