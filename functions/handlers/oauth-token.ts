/**
 * Route handler: oauth-token (see lib/routes.ts): POST /oauth/token.
 *
 * Form-encoded requests only; every answer (errors included) carries
 * `Cache-Control: no-store` and `Pragma: no-cache`; errors have the RFC 6749
 * §5.2 shape, malformed bodies included.
 */

import { connectionEndings } from '#adapters/config/connection-endings.js';
import { accessTokenSettings } from '#adapters/config/oauth-settings.js';
import { authStateStore, connectionStore } from '#adapters/dynamo/factory.js';
import { loadSecret, loadSecretField } from '#adapters/oidc/secrets.js';
import { NO_STORE_HEADERS, OAuthTokenError } from '#core/oauth/errors.js';
import { handleTokenRequest, type TokenDependencies } from '#core/oauth/token.js';
import { ENV } from '#lib/env-names.js';
import { type Config, need } from '#shared/config.js';
import { systemRandom } from '#shared/crypto.js';
import { httpHandler, json } from '#shared/http.js';
import { countMetric, logTo, METRIC } from '#shared/observability.js';

export const createTokenHandler = (deps: () => TokenDependencies) =>
  httpHandler(
    async (request) => {
      if (request.bodyKind !== 'form') {
        throw new OAuthTokenError('invalid_request', 'The body must be application/x-www-form-urlencoded');
      }
      const response = await handleTokenRequest(
        { authorization: request.headers.authorization, form: request.body as Record<string, string> },
        deps(),
      );
      countMetric(METRIC.tokenGranted, {
        grant_type: (request.body as Record<string, string>).grant_type ?? 'unknown',
      });
      return json(200, response, { ...NO_STORE_HEADERS });
    },
    {
      accept: ['form', 'empty'],
      maxBodyBytes: 16 * 1024,
      // RFC 6749 §5.2 bodies, never cached, for every error (parse errors of the shared stack included).
      errors: {
        kind: 'oauth',
        headers: NO_STORE_HEADERS,
        onError: (error) => countMetric(METRIC.tokenError, { error }),
      },
    },
  );

/** The token endpoint's ports as a deployment configures them. */
export const tokenDependencies = (config: Config): TokenDependencies => {
  const clientId = need(config.oauth.clientId, ENV.OAUTH_CLIENT_ID);
  const secretRef = need(config.oauth.clientSecret, ENV.OAUTH_CLIENT_SECRET);
  return {
    authState: authStateStore(config),
    connections: connectionStore(config),
    clock: { now: () => Date.now() },
    random: systemRandom,
    tokens: accessTokenSettings(config, loadSecret),
    client: async () => ({ clientId, clientSecret: await loadSecretField(secretRef, 'clientSecret') }),
    log: logTo,
    endings: connectionEndings(config),
  };
};
