/**
 * The service's HTTP routes (contract: docs/architecture.md §3), defined once.
 *
 * The CDK stack wires each route to the Lambda function of its handler; the
 * local server dispatches the same routes to the same handler modules. Each
 * handler module lives at `functions/<handler>.ts` and exports `handler`.
 */
export const HANDLERS = {
  'oauth-authorize': { description: 'OAuth authorize, upstream login callback and consent' },
  'oauth-token': { description: 'OAuth token endpoint (authorization_code, refresh_token)' },
  unfurl: { description: 'Unfurl callback (POST)' },
  'unfurl-delete': { description: 'Unfurl DELETE and deleted-token callback' },
  changes: { description: 'Signed change webhook: enqueues change events' },
  metadata: { description: 'RFC 8414 authorization server metadata' },
} as const;

export type HttpHandlerName = keyof typeof HANDLERS;

/** The SQS-triggered worker is not behind a route. */
export const WORKER_HANDLER = 'update-worker' as const;

/** Every function of the stack: one per HTTP handler, plus the worker. */
export type FunctionName = HttpHandlerName | typeof WORKER_HANDLER;

export type HttpMethod = 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';

export interface RouteDefinition {
  readonly method: HttpMethod;
  readonly path: string;
  readonly handler: HttpHandlerName;
  /** Field of Notion's integration dashboard this URL goes into, if any. */
  readonly dashboardField?: string;
}

export const ROUTES: readonly RouteDefinition[] = [
  { method: 'GET', path: '/oauth/authorize', handler: 'oauth-authorize', dashboardField: 'OAuth Authorize URL' },
  { method: 'GET', path: '/oauth/callback', handler: 'oauth-authorize' },
  { method: 'POST', path: '/oauth/consent', handler: 'oauth-authorize' },
  { method: 'POST', path: '/oauth/token', handler: 'oauth-token', dashboardField: 'OAuth Token URL' },
  { method: 'POST', path: '/unfurl', handler: 'unfurl', dashboardField: 'Unfurl Callback URL' },
  { method: 'DELETE', path: '/unfurl', handler: 'unfurl-delete' },
  { method: 'DELETE', path: '/deleted-token', handler: 'unfurl-delete', dashboardField: 'Deleted Token Callback URL' },
  { method: 'POST', path: '/deleted-token', handler: 'unfurl-delete' },
  { method: 'POST', path: '/changes', handler: 'changes' },
  { method: 'GET', path: '/.well-known/oauth-authorization-server', handler: 'metadata' },
];

/** API Gateway v2 route key, e.g. `POST /unfurl`. */
export const routeKey = (r: Pick<RouteDefinition, 'method' | 'path'>): string => `${r.method} ${r.path}`;
