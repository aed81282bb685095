/**
 * Route handler: jwks (see lib/routes.ts): GET /.well-known/jwks.json, the
 * public keys of the service assertions (docs/adr/0128) as a JWK Set: the
 * signing key first, then the previous ones still published during a rotation.
 * A product verifies the service's assertions with them (jose's
 * `createRemoteJWKSet`). Never a private or secret key: only `kty`, `crv`,
 * `x`, `y`, `kid`, `alg` and `use` are served.
 */

import type { JWK } from 'jose';
import { accessTokenSettings, type SecretLoader } from '#adapters/config/oauth-settings.js';
import { loadSecret } from '#adapters/oidc/secrets.js';
import type { SigningKeySource } from '#core/oauth/signing-keys.js';
import type { Config } from '#shared/config.js';
import { httpHandler, json } from '#shared/http.js';

export interface JwksDependencies {
  readonly keys: SigningKeySource;
}

export const jwksDependencies = (config: Config, load: SecretLoader = loadSecret): JwksDependencies => ({
  keys: accessTokenSettings(config, load).keys,
});

const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'kid', 'alg', 'use'] as const;

/** Only the public members of a key. */
export const publicJwk = (jwk: JWK): JWK =>
  Object.fromEntries(PUBLIC_MEMBERS.filter((m) => jwk[m] !== undefined).map((m) => [m, jwk[m]])) as JWK;

export const createJwksHandler = (deps: () => JwksDependencies) =>
  httpHandler(async () => {
    const keys = (await deps().keys()).assertion?.published ?? [];
    // Five minutes: a verifier that meets an unknown kid fetches again (jose does), so a rotation needs no wait.
    return json(200, { keys: keys.map(publicJwk) }, { 'cache-control': 'public, max-age=300' });
  });
