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
import {
  type AuthorizeDependencies,
  type BrowserOutcome,
  completeUpstreamLogin,
  startAuthorization,
} from '#core/oauth/authorize.js';
import { decideConsent } from '#core/oauth/consent.js';
import { errorPage } from '#core/oauth/pages.js';
import { ENV } from '#lib/env-names.js';
import { type Config, need } from '#shared/config.js';
import { serializeCookie } from '#shared/cookies.js';
import { systemRandom } from '#shared/crypto.js';
import { type HttpResult, html, httpHandler, redirect } from '#shared/http.js';
import { logTo } from '#shared/observability.js';

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

const toResult = (outcome: BrowserOutcome, issuer: string): HttpResult => {
  const cookies =
    outcome.kind === 'redirect' && outcome.setPending !== undefined
      ? [cookie(issuer, outcome.setPending, 600)]
      : outcome.clearPending
        ? [cookie(issuer, '', 0)]
        : [];
  if (outcome.kind === 'redirect') return redirect(outcome.location, {}, cookies);
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

/** Builds the handler over the given dependencies (tests pass in-memory ones). */
export const createAuthorizeHandler = (deps: () => AuthorizeDependencies) =>
  httpHandler(
    async (request) => {
      const d = deps();
      const issuer = d.settings.issuer;
      const pendingId = pendingIdOf(request.cookies[PENDING_COOKIE]);
      if (request.method === 'GET' && request.path.endsWith('/oauth/authorize')) {
        return toResult(await startAuthorization(request.query, request.repeatedQuery, d), issuer);
      }
      if (request.method === 'GET' && request.path.endsWith('/oauth/callback')) {
        const callbackUrl = new URL(`${issuer}/oauth/callback`);
        for (const [k, v] of Object.entries(request.query)) callbackUrl.searchParams.set(k, v);
        return toResult(await completeUpstreamLogin({ pendingId, callbackUrl }, d), issuer);
      }
      if (request.method === 'POST' && request.path.endsWith('/oauth/consent')) {
        return toResult(await decideConsent({ pendingId, form: request.body }, d), issuer);
      }
      return html(404, errorPage('Not found', 'There is nothing here.'));
    },
    // Browser-facing: errors are HTML pages, not JSON bodies.
    { accept: ['form', 'empty'], maxBodyBytes: 8 * 1024, errors: { kind: 'html', page: errorPage } },
  );

/** The authorize flow's ports as a deployment configures them. */
export const authorizeDependencies = (config: Config): AuthorizeDependencies => {
  return {
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
