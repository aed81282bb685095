/**
 * Route handler: oauth-token (see lib/routes.ts): POST /oauth/token.
 *
 * Form-encoded requests only; every answer (errors included) carries
 * `Cache-Control: no-store` and `Pragma: no-cache`; errors have the RFC 6749
 * §5.2 shape, malformed bodies included.
 */

import { connectionEndings } from '#adapters/config/connection-endings.js';
import { accessTokenSettings, registeredClientOf } from '#adapters/config/oauth-settings.js';
import { authStateStore, connectionStore } from '#adapters/dynamo/factory.js';
import { loadSecret, loadSecretField } from '#adapters/oidc/secrets.js';
import { NO_STORE_HEADERS } from '#core/oauth/errors.js';
import { TOKEN_PARAMETERS } from '#core/oauth/parameters.js';
import { grantTypeOf } from '#core/oauth/requests.js';
import { handleTokenRequest, type TokenDependencies } from '#core/oauth/token.js';
import type { Config } from '#shared/config.js';
import { systemRandom } from '#shared/crypto.js';
import { httpHandler, json } from '#shared/http.js';
import { countMetric, logTo, METRIC } from '#shared/observability.js';
import { clientForm } from './oauth-client-request.js';

const form = clientForm(TOKEN_PARAMETERS, (error) => countMetric(METRIC.tokenError, { error }));

export const createTokenHandler = (deps: () => TokenDependencies) =>
  httpHandler(async (request) => {
    const response = await handleTokenRequest(form.read(request), deps());
    countMetric(METRIC.tokenGranted, { grant_type: grantTypeOf(request.body as Record<string, string>) });
    return json(200, response, { ...NO_STORE_HEADERS });
  }, form.options);

/** The token endpoint's ports as a deployment configures them. */
export const tokenDependencies = (config: Config): TokenDependencies => {
  return {
    authState: authStateStore(config),
    connections: connectionStore(config),
    clock: { now: () => Date.now() },
    random: systemRandom,
    tokens: accessTokenSettings(config, loadSecret),
    client: registeredClientOf(config, loadSecretField),
    log: logTo,
    endings: connectionEndings(config),
  };
};
