/**
 * Route handler: oauth-authorize (see lib/routes.ts).
 *
 *   GET  /oauth/authorize  → core startAuthorization
 *   GET  /oauth/callback   → core completeUpstreamLogin
 *   POST /oauth/consent    → core decideConsent
 *
 * Browser-facing: every answer is a redirect to a validated URL or an HTML
 * page, never JSON. The pending authorization's id travels in an HttpOnly,
 * SameSite=Lax cookie scoped to /oauth (Secure except on a loopback http base).
 */

import { connectionEndings } from '#adapters/config/connection-endings.js';
import { issuerOf } from '#adapters/config/oauth-settings.js';
import { tokenCipherFromConfig } from '#adapters/crypto/token-cipher.js';
import { authStateStore, connectionStore } from '#adapters/dynamo/factory.js';
import { notionApiFromConfig } from '#adapters/notion/notion-api.js';
import { loadSecretField } from '#adapters/oidc/secrets.js';
import { upstreamFromConfig } from '#adapters/oidc/upstream.js';
import { AuthorizationFailedError } from '#core/oauth/authorization-failure.js';
import {
  type AuthorizeDependencies,
  type BrowserOutcome,
  completeUpstreamLogin,
  errorRedirect,
  startAuthorization,
} from '#core/oauth/authorize.js';
import { decideConsent } from '#core/oauth/consent.js';
import { errorPage } from '#core/oauth/pages.js';
import { ENV } from '#lib/env-names.js';
import { isNotionClientIdPlaceholder, NOTION_CREDENTIALS_PLACEHOLDER_MESSAGE } from '#lib/placeholders.js';
import { type Config, need } from '#shared/config.js';
import { serializeCookie } from '#shared/cookies.js';
import { systemRandom } from '#shared/crypto.js';
import { type HttpRequest, type HttpResult, html, httpHandler, isThrottling, redirect } from '#shared/http.js';
import { countMetric, logger, logTo, METRIC } from '#shared/observability.js';

export const PENDING_COOKIE = 'nlp_oauth_pending';

const PAGE_CSP = (formAction: string) =>
  `default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`;

const cookie = (issuer: string, value: string, maxAgeSeconds: number): string =>
  serializeCookie(PENDING_COOKIE, value, {
    path: '/oauth',
    maxAgeSeconds,
    httpOnly: true,
    sameSite: 'Lax',
    secure: !/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(issuer),
  });

/**
 * The answer to a browser step. A redirect that answers a POST (the consent form) is a 303 See Other: a
 * user agent must follow it with a GET and never re-send the form, its anti-CSRF token included, to the
 * redirect_uri (RFC 9110 §15.4.4; RFC 9700 §4.12). The GET steps keep 302.
 */
const toResult = (outcome: BrowserOutcome, issuer: string, method: string): HttpResult => {
  const cookies =
    outcome.kind === 'redirect' && outcome.setPending !== undefined
      ? [cookie(issuer, outcome.setPending, 600)]
      : outcome.clearPending
        ? [cookie(issuer, '', 0)]
        : [];
  if (outcome.kind === 'redirect') return redirect(outcome.location, {}, cookies, method === 'POST' ? 303 : 302);
  const formAction = outcome.formActionOrigin ? `'self' ${outcome.formActionOrigin}` : "'self'";
  return {
    ...html(outcome.status, outcome.html, { 'content-security-policy': PAGE_CSP(formAction) }),
    ...(cookies.length > 0 ? { cookies } : {}),
  };
};

/**
 * The pending id from its cookie, when it has the shape of one (base64url, at most 200
 * characters): anything else is no pending authorization, and never reaches a store
 * lookup (DynamoDB refuses keys over 2,048 bytes with an error, not a miss).
 */
const pendingIdOf = (value: string | undefined): string | undefined =>
  value !== undefined && /^[\w-]{1,200}$/.test(value) ? value : undefined;

export interface AuthorizeHandlerDependencies extends AuthorizeDependencies {
  /**
   * What setup is still missing (the Notion credentials secret holding the stack's placeholder), checked
   * before a user starts a round-trip that would end in an opaque failure at Notion's token exchange.
   */
  readonly setupProblem?: () => Promise<string | undefined>;
}

/** A setup that is not finished: an error page that names it, an ERROR log and a metric. */
const setupIncomplete = (problem: string): HttpResult => {
  logger.error('setup incomplete', { setting: ENV.NOTION_CREDENTIALS_SECRET_ARN, problem });
  countMetric(METRIC.setupIncomplete, { setting: ENV.NOTION_CREDENTIALS_SECRET_ARN });
  return html(503, errorPage('This integration is not set up yet', problem));
};

/**
 * A failure of ours after the redirect_uri was validated, told to Notion by redirect (RFC 6749 §4.1.2.1,
 * docs/adr/0170): `temporarily_unavailable` when a dependency throttled, `server_error` otherwise. Logged
 * as the error mapper logs it (WARN for a throttle, ERROR with the error otherwise) and counted.
 */
const informClient = (failure: AuthorizationFailedError, issuer: string, method: string): HttpResult => {
  const busy = isThrottling(failure.cause);
  if (busy) logger.warn(failure.message, { dependencyError: (failure.cause as Error).name });
  else logger.error(failure.message, { error: failure.cause as Error });
  countMetric(METRIC.authorizationFailed, { reason: busy ? 'throttled' : 'failed' });
  const [error, description] = busy
    ? ([
        'temporarily_unavailable',
        'The service is busy right now. Nothing was connected; please try again in a moment.',
      ] as const)
    : (['server_error', 'Something went wrong on our side. Nothing was connected; please start again.'] as const);
  return toResult(errorRedirect(failure.redirectUri, failure.state, error, description, issuer), issuer, method);
};

/** Builds the handler over the given dependencies (tests pass in-memory ones). */
export const createAuthorizeHandler = (deps: () => AuthorizeHandlerDependencies) =>
  httpHandler(
    async (request) => {
      const d = deps();
      try {
        return await answer(request, d);
      } catch (error) {
        if (error instanceof AuthorizationFailedError) return informClient(error, d.settings.issuer, request.method);
        throw error;
      }
    },
    // Browser-facing: errors are HTML pages, not JSON bodies.
    { accept: ['form', 'empty'], maxBodyBytes: 8 * 1024, errors: { kind: 'html', page: errorPage } },
  );

/** The answer to one browser request of the round trip. */
const answer = async (request: HttpRequest, d: AuthorizeHandlerDependencies): Promise<HttpResult> => {
  const issuer = d.settings.issuer;
  const pendingId = pendingIdOf(request.cookies[PENDING_COOKIE]);
  const starts =
    (request.method === 'GET' && request.path.endsWith('/oauth/authorize')) ||
    (request.method === 'POST' && request.path.endsWith('/oauth/consent'));
  const problem = starts ? await d.setupProblem?.() : undefined;
  if (problem) return setupIncomplete(problem);
  if (request.method === 'GET' && request.path.endsWith('/oauth/authorize')) {
    return toResult(await startAuthorization(request.query, request.repeatedQuery, d), issuer, request.method);
  }
  if (request.method === 'GET' && request.path.endsWith('/oauth/callback')) {
    const callbackUrl = new URL(`${issuer}/oauth/callback`);
    for (const [k, v] of Object.entries(request.query)) callbackUrl.searchParams.set(k, v);
    const repeated = request.repeatedQuery;
    return toResult(await completeUpstreamLogin({ pendingId, callbackUrl, repeated }, d), issuer, request.method);
  }
  if (request.method === 'POST' && request.path.endsWith('/oauth/consent')) {
    return toResult(await decideConsent({ pendingId, form: request.body }, d), issuer, request.method);
  }
  return html(404, errorPage('Not found', 'There is nothing here.'));
};

/** The authorize flow's ports as a deployment configures them. */
export const authorizeDependencies = (config: Config): AuthorizeHandlerDependencies => {
  const credentialsArn = config.notion.credentialsSecretArn;
  return {
    // The secret's client id (read through the 5-minute cache) is still the stack's placeholder.
    setupProblem: async () =>
      credentialsArn &&
      isNotionClientIdPlaceholder(
        await loadSecretField({ secretArn: credentialsArn }, 'clientId').catch(() => undefined),
      )
        ? NOTION_CREDENTIALS_PLACEHOLDER_MESSAGE
        : undefined,
    authState: authStateStore(config),
    connections: connectionStore(config),
    cipher: tokenCipherFromConfig(config),
    notion: notionApiFromConfig(config, loadSecretField),
    upstream: upstreamFromConfig(config, loadSecretField),
    clock: { now: () => Date.now() },
    random: systemRandom,
    log: logTo,
    endings: connectionEndings(config),
    settings: {
      issuer: issuerOf(config),
      clientId: need(config.oauth.clientId, ENV.OAUTH_CLIENT_ID),
      extraRedirectUris: config.oauth.extraRedirectUris,
      productName: config.unfurl.devName,
    },
  };
};
