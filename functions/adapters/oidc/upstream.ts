/**
 * The upstream OpenID Connect provider (Cognito in AWS, any issuer by
 * configuration, the local oidc-provider under /idp) through openid-client:
 * authorization code flow with PKCE (S256), state and nonce; the ID token is
 * verified by openid-client (signature, issuer, audience, nonce, expiry).
 *
 * Discovery runs once per cold start and is cached; a failed discovery is
 * retried on the next request. Plain-http issuers are allowed only on loopback
 * addresses (the local provider).
 */
import * as oidc from 'openid-client';
import type { UpstreamIdentityProvider, UpstreamLoginRequest, UpstreamUser } from '#core/oauth/ports.js';
import { UpstreamLoginError } from '#core/oauth/ports.js';
import { ENV } from '#lib/env-names.js';
import { isLoopbackHttp } from '#lib/loopback.js';
import type { Config } from '#shared/config.js';
import { need, type SecretRef } from '#shared/config.js';

export interface UpstreamOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: () => Promise<string>;
  /** Scopes asked for; `openid` is always included. */
  readonly scope?: string;
  /** Seconds for each HTTP call to the provider (default 10). */
  readonly timeoutSeconds?: number;
}

const isNetworkError = (error: unknown): boolean => {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
    if (e instanceof TypeError && /fetch failed|network/i.test(e.message)) return true;
    if (
      'code' in e &&
      typeof e.code === 'string' &&
      /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|UND_ERR)/.test(e.code)
    )
      return true;
  }
  return false;
};

const displayNameOf = (claims: Record<string, unknown>, subject: string): string => {
  for (const key of ['name', 'preferred_username', 'email', 'cognito:username', 'nickname']) {
    const v = claims[key];
    if (typeof v === 'string' && v.trim() !== '') return v.trim().slice(0, 200);
  }
  return subject;
};

/**
 * The provider's discovered configuration, loaded on first use and kept; a failed discovery is
 * retried on the next call. Throws at once for a plain-http issuer that is not on loopback.
 */
export const configurationLoader = (options: UpstreamOptions): (() => Promise<oidc.Configuration>) => {
  const issuerUrl = new URL(options.issuer);
  if (issuerUrl.protocol !== 'https:' && !isLoopbackHttp(issuerUrl)) {
    throw new Error('OIDC_ISSUER must use https (plain http is allowed only for a loopback address)');
  }
  let configuration: Promise<oidc.Configuration> | undefined;
  return (): Promise<oidc.Configuration> => {
    configuration ??= (async () => {
      const secret = await options.clientSecret();
      const config = await oidc.discovery(
        issuerUrl,
        options.clientId,
        undefined,
        oidc.ClientSecretBasic(secret),
        isLoopbackHttp(issuerUrl)
          ? { execute: [oidc.allowInsecureRequests], timeout: options.timeoutSeconds ?? 10 }
          : { timeout: options.timeoutSeconds ?? 10 },
      );
      config.timeout = options.timeoutSeconds ?? 10;
      return config;
    })();
    configuration.catch(() => {
      configuration = undefined;
    });
    return configuration;
  };
};

export const createUpstreamProvider = (options: UpstreamOptions): UpstreamIdentityProvider => {
  const getConfiguration = configurationLoader(options);
  const scope = [
    'openid',
    ...(options.scope ?? 'profile email').split(' ').filter((s) => s !== '' && s !== 'openid'),
  ].join(' ');

  return {
    async authorizationUrl(request: UpstreamLoginRequest): Promise<string> {
      const config = await getConfiguration();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: request.redirectUri,
        response_type: 'code',
        scope,
        state: request.state,
        nonce: request.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(request.codeVerifier),
        code_challenge_method: 'S256',
      });
      return url.toString();
    },

    async finishLogin(callbackUrl: URL, expected: UpstreamLoginRequest): Promise<UpstreamUser> {
      let config: oidc.Configuration;
      try {
        config = await getConfiguration();
      } catch {
        throw new UpstreamLoginError('unavailable', 'provider discovery failed');
      }
      // openid-client compares the callback URL's origin and path with redirect_uri.
      const current = new URL(expected.redirectUri);
      current.search = callbackUrl.search;
      try {
        const tokens = await oidc.authorizationCodeGrant(config, current, {
          pkceCodeVerifier: expected.codeVerifier,
          expectedState: expected.state,
          expectedNonce: expected.nonce,
          idTokenExpected: true,
        });
        const claims = tokens.claims();
        if (!claims || typeof claims.sub !== 'string' || claims.sub === '') {
          throw new UpstreamLoginError('failed', 'the ID token has no subject');
        }
        const expiresIn = tokens.expiresIn();
        return {
          subject: claims.sub,
          displayName: displayNameOf(claims, claims.sub),
          tokens: {
            accessToken: tokens.access_token,
            ...(tokens.refresh_token === undefined ? {} : { refreshToken: tokens.refresh_token }),
            ...(expiresIn === undefined ? {} : { expiresAt: Date.now() + expiresIn * 1000, obtainedAt: Date.now() }),
          },
        };
      } catch (error) {
        if (error instanceof UpstreamLoginError) throw error;
        if (error instanceof oidc.AuthorizationResponseError) {
          throw new UpstreamLoginError('denied', `provider answered ${error.error}`);
        }
        if (isNetworkError(error)) throw new UpstreamLoginError('unavailable', 'provider not reachable');
        const code =
          error instanceof oidc.ClientError && error.code ? error.code : error instanceof Error ? error.name : 'error';
        throw new UpstreamLoginError('failed', `login response rejected (${code})`);
      }
    },
  };
};

/** The upstream OIDC client a deployment configures (OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET or its ARN). */
export const oidcClientFromConfig = (
  config: Config,
  loadSecretField: (ref: SecretRef, field: string) => Promise<string>,
): { readonly key: string; readonly issuer: string; readonly clientId: string; clientSecret(): Promise<string> } => {
  const issuer = need(config.oidc.issuer, ENV.OIDC_ISSUER);
  const clientId = need(config.oidc.clientId, ENV.OIDC_CLIENT_ID);
  const secretRef = need(config.oidc.clientSecret, ENV.OIDC_CLIENT_SECRET);
  return {
    key: `${issuer}\n${clientId}`,
    issuer,
    clientId,
    clientSecret: () => loadSecretField(secretRef, 'clientSecret'),
  };
};

let fromConfigCache: { key: string; provider: UpstreamIdentityProvider } | undefined;

/** The provider named by OIDC_ISSUER / OIDC_CLIENT_ID / OIDC_CLIENT_SECRET (or its ARN); one per process. */
export const upstreamFromConfig = (
  config: Config,
  loadSecretField: (ref: SecretRef, field: string) => Promise<string>,
): UpstreamIdentityProvider => {
  const { key, issuer, clientId, clientSecret } = oidcClientFromConfig(config, loadSecretField);
  if (fromConfigCache?.key !== key) {
    fromConfigCache = { key, provider: createUpstreamProvider({ issuer, clientId, clientSecret }) };
  }
  return fromConfigCache.provider;
};
