/**
 * Route handler: oauth-revoke (see lib/routes.ts): POST /oauth/revoke (RFC 7009).
 *
 * Form-encoded requests only, client authentication as at the token endpoint;
 * 200 with an empty body whether or not the token was found (RFC 7009 §2.2); errors
 * have the RFC 6749 §5.2 shape through the one error mapper (`oauth` mode),
 * every answer `Cache-Control: no-store`.
 */

import { connectionEndings } from '#adapters/config/connection-endings.js';
import { accessTokenSettings } from '#adapters/config/oauth-settings.js';
import { connectionStore } from '#adapters/dynamo/factory.js';
import { loadSecret, loadSecretField } from '#adapters/oidc/secrets.js';
import { NO_STORE_HEADERS, OAuthTokenError } from '#core/oauth/errors.js';
import { handleRevocationRequest, type RevocationDependencies } from '#core/oauth/revoke.js';
import { ENV } from '#lib/env-names.js';
import { type Config, need } from '#shared/config.js';
import { empty, httpHandler } from '#shared/http.js';
import { countMetric, logTo, METRIC } from '#shared/observability.js';

export const createRevokeHandler = (deps: () => RevocationDependencies) =>
  httpHandler(
    async (request) => {
      if (request.bodyKind !== 'form') {
        throw new OAuthTokenError('invalid_request', 'The body must be application/x-www-form-urlencoded');
      }
      const outcome = await handleRevocationRequest(
        { authorization: request.headers.authorization, form: request.body as Record<string, string> },
        deps(),
      );
      countMetric(METRIC.tokenRevocation, { outcome });
      return empty(200, { ...NO_STORE_HEADERS });
    },
    {
      accept: ['form', 'empty'],
      maxBodyBytes: 16 * 1024,
      errors: {
        kind: 'oauth',
        headers: NO_STORE_HEADERS,
        onError: (error) => countMetric(METRIC.tokenRevocation, { outcome: error }),
      },
    },
  );

/** The revocation endpoint's ports as a deployment configures them. */
export const revokeDependencies = (config: Config): RevocationDependencies => {
  const clientId = need(config.oauth.clientId, ENV.OAUTH_CLIENT_ID);
  const secretRef = need(config.oauth.clientSecret, ENV.OAUTH_CLIENT_SECRET);
  return {
    connections: connectionStore(config),
    clock: { now: () => Date.now() },
    tokens: accessTokenSettings(config, loadSecret),
    client: async () => ({ clientId, clientSecret: await loadSecretField(secretRef, 'clientSecret') }),
    log: logTo,
    endings: connectionEndings(config),
  };
};
