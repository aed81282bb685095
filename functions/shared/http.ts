/**
 * The middy stack every API handler shares, and response helpers.
 *
 *   header normaliser → request parsing (query, cookies) → the route's credentials, if
 *   it has any → body (JSON/form) → handler → error mapper (AppError → its body in the
 *   route's mode; anything else → generic 500)
 *
 * A handler receives a parsed `HttpRequest` and returns an API Gateway v2
 * structured result. It never sees a raw event and never builds an error body.
 */
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { parseCookies } from './cookies.js';
import {
  AppError,
  BadRequestError,
  oauthDescription,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from './errors.js';
import { flushMetrics, logger } from './observability.js';
import { isPlainName } from './redact.js';

export type HttpResult = APIGatewayProxyStructuredResultV2 & { statusCode: number };

/** `raw`: the body is left unparsed (the route reads `rawBody` itself, e.g. to verify a signature first). */
export type BodyKind = 'json' | 'form' | 'empty' | 'raw';

export interface HttpRequest {
  readonly method: string;
  readonly path: string;
  readonly routeKey: string;
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  /** Names of query parameters that appeared more than once (OAuth forbids repeats). */
  readonly repeatedQuery: readonly string[];
  readonly cookies: Readonly<Record<string, string>>;
  readonly bodyKind: BodyKind;
  /** Parsed JSON value, or a string map for form bodies, or undefined when empty. */
  readonly body: unknown;
  readonly rawBody: string;
  readonly sourceIp: string;
  readonly requestId: string;
}

/** A request before its body is read. */
export type HttpRequestHead = Omit<HttpRequest, 'bodyKind' | 'body' | 'rawBody'>;

/**
 * Credentials checked before anything about the body is looked at, its size included (RFC 6750 §3.1: a request
 * without a valid token is answered 401, whatever its body; `/changes` verifies its signature first the same
 * way). `check` throws for missing or bad credentials and returns what the route receives; it should do no
 * I/O the route would not do anyway. `confirm` runs only when the body is about to be refused: the rest of the
 * check (e.g. the connection read the route would have made), so that only a caller whose credentials pass
 * in full learns what is wrong with its body.
 */
export interface Authentication<A> {
  readonly check: (request: HttpRequestHead) => Promise<A>;
  readonly confirm?: (credentials: A) => Promise<void>;
}

export interface HttpHandlerOptions<A = undefined> {
  /** Credentials checked before the body (default: none; the route checks what it needs). */
  readonly authenticate?: Authentication<A>;
  /** Body encodings this route accepts (default: json and empty). */
  readonly accept?: readonly BodyKind[];
  /** Maximum body size in bytes (default 64 KiB). */
  readonly maxBodyBytes?: number;
  /**
   * The form parameters the route reads. When given, only a repeat of one of them is refused; any other
   * name is ignored, repeated or not (RFC 6749 §3.1: unrecognized parameters are ignored). Default: every
   * repeat is refused.
   */
  readonly formParameters?: readonly string[];
  /** How errors are answered (default: JSON); a function picks the mode per request (one handler, two routes). */
  readonly errors?: ErrorMode | ((event: APIGatewayProxyEventV2) => ErrorMode);
}

const DEFAULT_MAX_BODY = 64 * 1024;

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', ...SECURITY_HEADERS, ...headers },
  body: JSON.stringify(body),
});

export const html = (statusCode: number, body: string, headers: Record<string, string> = {}): HttpResult => ({
  statusCode,
  headers: {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy':
      "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    'x-frame-options': 'DENY',
    'cache-control': 'no-store',
    ...SECURITY_HEADERS,
    ...headers,
  },
  body,
});

/** A 302 to a URL the caller has already validated. */
/** A redirect: 302 Found, or 303 See Other to answer a POST whose form must not be sent on (RFC 9110 §15.4.4). */
export const redirect = (
  location: string,
  headers: Record<string, string> = {},
  cookies: string[] = [],
  statusCode: 302 | 303 = 302,
): HttpResult => ({
  statusCode,
  headers: { location, 'cache-control': 'no-store', ...SECURITY_HEADERS, ...headers },
  ...(cookies.length > 0 ? { cookies } : {}),
  body: '',
});

export const empty = (statusCode = 200, headers: Record<string, string> = {}): HttpResult => ({
  statusCode,
  headers: { ...SECURITY_HEADERS, ...headers },
  body: '',
});

/**
 * Adds one parameter to `into`. A parameter sent without a value counts as omitted (RFC 6749 §3.1): an empty
 * copy repeats nothing, and a value replaces an empty copy. True when it repeats a value already there.
 */
const addParameter = (into: Record<string, string>, name: string, value: string): boolean => {
  if (!Object.hasOwn(into, name) || into[name] === '') {
    into[name] = value;
    return false;
  }
  return value !== '';
};

const parseQuery = (event: APIGatewayProxyEventV2): { query: Record<string, string>; repeated: string[] } => {
  // Prototype-less, so that a parameter named `constructor` or `toString` is just a parameter.
  const query: Record<string, string> = Object.create(null);
  const repeated = new Set<string>();
  if (event.rawQueryString) {
    for (const [k, v] of new URLSearchParams(event.rawQueryString)) if (addParameter(query, k, v)) repeated.add(k);
  } else {
    // API Gateway joins repeated values with commas in queryStringParameters.
    for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) if (v !== undefined) query[k] = v;
  }
  return { query, repeated: [...repeated] };
};

const parseBody = (
  event: APIGatewayProxyEventV2,
  headers: Record<string, string>,
  accept: readonly BodyKind[],
  maxBytes: number,
  formParameters?: readonly string[],
): { kind: BodyKind; body: unknown; raw: string } => {
  let raw = event.body ?? '';
  if (event.isBase64Encoded && raw) {
    // Measured before it is decoded: an oversized body is refused without a copy of it.
    if (Buffer.byteLength(raw, 'base64') > maxBytes) throw new PayloadTooLargeError(maxBytes);
    raw = Buffer.from(raw, 'base64').toString('utf8');
  }
  if (Buffer.byteLength(raw, 'utf8') > maxBytes) throw new PayloadTooLargeError(maxBytes);
  if (accept.includes('raw')) return { kind: 'raw', body: undefined, raw };
  const contentType = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (raw.trim() === '') {
    if (accept.includes('empty')) return { kind: 'empty', body: undefined, raw };
    throw new BadRequestError('Request body is required');
  }
  const isJson = contentType === 'application/json' || contentType.endsWith('+json');
  const isForm = contentType === 'application/x-www-form-urlencoded';
  if (isJson && accept.includes('json')) {
    try {
      return { kind: 'json', body: JSON.parse(raw), raw };
    } catch {
      throw new BadRequestError('Request body is not valid JSON', 'invalid_json');
    }
  }
  if (isForm && accept.includes('form')) {
    const form: Record<string, string> = Object.create(null);
    for (const [k, v] of new URLSearchParams(raw)) {
      if (!addParameter(form, k, v)) continue;
      if (formParameters !== undefined && !formParameters.includes(k)) continue;
      // The name is the client's input (a JSON body sent as a form makes its text, tokens included, a name).
      const which = isPlainName(k) ? `Parameter "${k}"` : 'A parameter';
      throw new BadRequestError(`${which} must not be repeated`, 'invalid_request');
    }
    return { kind: 'form', body: form, raw };
  }
  // No content type but a body that looks like JSON: accept it when JSON is allowed (lenient for callbacks).
  if (contentType === '' && accept.includes('json')) {
    try {
      return { kind: 'json', body: JSON.parse(raw), raw };
    } catch {
      /* fall through */
    }
  }
  const expected = accept
    .filter((k) => k !== 'empty')
    .map((k) => (k === 'json' ? 'application/json' : 'application/x-www-form-urlencoded'));
  throw new UnsupportedMediaTypeError(expected.join(' or ') || 'empty');
};

const toRequestHead = (event: APIGatewayProxyEventV2): HttpRequestHead => {
  // Prototype-less, like the query: a header named `constructor` or `__proto__` is just a header.
  const headers: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(event.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;
  const { query, repeated } = parseQuery(event);
  return {
    method: event.requestContext?.http?.method ?? 'GET',
    path: event.rawPath ?? event.requestContext?.http?.path ?? '/',
    routeKey: event.routeKey ?? `${event.requestContext?.http?.method} ${event.rawPath}`,
    headers,
    query,
    repeatedQuery: repeated,
    cookies: parseCookies(event.cookies ?? event.headers?.cookie),
    sourceIp: event.requestContext?.http?.sourceIp ?? '',
    requestId: event.requestContext?.requestId ?? '',
  };
};

const withBody = <A>(
  event: APIGatewayProxyEventV2,
  head: HttpRequestHead,
  options: HttpHandlerOptions<A>,
): HttpRequest => {
  const accept = options.accept ?? ['json', 'empty'];
  const { kind, body, raw } = parseBody(
    event,
    head.headers,
    accept,
    options.maxBodyBytes ?? DEFAULT_MAX_BODY,
    options.formParameters,
  );
  return { ...head, bodyKind: kind, body, rawBody: raw };
};

/** Builds the request a handler sees from a raw API Gateway v2 event (exported for tests and the local server). */
export const toHttpRequest = <A>(event: APIGatewayProxyEventV2, options: HttpHandlerOptions<A> = {}): HttpRequest =>
  withBody(event, toRequestHead(event), options);

/** Names of the errors AWS services raise when they throttle a caller (DynamoDB, SQS, KMS, Secrets Manager). */
const THROTTLING_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'LimitExceededException',
]);

/** True when a dependency throttled the request even after the SDK's own retries: worth retrying shortly. */
export const isThrottling = (error: unknown): boolean =>
  error instanceof Error &&
  (THROTTLING_ERRORS.has(error.name) ||
    (error as { $retryable?: { throttling?: boolean } }).$retryable?.throttling === true);

/** Seconds a caller is asked to wait after a throttled dependency. */
export const THROTTLED_RETRY_AFTER = '1';

/**
 * How a route answers errors: the one error mapper below serves every route, in one of four modes.
 *
 * - `json`: `{"error": {status, code, message}}` (AppError.toBody()).
 * - `oauth`: RFC 6749 §5.2 `{"error", "error_description"}`; a client error that is not already an OAuth
 *   error (wrong media type, repeated parameter, size) is `invalid_request` 400; every answer carries
 *   `headers` (the token endpoint's no-store headers).
 * - `html`: a browser page rendered by `page(title, message)`.
 * - `acknowledge`: a callback that answers 200 to any request it cannot read (no oracle, nothing to
 *   retry), except 405; a failure of the service itself (storage, keys, secrets) answers 503 with
 *   Retry-After, so that the caller retries instead of taking it as done.
 */
export type ErrorMode =
  | { readonly kind: 'json' }
  | {
      readonly kind: 'oauth';
      readonly headers: Readonly<Record<string, string>>;
      /** Called with the OAuth error code of every error answer (metrics). */
      readonly onError?: (code: string) => void;
    }
  | { readonly kind: 'html'; readonly page: (title: string, message: string) => string }
  | {
      readonly kind: 'acknowledge';
      /** Called when a failure of ours answers 503 (metrics): `throttled` or `failed`. */
      readonly onNotProcessed?: (reason: 'throttled' | 'failed') => void;
    };

const JSON_ERRORS: ErrorMode = { kind: 'json' };

/** An RFC 6749 error body, as OAuth errors' toBody() returns. */
const isOAuthBody = (body: unknown): body is { error: string } =>
  typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string';

const BUSY_MESSAGE = 'The service is busy; try again shortly';

/** Descriptions of requests the shared stack refuses before the route sees them, by status. */
const PARSE_DESCRIPTIONS: ReadonlyMap<number, string> = new Map([
  [400, 'The request is malformed (a parameter is repeated, or the body cannot be read)'],
  [413, 'The request body is too large'],
  [415, 'The body must be application/x-www-form-urlencoded'],
]);

/**
 * The one builder of OAuth error bodies: a description outside RFC 6749's character set is replaced by
 * a fixed one, so that no answer carries a quote, a backslash or a control character.
 */
const oauthBody = (error: string, description: unknown): { error: string; error_description: string } => ({
  error,
  error_description: oauthDescription(description),
});

const busy = (mode: ErrorMode): HttpResult => {
  const retry = { 'retry-after': THROTTLED_RETRY_AFTER };
  switch (mode.kind) {
    case 'oauth':
      mode.onError?.('temporarily_unavailable');
      return json(
        503,
        { error: 'temporarily_unavailable', error_description: BUSY_MESSAGE },
        { ...mode.headers, ...retry },
      );
    case 'html':
      return html(503, mode.page('Busy', 'The service is busy right now. Please try again in a moment.'), retry);
    default:
      return json(503, { error: { status: 503, code: 'temporarily_unavailable', message: BUSY_MESSAGE } }, retry);
  }
};

/** The answer to a client error in the route's mode, and the error code it gives (logged with its status). */
const rejected = (error: AppError, mode: ErrorMode): { readonly result: HttpResult; readonly code: string } => {
  switch (mode.kind) {
    case 'oauth': {
      const body = error.toBody();
      if (isOAuthBody(body)) {
        mode.onError?.(body.error);
        const description = (body as { error_description?: unknown }).error_description;
        const headers = { ...mode.headers, ...error.headers };
        return { result: json(error.statusCode, oauthBody(body.error, description), headers), code: body.error };
      }
      // A request the shared stack could not parse: a fixed description, never the client's input.
      mode.onError?.('invalid_request');
      const description = PARSE_DESCRIPTIONS.get(error.statusCode);
      return {
        result: json(400, oauthBody('invalid_request', description), { ...mode.headers }),
        code: 'invalid_request',
      };
    }
    case 'html':
      return {
        result: html(error.statusCode, mode.page('Request not accepted', error.message), { ...error.headers }),
        code: error.code,
      };
    case 'acknowledge':
      // Answered 200 (no oracle); the line keeps the error's code, which says why nothing was done.
      if (error.statusCode !== 405) return { result: empty(200), code: error.code };
      return { result: json(error.statusCode, error.toBody(), { ...error.headers }), code: error.code };
    default:
      return { result: json(error.statusCode, error.toBody(), { ...error.headers }), code: error.code };
  }
};

const failed = (mode: ErrorMode): HttpResult => {
  switch (mode.kind) {
    case 'oauth':
      mode.onError?.('server_error');
      return json(500, oauthBody('server_error', 'Internal error'), { ...mode.headers });
    case 'html':
      return html(
        500,
        mode.page('Something went wrong', 'The request could not be completed. Please start again from Notion.'),
      );
    case 'acknowledge':
      // A callback whose work failed on our side is not acknowledged: 503 asks the caller to retry.
      mode.onNotProcessed?.('failed');
      return json(
        503,
        { error: { status: 503, code: 'temporarily_unavailable', message: 'Not processed; try again shortly' } },
        { 'retry-after': THROTTLED_RETRY_AFTER },
      );
    default:
      return json(500, { error: { status: 500, code: 'internal_error', message: 'Internal error' } });
  }
};

/**
 * The one error mapper: any thrown value to a response in the route's mode. A throttled dependency is a
 * 503 with Retry-After; an AppError under 500 is the caller's mistake (logged at INFO); anything else is
 * a generic 500 that reveals nothing (logged at ERROR).
 */
export const errorToResult = (error: unknown, mode: ErrorMode = JSON_ERRORS): HttpResult => {
  if (isThrottling(error)) {
    if (mode.kind === 'acknowledge') {
      // Not processed: the caller retries; an operator hears of it (ERROR, metric).
      logger.error('callback not processed: a dependency throttled', { dependencyError: (error as Error).name });
      mode.onNotProcessed?.('throttled');
    } else logger.warn('dependency throttled', { dependencyError: (error as Error).name });
    return busy(mode);
  }
  if (error instanceof AppError && error.statusCode < 500) {
    // The status and code this route answered (its mode may answer a 415 as 400 invalid_request, or as 200).
    const { result, code } = rejected(error, mode);
    logger.info('request rejected', { status: result.statusCode, code, reason: error.message });
    return result;
  }
  if (error instanceof AppError) {
    logger.error('request failed', { code: error.code, error });
    if (mode.kind === 'json') return json(error.statusCode, error.toBody(), { ...error.headers });
    return failed(mode);
  }
  logger.error('unexpected error', { error: error as Error });
  return failed(mode);
};

/** A route: the parsed request, the Lambda context, and what `authenticate.check` returned (if the route has it). */
export type RouteFunction<A = undefined> = (
  request: HttpRequest,
  context: Context,
  credentials: A,
) => Promise<HttpResult>;

/** Wraps a route function in the shared middy stack. */
export const httpHandler = <A = undefined>(fn: RouteFunction<A>, options: HttpHandlerOptions<A> = {}) =>
  middy<APIGatewayProxyEventV2, HttpResult>()
    .use(httpHeaderNormalizer())
    .use({
      onError: async (request) => {
        const { errors } = options;
        request.response = errorToResult(request.error, typeof errors === 'function' ? errors(request.event) : errors);
        flushMetrics(); // what the error mapper counted (the handler's own flush ran before)
      },
    })
    .handler(async (event, context) => {
      // Correlation id: API Gateway's request id (also in the access log as $context.requestId). Set before
      // parsing, so a rejected body is logged with it too; the keys stay until the next request replaces them.
      const requestId = event.requestContext?.requestId ?? '';
      const route = event.routeKey ?? `${event.requestContext?.http?.method} ${event.rawPath}`;
      logger.appendKeys({ requestId, route, correlation_id: requestId });
      if (context?.functionName) logger.addContext(context); // function_name, function_request_id, cold_start, …
      try {
        const head = toRequestHead(event);
        const { authenticate } = options;
        const credentials = (authenticate ? await authenticate.check(head) : undefined) as A;
        let request: HttpRequest;
        try {
          request = withBody(event, head, options);
        } catch (error) {
          if (authenticate?.confirm) await authenticate.confirm(credentials);
          throw error;
        }
        return await fn(request, context, credentials);
      } finally {
        flushMetrics();
      }
    });
