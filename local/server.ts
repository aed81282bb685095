/**
 * The local HTTP adapter: a plain node:http server on 127.0.0.1 that plays
 * API Gateway (HTTP API, payload format 2.0) in front of the very handler
 * modules Lambda runs.
 *
 *   request → route match (lib/routes.ts) → APIGatewayProxyEventV2 → handler(event, context)
 *           → structured (or inferred) result → response
 *
 * Requests that match no route go to the mounted local parts (longest path
 * prefix first, then the mount with prefix ""), else 404. `GET /healthz`
 * reports every part. The server never lets an error escape a request: a
 * failure becomes a 500 JSON body without internals. With `requestLog` it
 * reports one line per request (method, path without query, status, ms).
 *
 * The mapping functions are exported and pure, so unit tests check them
 * without a socket. See docs/adr/0030-local-runtime.md.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { BodyTooLargeError, readBody } from './http-body.js';
import type { LocalMount } from './mount.js';

/** API Gateway's payload limit for HTTP APIs (10 MB). */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** API Gateway's maximum integration timeout for HTTP APIs. */
export const DEFAULT_INTEGRATION_TIMEOUT_MS = 30_000;

export const LOCAL_ACCOUNT_ID = '000000000000';
export const LOCAL_API_ID = 'local';

/** A handler as Lambda sees it (the callback style is not supported). */
export type LambdaHttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

/** A route as the server matches it; `path` may contain `{name}` and a final `{name+}`. */
export interface ServerRoute {
  readonly method: string;
  readonly path: string;
  /** Name of the handler (and of its Lambda function). */
  readonly handler: string;
}

export interface HealthReport {
  readonly status: 'up' | 'down';
  readonly parts: Readonly<Record<string, 'up' | 'down' | 'starting'>>;
}

export interface LocalServerOptions {
  readonly routes: readonly ServerRoute[];
  /** Returns the handler of a route; called on every matched request (cache on your side). */
  readonly handlerFor: (name: string) => LambdaHttpHandler | undefined;
  /** Parts served under a path prefix; may grow after the server listens. */
  readonly mounts?: () => readonly (LocalMount & PathOwner)[];
  /** Health of every part, for GET /healthz (default: the server alone, always up). */
  readonly health?: () => Promise<HealthReport>;
  /** True while the parts are still loading: a path nothing serves yet is answered 503, not 404. */
  readonly starting?: () => boolean;
  readonly maxBodyBytes?: number;
  readonly integrationTimeoutMs?: number;
  /** Where unexpected errors are reported (never sent to the client). */
  readonly onError?: (message: string, error: unknown) => void;
  /**
   * Receives one line per answered request (`requestLogLine`: method, path without
   * the query string, status, milliseconds); absent: nothing is logged.
   */
  readonly requestLog?: (line: string) => void;
  /**
   * Whether a request addressed to this host name (the Host header, without its port, lower case) is
   * served; absent: every host. A page on another site whose name an attacker points at 127.0.0.1
   * (DNS rebinding) sends its own name and is refused `403`.
   */
  readonly allowedHost?: (hostname: string) => boolean;
  /** Injected for tests. */
  readonly now?: () => Date;
}

/** The host name of a Host header (`h:port`, `[::1]:port`), lower case, without a trailing dot; undefined if malformed. */
export const hostnameOf = (host: string): string | undefined => {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::\d{1,5})?$/i.exec(host.trim());
  return m?.[1]?.toLowerCase().replace(/\.$/, '');
};

// ---------------------------------------------------------------------------
// Route matching
// ---------------------------------------------------------------------------

export type RouteMatch =
  | { readonly kind: 'route'; readonly route: ServerRoute; readonly pathParameters: Record<string, string> }
  | { readonly kind: 'method-not-allowed'; readonly allow: readonly string[] }
  | { readonly kind: 'none' };

const safeDecode = (value: string): string => {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
};

/** Matches one route path against a request path; returns its path parameters or undefined. */
export const matchPath = (pattern: string, path: string): Record<string, string> | undefined => {
  const want = pattern.split('/');
  const got = path.split('/');
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    const greedy = /^\{([^}]+)\+\}$/.exec(w);
    if (greedy && i === want.length - 1) {
      const rest = got.slice(i).join('/');
      if (rest === '') return undefined;
      params[greedy[1] as string] = safeDecode(rest);
      return params;
    }
    const g = got[i];
    if (g === undefined) return undefined;
    const param = /^\{([^}]+)\}$/.exec(w);
    if (param) {
      if (g === '') return undefined;
      params[param[1] as string] = safeDecode(g);
    } else if (w !== g) return undefined;
  }
  return got.length === want.length ? params : undefined;
};

/** Finds the route of a request, or the methods its path accepts. Exact paths win over templated ones. */
export const matchRoute = (routes: readonly ServerRoute[], method: string, path: string): RouteMatch => {
  const byPath = routes
    .map((route) => ({ route, params: matchPath(route.path, path) }))
    .filter((m): m is { route: ServerRoute; params: Record<string, string> } => m.params !== undefined)
    .sort((a, b) => Object.keys(a.params).length - Object.keys(b.params).length);
  if (byPath.length === 0) return { kind: 'none' };
  const hit = byPath.find((m) => m.route.method === method || m.route.method === 'ANY');
  if (hit) return { kind: 'route', route: hit.route, pathParameters: hit.params };
  return { kind: 'method-not-allowed', allow: [...new Set(byPath.map((m) => m.route.method))].sort() };
};

/**
 * An optional capability of a mount: `owns(path)` false means "not mine", so the
 * request falls through to the 404 JSON answer. Lets the catch-all mount (prefix "")
 * serve its pages without turning every unknown path into one of its own 404s.
 */
export interface PathOwner {
  owns?(path: string): boolean;
}

/** The mount serving a path: longest matching prefix, then the catch-all mount (prefix ""), if it owns the path. */
export const selectMount = <M extends Pick<LocalMount, 'prefix'> & PathOwner>(
  mounts: readonly M[],
  path: string,
): M | undefined => {
  const owns = (m: M) => typeof m.owns !== 'function' || m.owns(path);
  let best: M | undefined;
  for (const m of mounts) {
    if (m.prefix === '') continue;
    if ((path === m.prefix || path.startsWith(`${m.prefix}/`)) && (!best || m.prefix.length > best.prefix.length))
      best = m;
  }
  if (best) return owns(best) ? best : undefined;
  const fallback = mounts.find((m) => m.prefix === '');
  return fallback && owns(fallback) ? fallback : undefined;
};

// ---------------------------------------------------------------------------
// Request → API Gateway v2 event
// ---------------------------------------------------------------------------

/** What the server knows of a request once its body is read. */
export interface RawRequest {
  readonly method: string;
  /** Path as sent (still percent-encoded), starting with "/". */
  readonly rawPath: string;
  /** Query string as sent, without "?". */
  readonly rawQueryString: string;
  /** Node's `rawHeaders`: name, value, name, value, … */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  readonly sourceIp: string;
  readonly httpVersion: string;
  readonly localPort?: number;
}

export interface EventContext {
  readonly routeKey: string;
  readonly pathParameters?: Readonly<Record<string, string>>;
  readonly requestId: string;
  readonly now: Date;
  readonly accountId?: string;
  readonly apiId?: string;
}

/**
 * Content types whose bodies API Gateway HTTP APIs pass as text; every other
 * body (including form posts and bodies without a content type) arrives
 * base64-encoded with isBase64Encoded: true.
 */
export const isTextContentType = (contentType: string | undefined): boolean => {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return (
    type.startsWith('text/') ||
    type === 'application/json' ||
    type === 'application/xml' ||
    type === 'application/javascript'
  );
};

/** Sets an own property even for names like `__proto__` (plain assignment would drop or misuse them). */
const setOwn = (target: Record<string, string>, name: string, value: string): void => {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
};

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number): string => String(n).padStart(2, '0');

/** API Gateway's `requestContext.time`, e.g. `12/Mar/2020:19:03:58 +0000`. */
export const apiGatewayTime = (d: Date): string =>
  `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;

/** An id shaped like API Gateway's (`JKJaXmPLvHcESHA=`). */
export const newRequestId = (): string => randomBytes(10).toString('base64');

/** Lower-cased headers, repeated headers joined by commas, and the cookies split out. */
export const collectHeaders = (
  rawHeaders: readonly string[],
): { headers: Record<string, string>; cookies: string[] } => {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const value = rawHeaders[i + 1] as string;
    if (name === 'cookie') {
      for (const c of value.split(';')) {
        const t = c.trim();
        if (t !== '') cookies.push(t);
      }
      continue;
    }
    setOwn(headers, name, Object.hasOwn(headers, name) ? `${headers[name]},${value}` : value);
  }
  return { headers, cookies };
};

/** queryStringParameters as API Gateway builds them: decoded, repeated values comma-joined. */
export const queryParameters = (rawQueryString: string): Record<string, string> | undefined => {
  if (rawQueryString === '') return undefined;
  const out: Record<string, string> = {};
  for (const pair of rawQueryString.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = safeDecode(eq < 0 ? pair : pair.slice(0, eq));
    const value = safeDecode(eq < 0 ? '' : pair.slice(eq + 1));
    setOwn(out, name, Object.hasOwn(out, name) ? `${out[name]},${value}` : value);
  }
  return Object.keys(out).length > 0 ? out : undefined;
};

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/** An X-Ray trace header as API Gateway sends it: `Root=1-<epoch seconds, hex>-<96 random bits, hex>`. */
export const traceId = (now: Date): string =>
  `Root=1-${Math.floor(now.getTime() / 1000)
    .toString(16)
    .padStart(8, '0')}-${randomBytes(12).toString('hex')}`;

/** Builds the API Gateway HTTP API (payload 2.0) event of a request. */
export const toApiGatewayEvent = (req: RawRequest, ctx: EventContext): APIGatewayProxyEventV2 => {
  const { headers, cookies } = collectHeaders(req.rawHeaders);
  // Hop-by-hop headers end at the gateway; the function sees the body's final length instead.
  for (const name of HOP_BY_HOP) delete headers[name];
  // What API Gateway adds on its way to the function.
  headers['x-amzn-trace-id'] = traceId(ctx.now);
  const forwarded = Object.hasOwn(headers, 'x-forwarded-for') ? headers['x-forwarded-for'] : undefined;
  headers['x-forwarded-for'] = forwarded ? `${forwarded}, ${req.sourceIp}` : req.sourceIp;
  headers['x-forwarded-port'] = String(req.localPort ?? 80);
  headers['x-forwarded-proto'] = 'http';
  if (req.body.length > 0) headers['content-length'] = String(req.body.length);
  const host = headers.host ?? '127.0.0.1';
  const domainName = host.replace(/:\d+$/, '');
  const query = queryParameters(req.rawQueryString);
  const text = isTextContentType(headers['content-type']);
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: ctx.routeKey,
    rawPath: req.rawPath,
    rawQueryString: req.rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(query ? { queryStringParameters: query } : {}),
    ...(ctx.pathParameters && Object.keys(ctx.pathParameters).length > 0
      ? { pathParameters: { ...ctx.pathParameters } }
      : {}),
    requestContext: {
      accountId: ctx.accountId ?? LOCAL_ACCOUNT_ID,
      apiId: ctx.apiId ?? LOCAL_API_ID,
      domainName,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      http: {
        method: req.method,
        path: safeDecode(req.rawPath),
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: ctx.requestId,
      routeKey: ctx.routeKey,
      stage: '$default',
      time: apiGatewayTime(ctx.now),
      timeEpoch: ctx.now.getTime(),
    },
    ...(req.body.length > 0 ? { body: text ? req.body.toString('utf8') : req.body.toString('base64') } : {}),
    isBase64Encoded: req.body.length > 0 && !text,
  };
  return event;
};

/** A fake Lambda context for one invocation of `functionName`. */
export const lambdaContext = (functionName: string, timeoutMs: number, requestId = randomUUID()): Context => {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION ?? 'us-east-1'}:${LOCAL_ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]local`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};

// ---------------------------------------------------------------------------
// Lambda result → HTTP response
// ---------------------------------------------------------------------------

export interface HttpResponse {
  readonly statusCode: number;
  /** Header name → values (several values become several header lines). */
  readonly headers: Readonly<Record<string, readonly string[]>>;
  readonly body: Buffer;
}

/** A response with our JSON error shape, `{"error":{status, code, message}}`. */
export const errorResponse = (
  statusCode: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): HttpResponse => ({
  statusCode,
  headers: {
    'content-type': ['application/json; charset=utf-8'],
    'cache-control': ['no-store'],
    'x-content-type-options': ['nosniff'],
    ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), [v]])),
  },
  body: Buffer.from(JSON.stringify({ error: { status: statusCode, code, message } })),
});

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const headerValue = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;

/** Thrown for a result API Gateway could not turn into a response (it answers 500 then). */
export class InvalidResultError extends Error {
  override readonly name = 'InvalidResultError';
}

/**
 * Maps a handler's return value to a response as API Gateway does for payload 2.0:
 * an object with `statusCode` is a structured result (headers, multiValueHeaders,
 * cookies → Set-Cookie, base64 bodies); anything else is inferred as
 * 200 application/json with the value as body (a string as is, other values as JSON).
 */
export const fromLambdaResult = (result: unknown): HttpResponse => {
  if (!isRecord(result) || !('statusCode' in result)) {
    const body = typeof result === 'string' ? result : (JSON.stringify(result) ?? 'null');
    return { statusCode: 200, headers: { 'content-type': ['application/json'] }, body: Buffer.from(body) };
  }
  const statusCode = typeof result.statusCode === 'string' ? Number(result.statusCode) : result.statusCode;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    throw new InvalidResultError(`statusCode ${String(result.statusCode)} is not an HTTP status`);
  }
  const headers: Record<string, string[]> = Object.create(null);
  const add = (name: string, value: unknown) => {
    const v = headerValue(value);
    if (v === undefined) return;
    if (/[\r\n]/.test(v) || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new InvalidResultError(`header ${JSON.stringify(name)} is not valid`);
    }
    const key = name.toLowerCase();
    headers[key] = [...(Object.hasOwn(headers, key) ? (headers[key] as string[]) : []), v];
  };
  if (result.headers !== undefined && !isRecord(result.headers))
    throw new InvalidResultError('headers must be an object');
  for (const [k, v] of Object.entries(result.headers ?? {})) add(k, v);
  if (isRecord(result.multiValueHeaders)) {
    for (const [k, vs] of Object.entries(result.multiValueHeaders)) {
      if (Array.isArray(vs)) for (const v of vs) add(k, v);
    }
  }
  if (result.cookies !== undefined) {
    if (!Array.isArray(result.cookies)) throw new InvalidResultError('cookies must be an array');
    for (const c of result.cookies) add('set-cookie', c);
  }
  let body: Buffer;
  if (result.body === undefined || result.body === null) body = Buffer.alloc(0);
  else if (typeof result.body !== 'string') throw new InvalidResultError('body must be a string');
  else body = result.isBase64Encoded === true ? Buffer.from(result.body, 'base64') : Buffer.from(result.body, 'utf8');
  return { statusCode, headers, body };
};

// ---------------------------------------------------------------------------
// Request log
// ---------------------------------------------------------------------------

const MAX_LOGGED_PATH = 200;

/** A path segment that looks like a generated id (a sign-in's interaction id): letters and digits, 16 or more. */
const GENERATED_ID = /^(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{16,}$/;

/**
 * The request log's line, e.g. `GET /demo/tasks/1 200 3ms`. Only the method and
 * the path are taken from the request: never the query string (codes, states,
 * tokens travel there), headers or cookies. The path is cut at `?` and `#`,
 * stripped of control characters, a segment shaped like a generated id (the
 * local IdP's interaction ids, which its cookie also holds) shown as `:id`, and
 * shortened to 200 characters.
 */
export const requestLogLine = (method: string, url: string, status: number, ms: number, aborted = false): string => {
  const path = (url.split(/[?#]/, 1)[0] ?? '')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
    .replace(/[\u0000-\u001f\u007f\s]/g, '')
    .split('/')
    .map((segment) => (GENERATED_ID.test(segment) ? ':id' : segment))
    .join('/')
    .slice(0, MAX_LOGGED_PATH);
  const verb = /^[A-Z]{1,16}$/.test(method) ? method : 'OTHER';
  return `${verb} ${path || '/'} ${status} ${Math.round(ms)}ms${aborted ? ' (client went away)' : ''}`;
};

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

const send = (res: ServerResponse, response: HttpResponse, method: string, close = false): void => {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  const headers: Record<string, string | string[]> = {};
  for (const [k, vs] of Object.entries(response.headers)) headers[k] = vs.length === 1 ? (vs[0] as string) : [...vs];
  const noBody =
    method === 'HEAD' || response.statusCode === 204 || response.statusCode === 304 || response.statusCode < 200;
  if (!noBody) headers['content-length'] = String(response.body.length);
  if (close) headers.connection = 'close';
  res.writeHead(response.statusCode, headers);
  res.end(noBody ? undefined : response.body);
};

const splitTarget = (url: string): { rawPath: string; rawQueryString: string } | undefined => {
  let target = url;
  if (!target.startsWith('/')) {
    // Absolute form (a proxy-style request line): keep only path and query.
    if (!/^https?:\/\//i.test(target)) return undefined;
    try {
      const u = new URL(target);
      target = `${u.pathname}${u.search}`;
    } catch {
      return undefined;
    }
  }
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const rawQueryString = q < 0 ? '' : target.slice(q + 1).replace(/#.*$/, '');
  return { rawPath: rawPath.replace(/#.*$/, ''), rawQueryString };
};

const timeout = (ms: number): { promise: Promise<never>; cancel: () => void } => {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new IntegrationTimeoutError()), ms);
    timer.unref();
  });
  return { promise, cancel: () => clearTimeout(timer) };
};

class IntegrationTimeoutError extends Error {}

export interface LocalServer {
  readonly server: Server;
  /** Listens on host:port (0 = OS-assigned) and returns the port. */
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting connections and closes the open ones. */
  close(): Promise<void>;
}

/** Creates (but does not start) the local API Gateway stand-in. */
export const createLocalServer = (options: LocalServerOptions): LocalServer => {
  const maxBody = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const integrationTimeout = options.integrationTimeoutMs ?? DEFAULT_INTEGRATION_TIMEOUT_MS;
  const now = options.now ?? (() => new Date());
  const report =
    options.onError ??
    ((message: string, error: unknown) => {
      console.error(`[local-server] ${message}`, error);
    });

  const invoke = async (
    req: IncomingMessage,
    res: ServerResponse,
    route: ServerRoute,
    pathParameters: Record<string, string>,
    target: { rawPath: string; rawQueryString: string },
  ) => {
    const method = req.method ?? 'GET';
    const handler = options.handlerFor(route.handler);
    if (!handler) {
      send(res, errorResponse(503, 'starting', 'The service is starting; try again shortly'), method);
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req, maxBody);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        send(res, errorResponse(413, 'payload_too_large', `Request body larger than ${maxBody} bytes`), method, true);
        // Stop reading what is left of an oversized upload.
        res.once('finish', () => req.destroy());
        return;
      }
      throw error;
    }
    const requestId = newRequestId();
    const routeKey = `${route.method} ${route.path}`;
    const event = toApiGatewayEvent(
      {
        method,
        rawPath: target.rawPath,
        rawQueryString: target.rawQueryString,
        rawHeaders: req.rawHeaders,
        body,
        sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
        httpVersion: req.httpVersion,
        ...(req.socket.localPort !== undefined ? { localPort: req.socket.localPort } : {}),
      },
      { routeKey, pathParameters, requestId, now: now() },
    );
    const context = lambdaContext(`notion-link-preview-local-${route.handler}`, integrationTimeout);
    const limit = timeout(integrationTimeout);
    let result: unknown;
    try {
      result = await Promise.race([Promise.resolve().then(() => handler(event, context)), limit.promise]);
    } catch (error) {
      if (error instanceof IntegrationTimeoutError) {
        report(`${routeKey} did not answer within ${integrationTimeout} ms`, error);
        send(res, errorResponse(504, 'gateway_timeout', 'The handler did not answer in time'), method);
        return;
      }
      report(`${routeKey} threw`, error);
      send(res, errorResponse(500, 'internal_error', 'Internal error'), method);
      return;
    } finally {
      limit.cancel();
    }
    let response: HttpResponse;
    try {
      response = fromLambdaResult(result);
    } catch (error) {
      report(`${routeKey} returned a result API Gateway would reject`, error);
      response = errorResponse(500, 'internal_error', 'Internal error');
    }
    send(res, response, method);
  };

  const healthz = async (res: ServerResponse, method: string) => {
    const state = options.health ? await options.health() : { status: 'up' as const, parts: { http: 'up' as const } };
    send(
      res,
      {
        statusCode: state.status === 'up' ? 200 : 503,
        headers: { 'content-type': ['application/json; charset=utf-8'], 'cache-control': ['no-store'] },
        body: Buffer.from(JSON.stringify(state)),
      },
      method,
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();
    const target = splitTarget(req.url ?? '/');
    if (!target) {
      send(res, errorResponse(400, 'bad_request', 'Malformed request target'), method, true);
      return;
    }
    // A browser always names the host; a request without one (HTTP/1.0 tools) is no page of another site.
    const host = req.headers.host;
    if (options.allowedHost && host !== undefined) {
      const name = hostnameOf(host);
      if (name === undefined || !options.allowedHost(name)) {
        const message =
          'This local server answers requests addressed to 127.0.0.1, localhost or the host of PUBLIC_BASE_URL only';
        send(res, errorResponse(403, 'host_not_allowed', message), method, true);
        return;
      }
    }
    if (target.rawPath === '/healthz') {
      if (method === 'GET' || method === 'HEAD') await healthz(res, method);
      else
        send(
          res,
          errorResponse(405, 'method_not_allowed', 'Method not allowed; use GET', { allow: 'GET, HEAD' }),
          method,
        );
      return;
    }
    // Browsers ask every origin for an icon; the local pages have none, and a 404 per page view is noise.
    if (target.rawPath === '/favicon.ico' && (method === 'GET' || method === 'HEAD')) {
      send(
        res,
        { statusCode: 204, headers: { 'cache-control': ['public, max-age=86400'] }, body: Buffer.alloc(0) },
        method,
      );
      return;
    }
    const match = matchRoute(options.routes, method, target.rawPath);
    if (match.kind === 'route') {
      await invoke(req, res, match.route, match.pathParameters, target);
      return;
    }
    if (match.kind === 'method-not-allowed') {
      const allow = match.allow.join(', ');
      send(res, errorResponse(405, 'method_not_allowed', `Method not allowed; use ${allow}`, { allow }), method);
      return;
    }
    const mount = selectMount(options.mounts?.() ?? [], target.rawPath);
    if (mount) {
      await mount.handle(req, res);
      return;
    }
    if (options.starting?.()) {
      send(res, errorResponse(503, 'starting', 'The service is starting; try again shortly'), method);
      return;
    }
    send(res, errorResponse(404, 'not_found', `No route for ${method} ${target.rawPath}`), method);
  };

  const requestLog = options.requestLog;
  const server = createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => {
    if (requestLog) {
      const started = performance.now();
      // The path as the client asked for it: a mount may rewrite req.url (the /idp mount strips its prefix).
      const requested = req.url ?? '/';
      res.once('close', () => {
        const line = requestLogLine(
          (req.method ?? 'GET').toUpperCase(),
          splitTarget(requested)?.rawPath ?? '/',
          res.statusCode,
          performance.now() - started,
          !res.writableFinished,
        );
        try {
          requestLog(line);
        } catch {
          // A failing logger never fails a request.
        }
      });
    }
    handle(req, res).catch((error: unknown) => {
      // A client that went away before its body arrived is no failure of ours: the request log says "aborted".
      const clientGone = req.destroyed && (error as Error | undefined)?.message === 'aborted';
      // The path only: a query string may carry codes or tokens.
      if (!clientGone) report(`request ${req.method} ${splitTarget(req.url ?? '/')?.rawPath ?? '/'} failed`, error);
      if (!res.headersSent)
        send(res, errorResponse(500, 'internal_error', 'Internal error'), req.method ?? 'GET', true);
      else res.destroy();
    });
  });
  // Malformed requests never reach the handler: answer them, then drop the connection.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const [status, text, code] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'header_too_large']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout', 'request_timeout']
          : [400, 'Bad Request', 'bad_request'];
    const body = JSON.stringify({ error: { status, code, message: text } });
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });

  return {
    server,
    listen: (port, host = '127.0.0.1') =>
      new Promise((resolve, reject) => {
        const onError = (error: Error) => reject(error);
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          resolve((server.address() as AddressInfo).port);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => resolve());
        server.closeIdleConnections();
        // Give in-flight responses a moment, then cut what is left (long polls, keep-alive).
        setTimeout(() => server.closeAllConnections(), 1_000).unref();
      }),
  };
};

/**
 * Serves Lambda handlers directly on 127.0.0.1 (port 0 = OS-assigned), e.g. one
 * handler in a test or a benchmark: `const s = await serveHandlers([{ method: 'POST', path: '/unfurl', handler }])`.
 */
export const serveHandlers = async (
  routes: ReadonlyArray<{ readonly method: string; readonly path: string; readonly handler: LambdaHttpHandler }>,
  options: Omit<LocalServerOptions, 'routes' | 'handlerFor'> & { readonly port?: number } = {},
): Promise<{ readonly baseUrl: string; close(): Promise<void> }> => {
  const named = routes.map((r, i) => ({ method: r.method, path: r.path, handler: `handler-${i}` }));
  const byName = new Map<string, LambdaHttpHandler>(routes.map((r, i) => [`handler-${i}`, r.handler]));
  const local = createLocalServer({ ...options, routes: named, handlerFor: (name) => byName.get(name) });
  const port = await local.listen(options.port ?? 0);
  return { baseUrl: `http://127.0.0.1:${port}`, close: () => local.close() };
};
