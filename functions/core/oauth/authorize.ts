/**
 * The browser side of the two-way OAuth round trip (docs/protocol.md §2.1–2.4):
 *
 *   GET /oauth/authorize   validate Notion's request, store a pending
 *                          authorization, send the user to the upstream OIDC
 *                          provider (code + PKCE + state + nonce)
 *   GET /oauth/callback    finish the upstream login (ID token verified), show
 *                          the consent page with an anti-CSRF token
 *   POST /oauth/consent    allow: exchange Notion's code at Notion, create the
 *                          connection, mint our single-use code, redirect to
 *                          Notion; deny or failure: redirect with an error
 *
 * Until a redirect_uri has been validated every problem is an error page;
 * afterwards it is a redirect to that exact redirect_uri with an RFC 6749
 * error. Nothing is stored half-way: the connection is created only after
 * Notion's exchange succeeded, and removed again if our code cannot be stored.
 */
import type { ConnectionEndPorts } from '#core/connection-end.js';
import type { AuthStateStore, Clock, ConnectionStore, PendingAuthorization, Random, TokenCipher } from '#core/ports.js';
import { fingerprint, hashSecret } from '#shared/crypto.js';
import { oauthDescription } from '#shared/errors.js';
import { informingTheClient } from './authorization-failure.js';
import { notionCodeContext, upstreamTokenContext } from './cipher-contexts.js';
import type { AuthorizeErrorCode } from './errors.js';
import { consentPage, errorPage } from './pages.js';
import type { NotionOAuthApi, OAuthLog, UpstreamIdentityProvider, UpstreamUser } from './ports.js';
import { UpstreamLoginError } from './ports.js';
import { originOf, withParams } from './redirect-uri.js';
import { type AuthorizeRequest, parseAuthorizeRequest } from './requests.js';

/** A pending authorization lives as long as Notion's code (10 minutes). */
export const PENDING_TTL_MS = 10 * 60 * 1000;
/** Our authorization codes live at most 60 seconds. */
export const CODE_TTL_MS = 60 * 1000;
/**
 * A connection whose code is never redeemed lapses this long after it was created: its code's
 * lifetime and a minute more (docs/adr/0160-unredeemed-connections-lapse.md).
 */
export const UNREDEEMED_CONNECTION_TTL_MS = CODE_TTL_MS + 60 * 1000;

export interface AuthorizeSettings {
  /** Our issuer (PUBLIC_BASE_URL); the upstream callback is `${issuer}/oauth/callback`. */
  readonly issuer: string;
  /** The client id Notion presents (OAUTH_CLIENT_ID). */
  readonly clientId: string;
  readonly extraRedirectUris: readonly string[];
  /** Shown on the consent page. */
  readonly productName: string;
}

export interface AuthorizeDependencies {
  readonly authState: AuthStateStore;
  readonly connections: ConnectionStore;
  readonly cipher: TokenCipher;
  readonly notion: NotionOAuthApi;
  readonly upstream: UpstreamIdentityProvider;
  readonly clock: Clock;
  readonly random: Random;
  readonly settings: AuthorizeSettings;
  readonly log: OAuthLog;
  /** What ending a connection (a superseded one) reaches: subscriptions, the delivery log. */
  readonly endings: ConnectionEndPorts;
}

/** What the handler sends back to the browser. */
export type BrowserOutcome =
  | {
      readonly kind: 'redirect';
      readonly location: string;
      /** Set the pending-authorization cookie to this id. */
      readonly setPending?: string;
      /** Clear the pending-authorization cookie. */
      readonly clearPending?: boolean;
    }
  | {
      readonly kind: 'page';
      readonly status: number;
      readonly html: string;
      /** The consent form's redirect target origin, for the page's form-action directive. */
      readonly formActionOrigin?: string;
      readonly clearPending?: boolean;
    };

export const page = (status: number, title: string, message: string, clearPending = false): BrowserOutcome => ({
  kind: 'page',
  status,
  html: errorPage(title, message),
  clearPending,
});

/**
 * An error page for a browser request the service refuses, logged (INFO `browser request refused`) with a
 * fixed reason code and the status: never the request's own values.
 */
export const refused = (
  deps: Pick<AuthorizeDependencies, 'log'>,
  reason: string,
  outcome: BrowserOutcome,
): BrowserOutcome => {
  deps.log('info', 'browser request refused', {
    reason,
    ...(outcome.kind === 'page' ? { status: outcome.status } : {}),
  });
  return outcome;
};

export const errorRedirect = (
  redirectUri: string,
  state: string | undefined,
  error: AuthorizeErrorCode,
  description: string,
  issuer: string,
): BrowserOutcome => ({
  kind: 'redirect',
  // The one builder of the authorization endpoint's error redirects: fixed text inside RFC 6749's set.
  location: withParams(redirectUri, {
    error,
    error_description: oauthDescription(description, 'The authorization request was not completed'),
    state,
    iss: issuer,
  }),
  clearPending: true,
});

const callbackUrl = (settings: AuthorizeSettings): string => `${settings.issuer}/oauth/callback`;

// ---------------------------------------------------------------------------
// GET /oauth/authorize
// ---------------------------------------------------------------------------

export const startAuthorization = async (
  query: Readonly<Record<string, string>>,
  repeated: readonly string[],
  deps: AuthorizeDependencies,
): Promise<BrowserOutcome> => {
  const { settings } = deps;
  const parsed = parseAuthorizeRequest(query, repeated, settings);
  if (parsed.kind === 'page')
    return refused(deps, 'invalid_authorize_request', page(parsed.status, 'This link cannot be used', parsed.message));
  if (parsed.kind === 'redirect-error') {
    deps.log('info', 'authorization request rejected', { error: parsed.error, reason: parsed.description });
    return errorRedirect(parsed.redirectUri, parsed.state, parsed.error, parsed.description, settings.issuer);
  }
  const request = parsed.request;
  return informingTheClient(request, () => storePendingAuthorization(request, deps));
};

const storePendingAuthorization = async (
  request: AuthorizeRequest,
  deps: AuthorizeDependencies,
): Promise<BrowserOutcome> => {
  const { settings } = deps;
  const now = deps.clock.now();
  const id = deps.random.token(24);
  const upstream = { codeVerifier: deps.random.token(32), nonce: deps.random.token(24), state: deps.random.token(24) };
  let location: string;
  try {
    location = await deps.upstream.authorizationUrl({ redirectUri: callbackUrl(settings), ...upstream });
  } catch (error) {
    deps.log('warn', 'upstream provider unavailable', { error: error as Error });
    return errorRedirect(
      request.redirectUri,
      request.state,
      'temporarily_unavailable',
      'The sign-in service is not reachable right now. Please try again in a moment.',
      settings.issuer,
    );
  }
  const pending: PendingAuthorization = {
    id,
    clientId: request.clientId,
    notionCode: await deps.cipher.encrypt(request.notionCode, notionCodeContext(id)),
    state: request.state ?? '',
    scope: request.scope,
    redirectUri: request.redirectUri,
    ...(request.codeChallenge === undefined
      ? {}
      : { codeChallenge: request.codeChallenge, codeChallengeMethod: 'S256' }),
    upstream,
    createdAt: now,
    expiresAt: now + PENDING_TTL_MS,
  };
  await deps.authState.putPending(pending);
  deps.log('info', 'authorization started', { pending: fingerprint(id) });
  return { kind: 'redirect', location, setPending: id };
};

// ---------------------------------------------------------------------------
// GET /oauth/callback
// ---------------------------------------------------------------------------

export const stateOf = (pending: PendingAuthorization): string | undefined =>
  pending.state === '' ? undefined : pending.state;

export const SESSION_GONE =
  'Your sign-in session was not found or has expired (it lasts 10 minutes). Please start again from Notion.';

export const completeUpstreamLogin = async (
  input: {
    readonly pendingId: string | undefined;
    readonly callbackUrl: URL;
    /** Names of parameters the callback repeated: refused before anything is read (RFC 6749 §3.1). */
    readonly repeated?: readonly string[];
  },
  deps: AuthorizeDependencies,
): Promise<BrowserOutcome> => {
  if (input.repeated !== undefined && input.repeated.length > 0) {
    // Fixed text: the repeated names are the client's input.
    return refused(
      deps,
      'repeated_parameter',
      page(
        400,
        'Sign-in answer not accepted',
        'The sign-in answer repeats a parameter. Please start again from Notion.',
      ),
    );
  }
  const now = deps.clock.now();
  const pending = input.pendingId === undefined ? undefined : await deps.authState.getPending(input.pendingId, now);
  if (!pending?.upstream)
    return refused(deps, 'no_pending_sign_in', page(400, 'Sign-in session expired', SESSION_GONE, true));

  const { upstream } = pending;
  return informingTheClient({ redirectUri: pending.redirectUri, state: stateOf(pending) }, () =>
    finishUpstreamLogin(pending, upstream, input.callbackUrl, now, deps),
  );
};

const finishUpstreamLogin = async (
  pending: PendingAuthorization,
  upstream: NonNullable<PendingAuthorization['upstream']>,
  callback: URL,
  now: number,
  deps: AuthorizeDependencies,
): Promise<BrowserOutcome> => {
  const { settings } = deps;
  const fail = async (error: AuthorizeErrorCode, description: string): Promise<BrowserOutcome> => {
    await deps.authState.takePending(pending.id, now);
    return errorRedirect(pending.redirectUri, stateOf(pending), error, description, settings.issuer);
  };

  let user: UpstreamUser;
  try {
    user = await deps.upstream.finishLogin(callback, {
      redirectUri: callbackUrl(settings),
      ...upstream,
    });
  } catch (error) {
    if (!(error instanceof UpstreamLoginError)) throw error;
    deps.log('info', 'upstream login failed', {
      pending: fingerprint(pending.id),
      kind: error.kind,
      reason: error.message,
    });
    if (error.kind === 'unavailable') {
      return fail(
        'temporarily_unavailable',
        'The sign-in service is not reachable right now. Please try again in a moment.',
      );
    }
    return fail('access_denied', 'Sign-in was cancelled or did not succeed, so Notion was not connected.');
  }

  const csrf = deps.random.token(32);
  // The connection's id is minted now, so that the upstream tokens are encrypted for that connection only.
  const connectionId = deps.random.uuid();
  const upstreamTokenCiphertext = user.tokens
    ? await deps.cipher.encrypt(JSON.stringify(user.tokens), upstreamTokenContext(connectionId))
    : undefined;
  const updated: PendingAuthorization = {
    ...pending,
    user: {
      subject: user.subject,
      displayName: user.displayName,
      connectionId,
      ...(upstreamTokenCiphertext === undefined ? {} : { upstreamTokenCiphertext }),
    },
    csrfHash: hashSecret(csrf),
  };
  if (!(await deps.authState.updatePending(updated)))
    return refused(deps, 'no_pending_sign_in', page(400, 'Sign-in session expired', SESSION_GONE, true));
  return {
    kind: 'page',
    status: 200,
    html: consentPage({
      productName: settings.productName,
      displayName: user.displayName,
      scope: pending.scope,
      pendingId: pending.id,
      csrfToken: csrf,
    }),
    formActionOrigin: originOf(pending.redirectUri),
  };
};
