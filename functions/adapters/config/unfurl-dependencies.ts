/** The unfurl use case's ports as a deployment configures them (built once per execution environment, at init: functions/unfurl.ts). */
import { accessTokenSettings } from '#adapters/config/oauth-settings.js';
import { rulesFromConfig } from '#adapters/config/unfurl-rules.js';
import { upstreamCredentialsFor } from '#adapters/config/upstream-credentials.js';
import { connectionStore, subscriptionStore, unfurlReads } from '#adapters/dynamo/factory.js';
import { loadSecret } from '#adapters/oidc/secrets.js';
import { sourceAdapterFromConfig } from '#adapters/sources/registry.js';
import type { UnfurlDependencies } from '#core/unfurl/unfurl.js';
import type { Config } from '#shared/config.js';
import { logTo } from '#shared/observability.js';

export const unfurlDependencies = (config: Config): UnfurlDependencies => {
  // The KMS client is loaded only when an adapter first asks for a user's upstream token.
  const cipher = async () => (await import('#adapters/crypto/token-cipher.js')).tokenCipherFromConfig(config);
  const credentialsFor = upstreamCredentialsFor(config, {
    cipher,
    store: connectionStore(config),
    maxWaitMs: config.unfurl.deadlineMs,
  });
  return {
    integration: rulesFromConfig(config),
    adapter: sourceAdapterFromConfig({ config, loadSecret }),
    reads: unfurlReads(config),
    subscriptions: subscriptionStore(config),
    tokens: accessTokenSettings(config, loadSecret),
    clock: { now: () => Date.now() },
    devName: config.unfurl.devName,
    deadlineMs: config.unfurl.deadlineMs,
    snapshotRefreshMs: config.unfurl.snapshotRefreshSeconds * 1000,
    credentialsFor,
    observe: (event, details) => logTo('debug', event, details),
  };
};
