/**
 * Ports of the OAuth domain beyond the stores of #core/ports.js: Notion's
 * OAuth token endpoint and the upstream OpenID Connect provider.
 */
import type { NotionWorkspace } from '#core/ports.js';

export interface NotionTokenGrant {
  readonly accessToken: string;
  /** Notion's refresh token, when it issues one (docs/protocol.md §6.6). */
  readonly refreshToken: string | null;
  readonly workspace: NotionWorkspace;
}

/** Why Notion's code exchange failed. `rejected`: Notion answered 4xx; `unavailable`: 5xx, 429, timeout or network. */
export class NotionExchangeError extends Error {
  override readonly name = 'NotionExchangeError';
  constructor(
    readonly kind: 'rejected' | 'unavailable',
    message: string,
    readonly details: { readonly status?: number; readonly code?: string } = {},
  ) {
    super(message);
  }
}

export interface NotionOAuthApi {
  /** POST /v1/oauth/token with Notion's code; throws NotionExchangeError. */
  exchangeCode(input: {
    readonly code: string;
    readonly externalAccount: { readonly key: string; readonly name: string };
  }): Promise<NotionTokenGrant>;
}

export interface UpstreamLoginRequest {
  /** Our callback URL registered at the provider. */
  readonly redirectUri: string;
  readonly state: string;
  readonly nonce: string;
  /** PKCE verifier; the provider adapter derives the S256 challenge. */
  readonly codeVerifier: string;
}

export interface UpstreamUser {
  /** The provider's stable subject (`sub`). */
  readonly subject: string;
  readonly displayName: string;
  /** Upstream tokens, kept (encrypted) for source adapters that call the product's API as the user. */
  readonly tokens?: { readonly accessToken: string; readonly refreshToken?: string; readonly expiresAt?: number };
}

/**
 * `denied`: the provider answered with an OAuth error (the user cancelled or the
 * login failed); `failed`: the response did not verify (state, nonce, ID token);
 * `unavailable`: the provider could not be reached.
 */
export class UpstreamLoginError extends Error {
  override readonly name = 'UpstreamLoginError';
  constructor(
    readonly kind: 'denied' | 'failed' | 'unavailable',
    message: string,
  ) {
    super(message);
  }
}

export interface UpstreamIdentityProvider {
  /** The URL to send the browser to (authorization code + PKCE S256 + state + nonce). */
  authorizationUrl(request: UpstreamLoginRequest): Promise<string>;
  /** Completes the login from the callback URL (as the browser requested it); throws UpstreamLoginError. */
  finishLogin(callbackUrl: URL, expected: UpstreamLoginRequest): Promise<UpstreamUser>;
}

/**
 * Where the OAuth flows report what happened, for the logs: a level, a fixed
 * message and details that never hold a token, code or secret. The handlers
 * pass their logger; tests record the calls.
 */
export type OAuthLog = (level: 'info' | 'warn', message: string, details: Readonly<Record<string, unknown>>) => void;
