/**
 * Ports of the OAuth domain beyond the stores of #core/ports.js: Notion's
 * OAuth token endpoint and the upstream OpenID Connect provider.
 */
import type { NotionWorkspace } from '../connection.js';

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
    readonly details: {
      readonly status?: number;
      readonly code?: string;
      /** Notion's `Retry-After` (header, or the body's `additional_data.retry_after`) in seconds, with a 429 or 5xx. */
      readonly retryAfterSeconds?: number;
    } = {},
  ) {
    super(message);
  }
}

/** Notion's answer to a `refresh_token` grant (docs/protocol.md §6.6). */
export type NotionRefresh =
  | {
      readonly outcome: 'refreshed';
      readonly accessToken: string;
      /** Absent when Notion did not rotate the refresh token: the stored one stays. */
      readonly refreshToken?: string;
    }
  /** 400 `invalid_grant` or 401: the refresh token is expired, revoked or spent; the connection is over. */
  | { readonly outcome: 'refused'; readonly status: number; readonly code?: string };

/**
 * `POST /v1/oauth/token` with `grant_type: "refresh_token"`. Throws NotionExchangeError(`unavailable`) when
 * Notion gives no usable answer (429, 5xx, another 4xx, a timeout, a network error, an unreadable body).
 */
export interface NotionTokenRefresher {
  refresh(refreshToken: string): Promise<NotionRefresh>;
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
  readonly tokens?: {
    readonly accessToken: string;
    readonly refreshToken?: string;
    readonly expiresAt?: number;
    readonly obtainedAt?: number;
  };
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

// ---------------------------------------------------------------------------
// OAuth state: authorization codes, pending authorizations, markers
// ---------------------------------------------------------------------------

export interface AuthorizationCode {
  /** Hash of the code we handed to Notion. */
  readonly codeHash: string;
  readonly connectionId: string;
  readonly clientId: string;
  /** The exact redirect_uri string received at /oauth/authorize. */
  readonly redirectUri: string;
  readonly scope: string;
  /** PKCE, only when the client sent one (S256). */
  readonly codeChallenge?: string;
  readonly expiresAt: number;
  readonly consumedAt?: number;
}

/** What a code is, read without consuming it. */
export type CodeLookup =
  | { readonly outcome: 'usable'; readonly code: AuthorizationCode }
  /** Already consumed: presenting it again is a replay. */
  | { readonly outcome: 'replayed'; readonly code: AuthorizationCode }
  | { readonly outcome: 'expired' }
  | { readonly outcome: 'unknown' };

export type CodeRedemption =
  | { readonly outcome: 'redeemed'; readonly code: AuthorizationCode }
  /** Already consumed before: a replay. */
  | { readonly outcome: 'replayed'; readonly code: AuthorizationCode }
  | { readonly outcome: 'expired' }
  | { readonly outcome: 'unknown' };

/** The state of one login round-trip, from /oauth/authorize to /oauth/consent. */
export interface PendingAuthorization {
  readonly id: string;
  readonly clientId: string;
  /** Notion's code, to exchange at Notion once the user consents. */
  readonly notionCode: string;
  /** Notion's state, echoed back unchanged. */
  readonly state: string;
  readonly scope: string;
  readonly redirectUri: string;
  readonly codeChallenge?: string;
  readonly codeChallengeMethod?: string;
  /** Upstream OIDC round-trip values (PKCE verifier, nonce, state). */
  readonly upstream?: { readonly codeVerifier: string; readonly nonce: string; readonly state: string };
  /** Set once the upstream login completed. */
  readonly user?: {
    readonly subject: string;
    readonly displayName: string;
    /**
     * The id the connection will have, minted when the upstream login completed: the upstream tokens are
     * encrypted for it (`upstreamTokenContext`). Absent in a pending authorization stored before ADR 0165.
     */
    readonly connectionId?: string;
    readonly upstreamTokenCiphertext?: string;
  };
  /** Hash of the anti-CSRF token of the consent form. */
  readonly csrfHash?: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface AuthStateStore {
  putCode(code: AuthorizationCode): Promise<void>;
  /** Reads a code without consuming it (one consistent read). */
  readCode(codeHash: string, now: number): Promise<CodeLookup>;
  /** Marks the code consumed with one conditional write; exactly one concurrent caller gets `redeemed`. */
  redeemCode(codeHash: string, now: number): Promise<CodeRedemption>;

  putPending(pending: PendingAuthorization): Promise<void>;
  /** Returns the pending authorization unless it is missing or expired. */
  getPending(id: string, now: number): Promise<PendingAuthorization | undefined>;
  /** Replaces a pending authorization (e.g. after the upstream login) iff it still exists. */
  updatePending(pending: PendingAuthorization): Promise<boolean>;
  /** Deletes and returns it with one conditional write; only one caller gets it. */
  takePending(id: string, now: number): Promise<PendingAuthorization | undefined>;
  /**
   * The consent's one request: deletes and returns the pending authorization iff it is live,
   * has a signed-in user and its `csrfHash` is the one given (one conditional write). `mismatch`:
   * it is live but the form does not belong to it (left in place); `gone`: missing, expired or
   * already answered.
   */
  takePendingForConsent(
    id: string,
    csrfHash: string,
    now: number,
  ): Promise<
    { readonly outcome: 'taken'; readonly pending: PendingAuthorization } | { readonly outcome: 'mismatch' | 'gone' }
  >;

  /** A small expiring fact, e.g. "subject X refused to connect". */
  putMarker(key: string, value: string, expiresAt: number): Promise<void>;
  getMarker(key: string, now: number): Promise<string | undefined>;
  /** Stores the marker only if absent or expired; true if this call stored it (idempotency keys). */
  putMarkerIfAbsent(key: string, value: string, expiresAt: number, now: number): Promise<boolean>;
}
