/**
 * The upstream provider's refresh_token grant through openid-client: the
 * adapter behind the `UpstreamTokenRefresher` port (docs/adr/0127). The same
 * discovery, client authentication and loopback rule as the login
 * (./upstream.ts).
 *
 * `invalid_grant` (refresh token expired, revoked or already used) is a
 * refusal: the user must log in again. Every other failure (network, 5xx,
 * another OAuth error, which is a configuration fault and not the user's) is
 * thrown, and the caller treats it as "no answer".
 */
import * as oidc from 'openid-client';
import type { UpstreamRefresh, UpstreamTokenRefresher } from '#core/sources/credentials.js';
import type { Config, SecretRef } from '#shared/config.js';
import { configurationLoader, oidcClientFromConfig, type UpstreamOptions } from './upstream.js';

export const createUpstreamRefresher = (options: UpstreamOptions): UpstreamTokenRefresher => {
  const configuration = configurationLoader(options);
  return {
    async refresh(refreshToken: string): Promise<UpstreamRefresh> {
      const config = await configuration();
      try {
        const tokens = await oidc.refreshTokenGrant(config, refreshToken);
        const expiresIn = tokens.expiresIn();
        return {
          outcome: 'refreshed',
          accessToken: tokens.access_token,
          ...(tokens.refresh_token === undefined ? {} : { refreshToken: tokens.refresh_token }),
          ...(expiresIn === undefined ? {} : { expiresInSeconds: expiresIn }),
        };
      } catch (error) {
        if (error instanceof oidc.ResponseBodyError && error.error === 'invalid_grant') {
          return { outcome: 'refused', error: error.error };
        }
        throw error;
      }
    },
  };
};

let fromConfigCache: { key: string; refresher: UpstreamTokenRefresher } | undefined;

/** The refresher of OIDC_ISSUER / OIDC_CLIENT_ID / OIDC_CLIENT_SECRET (or its ARN); one per process. */
export const refresherFromConfig = (
  config: Config,
  loadSecretField: (ref: SecretRef, field: string) => Promise<string>,
): UpstreamTokenRefresher => {
  const { key, issuer, clientId, clientSecret } = oidcClientFromConfig(config, loadSecretField);
  if (fromConfigCache?.key !== key) {
    fromConfigCache = {
      key,
      refresher: createUpstreamRefresher({ issuer, clientId, clientSecret, timeoutSeconds: 5 }),
    };
  }
  return fromConfigCache.refresher;
};
