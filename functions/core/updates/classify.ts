/**
 * What to do with Notion's answer to `PATCH /v1/external/object`
 * (docs/protocol.md §5.1, §6.3, §6.4 and docs/protocol.md#decisions). Pure: the worker acts on
 * the decision.
 */

/** Notion's answer as the HTTP client saw it. */
export type NotionAnswer =
  | {
      readonly kind: 'response';
      readonly status: number;
      /** `code` of Notion's error object, when the body was one. */
      readonly code?: string;
      readonly message?: string;
      /** `additional_data.rate_limit_reason` of a 429. */
      readonly rateLimitReason?: string;
      /** From the `Retry-After` header, or the body's `additional_data.retry_after`. */
      readonly retryAfterSeconds?: number;
      readonly requestId?: string;
    }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'network'; readonly message: string };

export type RateLimitScope = 'connection' | 'workspace' | 'endpoint' | 'unknown';

export type PushDecision =
  /** 2xx: record the pushed content. */
  | { readonly action: 'done' }
  /** 401: the Notion token is no longer valid: the connection is disconnected, its subscriptions removed. */
  | { readonly action: 'disconnect'; readonly code: string }
  /** 404: Notion has no preview for this uri any more: drop the subscription. */
  | { readonly action: 'drop'; readonly code: string }
  /** 400 and other final 4xx: record, do not retry. */
  | { readonly action: 'reject'; readonly status: number; readonly code: string; readonly message: string }
  /** 429 `public_api_request_blocked`: access restricted; record, do not retry. */
  | { readonly action: 'blocked'; readonly code: string }
  /** 429 / 529: wait at least `delayMs` (Retry-After, at most 15 min), then push again (through the queue, never by sleeping). */
  | {
      readonly action: 'retry-after';
      readonly delayMs: number;
      readonly scope: RateLimitScope;
      readonly overload: boolean;
    }
  /**
   * 5xx, 409, timeouts, network errors: retry with backoff, then the dead-letter queue. When the answer
   * carried `Retry-After` (a 503 may), the retry waits at least `retryAfterMs`: the later of our backoff
   * and Notion's hint, capped at SQS's largest delay.
   */
  | { readonly action: 'backoff'; readonly reason: string; readonly retryAfterMs?: number };

/** Used when a 429 carries no Retry-After (Notion's per-connection window is 60 s). */
export const DEFAULT_RATE_LIMIT_RETRY_MS = 60_000;
/** Used when a 529 carries no Retry-After. */
export const DEFAULT_OVERLOAD_RETRY_MS = 10_000;

const scopeOf = (reason: string | undefined): RateLimitScope => {
  switch (reason) {
    case 'public_api_request_rate_limit':
      return 'connection';
    case 'public_api_space_request_rate_limit':
      return 'workspace';
    case 'public_api_endpoint_rate_limit':
      return 'endpoint';
    default:
      return 'unknown';
  }
};

/** The shortest wait after a 429 or 529: a Retry-After of 0, or a date already past, is not an invitation to hammer. */
export const MIN_RETRY_AFTER_MS = 1_000;

/** SQS's largest message delay (15 min): a wait beyond it cannot be expressed in one delayed message. */
export const MAX_RETRY_DELAY_MS = 900_000;

/**
 * Notion's `Retry-After` (a header or the body's `retry_after`, a value from the network) in ms: at least
 * MIN_RETRY_AFTER_MS and at most MAX_RETRY_DELAY_MS. A longer hint is not stored as a pause of the connection
 * or its workspace: the push is tried again after 15 min, and a run of 429s still ends in the dead-letter queue.
 */
const retryMs = <F extends number | undefined>(seconds: number | undefined, fallback: F): number | F =>
  seconds !== undefined && Number.isFinite(seconds) && seconds >= 0
    ? Math.min(MAX_RETRY_DELAY_MS, Math.max(MIN_RETRY_AFTER_MS, Math.ceil(seconds * 1000)))
    : fallback;

/** A `Retry-After` in seconds as a wait in ms, bounded as a PATCH's is; undefined when there is none. */
export const retryAfterMs = (seconds: number | undefined): number | undefined => retryMs(seconds, undefined);

export const classifyAnswer = (answer: NotionAnswer): PushDecision => {
  if (answer.kind === 'timeout') return { action: 'backoff', reason: 'timeout' };
  if (answer.kind === 'network') return { action: 'backoff', reason: 'network_error' };
  const { status } = answer;
  const code = answer.code ?? `http_${status}`;
  if (status >= 200 && status < 300) return { action: 'done' };
  if (status === 429 || answer.code === 'rate_limited') {
    if (answer.rateLimitReason === 'public_api_request_blocked')
      return { action: 'blocked', code: answer.rateLimitReason };
    return {
      action: 'retry-after',
      delayMs: retryMs(answer.retryAfterSeconds, DEFAULT_RATE_LIMIT_RETRY_MS),
      scope: scopeOf(answer.rateLimitReason),
      overload: false,
    };
  }
  if (status === 529) {
    return {
      action: 'retry-after',
      delayMs: retryMs(answer.retryAfterSeconds, DEFAULT_OVERLOAD_RETRY_MS),
      scope: 'unknown',
      overload: true,
    };
  }
  if (status === 401) return { action: 'disconnect', code };
  if (status === 404) return { action: 'drop', code };
  if (status === 408 || status === 409 || status === 425 || status >= 500) {
    // A documented header is a hint a well-behaved client honours (RFC 9110 §10.2.3): never earlier than it.
    const hinted = retryAfterMs(answer.retryAfterSeconds);
    return { action: 'backoff', reason: code, ...(hinted === undefined ? {} : { retryAfterMs: hinted }) };
  }
  // 400 validation_error / invalid_json / missing_version, 403 restricted_resource, and any other 4xx.
  return { action: 'reject', status, code, message: (answer.message ?? '').slice(0, 500) };
};

/**
 * Backoff before transient retry number `attempt` (1-based): 5 s doubling up
 * to 15 min (SQS's largest delay), with "equal jitter" from `random01`.
 */
export const backoffMs = (attempt: number, random01: number, baseMs = 5_000, capMs = MAX_RETRY_DELAY_MS): number => {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (exp / 2) * Math.min(1, Math.max(0, random01)));
};
