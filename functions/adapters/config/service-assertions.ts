/** The service assertions as a deployment configures them: TOKEN_SIGNING_KEY's assertion keys, PUBLIC_BASE_URL as issuer. */
import { type ServiceAssertions, serviceAssertions } from '#core/sources/assertions.js';
import type { Config } from '#shared/config.js';
import { issuerOf, type SecretLoader, signingKeySource } from './oauth-settings.js';

export const serviceAssertionsFromConfig = (
  config: Config,
  loadSecret: SecretLoader,
  now?: () => number,
): ServiceAssertions => {
  return serviceAssertions({
    issuer: issuerOf(config),
    keys: signingKeySource(config, loadSecret),
    ...(now ? { now } : {}),
  });
};
