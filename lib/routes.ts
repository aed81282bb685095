/**
 * The service's HTTP routes (contract: docs/architecture.md §3), defined once.
 *
 * The CDK stack wires each route to the Lambda function of its handler; the
 * local server dispatches the same routes to the same handler modules. Each
 * handler module lives at `functions/<handler>.ts` and exports `handler`. The
 * README's route table is rendered from here (`npm run settings -- --write`).
 */
import { AUTHORIZE_PARAMETERS, REVOCATION_PARAMETERS, TOKEN_PARAMETERS } from '../functions/core/oauth/parameters.js';
export const HANDLERS = {
  'oauth-authorize': { description: 'OAuth authorize, upstream login callback and consent' },
  'oauth-token': { description: 'OAuth token endpoint (authorization_code, refresh_token)' },
  'oauth-revoke': { description: 'OAuth token revocation (RFC 7009)' },
  unfurl: { description: 'Unfurl callback (POST)' },
  'unfurl-delete': { description: 'Unfurl DELETE and deleted-token callback' },
  changes: { description: 'Signed change webhook: enqueues change events' },
  metadata: { description: 'RFC 8414 authorization server metadata' },
  jwks: { description: "Public keys of the service's assertions to the product (JWK Set)" },
} as const;

export type HttpHandlerName = keyof typeof HANDLERS;

/** The SQS-triggered worker is not behind a route. */
export const WORKER_HANDLER = 'update-worker' as const;

/** Every function of the stack: one per HTTP handler, plus the worker. */
export type FunctionName = HttpHandlerName | typeof WORKER_HANDLER;

export type HttpMethod = 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';

/**
 * Who calls a route, which decides its throttle (API Gateway route settings, per route): Notion's own
 * calls keep their capacity whatever a flood of another kind does.
 */
export const THROTTLE_CLASSES = {
  /** Notion's server-to-server calls: unfurl, token exchange, deleted-token. */
  notion: { rateLimit: 50, burstLimit: 100 },
  /** A person's browser in the OAuth round-trip (authorize, callback, consent). */
  browser: { rateLimit: 20, burstLimit: 40 },
  /** The product's signed change webhook. */
  changes: { rateLimit: 20, burstLimit: 40 },
  /** Token revocation (RFC 7009): rare, and a flood would only guess at tokens. */
  revoke: { rateLimit: 5, burstLimit: 10 },
  /** Public, cacheable documents (RFC 8414 metadata, the JWKS). */
  public: { rateLimit: 10, burstLimit: 20 },
} as const satisfies Readonly<Record<string, { readonly rateLimit: number; readonly burstLimit: number }>>;

export type ThrottleClass = keyof typeof THROTTLE_CLASSES;

export interface RouteDefinition {
  readonly method: HttpMethod;
  readonly path: string;
  readonly handler: HttpHandlerName;
  /** Its throttle (required: a new route gets one by construction). */
  readonly throttle: ThrottleClass;
  /** Field of Notion's integration dashboard this URL goes into, if any. */
  readonly dashboardField?: string;
  /** What the README's route table says of a route without a dashboard field (default: its handler's description). */
  readonly note?: string;
  /**
   * The query and body fields the route reads: the fuzz suites vary these (and send everything else as
   * noise). A route without them is fuzzed with noise only.
   */
  readonly reads?: { readonly query?: readonly string[]; readonly body?: readonly string[] };
}

export const ROUTES: readonly RouteDefinition[] = [
  {
    method: 'GET',
    path: '/oauth/authorize',
    throttle: 'browser',
    handler: 'oauth-authorize',
    dashboardField: 'OAuth Authorize URL',
    reads: { query: AUTHORIZE_PARAMETERS },
  },
  {
    method: 'GET',
    path: '/oauth/callback',
    note: '(register at your OIDC provider as the redirect URI)',
    throttle: 'browser',
    handler: 'oauth-authorize',
    reads: { query: ['code', 'state', 'error', 'iss'] },
  },
  {
    method: 'POST',
    path: '/oauth/consent',
    note: '(consent form)',
    throttle: 'browser',
    handler: 'oauth-authorize',
    reads: { body: ['pending', 'csrf', 'decision'] },
  },
  {
    method: 'POST',
    path: '/oauth/token',
    throttle: 'notion',
    handler: 'oauth-token',
    dashboardField: 'OAuth Token URL',
    reads: { body: TOKEN_PARAMETERS },
  },
  {
    method: 'POST',
    path: '/oauth/revoke',
    note: '— RFC 7009 revocation, in the metadata',
    handler: 'oauth-revoke',
    reads: { body: REVOCATION_PARAMETERS },
    // Notion revokes rarely; a tight limit keeps guessing and floods off the Connections table.
    throttle: 'revoke',
  },
  {
    method: 'POST',
    path: '/unfurl',
    throttle: 'notion',
    handler: 'unfurl',
    dashboardField: 'Unfurl Callback URL',
    reads: { body: ['uri'] },
  },
  {
    method: 'DELETE',
    path: '/unfurl',
    note: '(same URL, DELETE)',
    throttle: 'notion',
    handler: 'unfurl-delete',
    reads: { query: ['uri'], body: ['uri'] },
  },
  {
    method: 'DELETE',
    path: '/deleted-token',
    throttle: 'notion',
    handler: 'unfurl-delete',
    dashboardField: 'Deleted Token Callback URL',
    // Tokens come from the Bearer header or the body only (docs/protocol.md#decisions), never the query.
    reads: { body: ['access_token', 'refresh_token', 'token', 'uri'] },
  },
  {
    method: 'POST',
    path: '/deleted-token',
    note: '(same URL, POST)',
    throttle: 'notion',
    handler: 'unfurl-delete',
    reads: { body: ['access_token', 'refresh_token', 'token'] },
  },
  {
    method: 'POST',
    path: '/changes',
    note: '— signed webhook for your product ([event schema](docs/change-events.md))',
    throttle: 'changes',
    handler: 'changes',
    reads: { body: ['resource', 'uri', 'changed_at', 'fields'] },
  },
  {
    method: 'GET',
    path: '/.well-known/oauth-authorization-server',
    note: '— RFC 8414 metadata',
    throttle: 'public',
    handler: 'metadata',
    reads: { query: ['x'] },
  },
  {
    method: 'GET',
    path: '/.well-known/jwks.json',
    note: "— public keys of the service's assertions to your product",
    throttle: 'public',
    handler: 'jwks',
    reads: { query: ['x'] },
  },
];

/** API Gateway v2 route key, e.g. `POST /unfurl`. */
export const routeKey = (r: Pick<RouteDefinition, 'method' | 'path'>): string => `${r.method} ${r.path}`;
