/**
 * Route handler: oauth-revoke (see lib/routes.ts): POST /oauth/revoke (RFC 7009).
 *
 * Form-encoded requests only, client authentication as at the token endpoint;
 * 200 with an empty body whether or not the token was found (RFC 7009 §2.2); errors
 * have the RFC 6749 §5.2 shape through the one error mapper (`oauth` mode),
 * every answer `Cache-Control: no-store`.
 */

import { connectionEndings } from '#adapters/config/connection-endings.js';
import { accessTokenSettings, registeredClientOf } from '#adapters/config/oauth-settings.js';
import { connectionStore } from '#adapters/dynamo/factory.js';
import { loadSecret, loadSecretField } from '#adapters/oidc/secrets.js';
import { NO_STORE_HEADERS } from '#core/oauth/errors.js';
import { REVOCATION_PARAMETERS } from '#core/oauth/parameters.js';
import { handleRevocationRequest, type RevocationDependencies } from '#core/oauth/revoke.js';
import type { Config } from '#shared/config.js';
import { empty, httpHandler } from '#shared/http.js';
import { countMetric, logTo, METRIC } from '#shared/observability.js';
import { clientForm } from './oauth-client-request.js';

const form = clientForm(REVOCATION_PARAMETERS, (error) => countMetric(METRIC.tokenRevocation, { outcome: error }));

export const createRevokeHandler = (deps: () => RevocationDependencies) =>
  httpHandler(async (request) => {
    const outcome = await handleRevocationRequest(form.read(request), deps());
    countMetric(METRIC.tokenRevocation, { outcome });
    return empty(200, { ...NO_STORE_HEADERS });
  }, form.options);

/** The revocation endpoint's ports as a deployment configures them. */
export const revokeDependencies = (config: Config): RevocationDependencies => {
  return {
    connections: connectionStore(config),
    clock: { now: () => Date.now() },
    tokens: accessTokenSettings(config, loadSecret),
    client: registeredClientOf(config, loadSecretField),
    log: logTo,
    endings: connectionEndings(config),
  };
};
