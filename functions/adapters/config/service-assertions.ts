/** The service assertions as a deployment configures them: TOKEN_SIGNING_KEY's assertion keys, PUBLIC_BASE_URL as issuer. */
import { cachedKeySource } from '#core/oauth/signing-keys.js';
import { type ServiceAssertions, serviceAssertions } from '#core/sources/assertions.js';
import { ENV } from '#lib/env-names.js';
import { type Config, need } from '#shared/config.js';
import { issuerOf, type SecretLoader } from './oauth-settings.js';

export const serviceAssertionsFromConfig = (
  config: Config,
  loadSecret: SecretLoader,
  now?: () => number,
): ServiceAssertions => {
  const ref = need(config.oauth.tokenSigningKey, ENV.TOKEN_SIGNING_KEY);
  return serviceAssertions({
    issuer: issuerOf(config),
    keys: cachedKeySource(() => loadSecret(ref)),
    ...(now ? { now } : {}),
  });
};
