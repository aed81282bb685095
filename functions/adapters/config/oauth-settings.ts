/**
 * OAuth settings derived from the typed configuration. Secrets (the token
 * signing key, our client secret) are either values (local) or Secrets Manager
 * ARNs (AWS); a `SecretLoader` resolves them, so the domain code that uses the
 * settings never sees the configuration.
 */

import { type AccessTokenSettings, verifiedTokenCache } from '#core/oauth/access-token.js';
import type { RegisteredClient } from '#core/oauth/client-auth.js';
import { cachedKeySource, checkSigningKeyMaterial, type SigningKeySource } from '#core/oauth/signing-keys.js';
import { ENV } from '#lib/env-names.js';
import type { Config, SecretRef } from '#shared/config.js';
import { need } from '#shared/config.js';

/** Resolves a secret reference to its current string (implementations cache and refresh). */
export type SecretLoader = (ref: SecretRef) => Promise<string>;

/** Our issuer identifier: the public base URL of the service, without a trailing slash. */
export const issuerOf = (config: Config): string => need(config.publicBaseUrl, ENV.PUBLIC_BASE_URL);

/**
 * The signing keys of TOKEN_SIGNING_KEY. A configured value is checked now, so that a function with
 * unusable key material fails its init naming the setting; a secret's is checked when it is first read.
 */
export const signingKeySource = (config: Config, loadSecret: SecretLoader): SigningKeySource => {
  const ref = need(config.oauth.tokenSigningKey, ENV.TOKEN_SIGNING_KEY);
  if ('value' in ref) checkSigningKeyMaterial(ref.value);
  return cachedKeySource(() => loadSecret(ref));
};

export const accessTokenSettings = (config: Config, loadSecret: SecretLoader): AccessTokenSettings => {
  const keys = signingKeySource(config, loadSecret);
  const issuer = issuerOf(config);
  return {
    issuer,
    audience: issuer,
    ttlSeconds: config.oauth.accessTokenTtlSeconds,
    keys,
    verified: verifiedTokenCache(),
  };
};

/** Our registered client (OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET or its ARN), its secret read when asked. */
export const registeredClientOf = (
  config: Config,
  loadSecretField: (ref: SecretRef, field: string) => Promise<string>,
): (() => Promise<RegisteredClient>) => {
  const clientId = need(config.oauth.clientId, ENV.OAUTH_CLIENT_ID);
  const secretRef = need(config.oauth.clientSecret, ENV.OAUTH_CLIENT_SECRET);
  return async () => ({ clientId, clientSecret: await loadSecretField(secretRef, 'clientSecret') });
};
