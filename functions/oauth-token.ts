/**
 * Route handler: oauth-token (see lib/routes.ts): POST /oauth/token.
 *
 * Form-encoded requests only; every answer (errors included) carries
 * `Cache-Control: no-store` and `Pragma: no-cache`; errors have the RFC 6749
 * §5.2 shape, malformed bodies included.
 */

import { authStateStore, connectionStore } from '#adapters/dynamo/factory.js';
import { loadSecret, loadSecretField } from '#adapters/oidc/secrets.js';
import { NO_STORE_HEADERS, OAuthTokenError } from '#core/oauth/errors.js';
import { accessTokenSettings } from '#core/oauth/settings.js';
import { handleTokenRequest, type TokenDependencies } from '#core/oauth/token.js';
import { ENV } from '#lib/env-names.js';
import { type Config, getConfig, need } from '#shared/config.js';
import { systemRandom } from '#shared/crypto.js';
import { AppError } from '#shared/errors.js';
import { httpHandler, isThrottling, json, THROTTLED_RETRY_AFTER } from '#shared/http.js';
import { countMetric, logger, METRIC } from '#shared/observability.js';

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
    { accept: ['form', 'empty'], maxBodyBytes: 16 * 1024 },
  ).use({
    // Errors the shared stack raises while parsing (repeated parameter, wrong media type, size) in the RFC shape.
    onError: async (request) => {
      const error = request.error;
      if (error instanceof OAuthTokenError) {
        logger.info('token request rejected', { error: error.error, reason: error.description });
        countMetric(METRIC.tokenError, { error: error.error });
        return json(error.statusCode, error.toBody(), { ...error.headers });
      }
      if (error instanceof AppError && error.statusCode < 500) {
        logger.info('token request rejected', { error: 'invalid_request', reason: error.message });
        countMetric(METRIC.tokenError, { error: 'invalid_request' });
        return json(400, { error: 'invalid_request', error_description: error.message }, { ...NO_STORE_HEADERS });
      }
      if (isThrottling(error)) {
        logger.warn('token request throttled', { dependencyError: (error as Error).name });
        countMetric(METRIC.tokenError, { error: 'temporarily_unavailable' });
        return json(
          503,
          { error: 'temporarily_unavailable', error_description: 'The service is busy; try again shortly' },
          { ...NO_STORE_HEADERS, 'retry-after': THROTTLED_RETRY_AFTER },
        );
      }
      logger.error('token request failed', { error: error as Error });
      countMetric(METRIC.tokenError, { error: 'server_error' });
      return json(500, { error: 'server_error', error_description: 'Internal error' }, { ...NO_STORE_HEADERS });
    },
  });

let production: { config: Config; deps: TokenDependencies } | undefined;

const fromConfig = (): TokenDependencies => {
  const config = getConfig();
  if (production?.config === config) return production.deps;
  const clientId = need(config.oauth.clientId, ENV.OAUTH_CLIENT_ID);
  const secretRef = need(config.oauth.clientSecret, ENV.OAUTH_CLIENT_SECRET);
  const deps: TokenDependencies = {
    authState: authStateStore(config),
    connections: connectionStore(config),
    clock: { now: () => Date.now() },
    random: systemRandom,
    tokens: accessTokenSettings(config, loadSecret),
    client: async () => ({ clientId, clientSecret: await loadSecretField(secretRef, 'clientSecret') }),
  };
  production = { config, deps };
  return deps;
};

export const handler = createTokenHandler(fromConfig);
