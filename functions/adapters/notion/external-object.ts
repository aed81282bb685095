/**
 * `PATCH {NOTION_API_BASE_URL}/v1/external/object` (docs/protocol.md §5.1):
 * pushes the full attribute list of one previewed uri with the subscriber's
 * Notion token and the configured `Notion-Version`.
 *
 * Every outcome is returned as an answer (status, Notion's error `code`,
 * `rate_limit_reason`, `Retry-After`); timeouts and network failures too. The
 * decision what to do with it lives in #core/updates/classify.js.
 */
import type { NotionAnswer } from '#core/updates/classify.js';
import type { ExternalObjectApi, ExternalObjectUpdate } from '#core/updates/ports.js';
import { readBoundedText } from '#shared/bounded-body.js';
import type { Config } from '#shared/config.js';

/** Notion's request timeout is 60 s; ours is shorter so a worker invocation never waits that long. */
export const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_ERROR_BODY = 64 * 1024;
/** The longest of Notion's `code`, `request_id` and `rate_limit_reason` kept: they go to logs, the delivery log and dead letters. */
const MAX_FIELD = 200;

export interface ExternalObjectClientOptions {
  /** e.g. https://api.notion.com or http://127.0.0.1:3000/notion */
  readonly baseUrl: string;
  readonly notionVersion: string;
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/** Parses `Retry-After`: delay-seconds or an HTTP date. */
export const parseRetryAfter = (value: string | null, nowMs: number): number | undefined => {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - nowMs) / 1000);
};

/** Notion's error body's `additional_data.retry_after` (a string of seconds, or a number), when it carries one. */
export const bodyRetryAfter = (body: unknown): number | undefined => {
  if (body === null || typeof body !== 'object') return undefined;
  const retry = (body as { additional_data?: { retry_after?: unknown } }).additional_data?.retry_after;
  if (typeof retry === 'number' && Number.isFinite(retry) && retry >= 0) return retry;
  return typeof retry === 'string' && /^\d+(\.\d+)?$/.test(retry) ? Number(retry) : undefined;
};

const errorFields = (
  body: unknown,
): Pick<NotionAnswer & { kind: 'response' }, 'code' | 'message' | 'rateLimitReason' | 'requestId'> & {
  retryAfter?: number;
} => {
  if (body === null || typeof body !== 'object') return {};
  const o = body as Record<string, unknown>;
  const additional = (o.additional_data ?? {}) as Record<string, unknown>;
  const retryAfter = bodyRetryAfter(body);
  // Notion's error object, or the RFC 6749 shape some endpoints use.
  const code = typeof o.code === 'string' ? o.code : typeof o.error === 'string' ? o.error : undefined;
  const message =
    typeof o.message === 'string'
      ? o.message
      : typeof o.error_description === 'string'
        ? o.error_description
        : undefined;
  return {
    ...(code !== undefined ? { code: code.slice(0, MAX_FIELD) } : {}),
    ...(message !== undefined ? { message: message.slice(0, 500) } : {}),
    ...(typeof additional.rate_limit_reason === 'string'
      ? { rateLimitReason: additional.rate_limit_reason.slice(0, MAX_FIELD) }
      : {}),
    ...(typeof o.request_id === 'string' ? { requestId: o.request_id.slice(0, MAX_FIELD) } : {}),
    ...(retryAfter !== undefined ? { retryAfter } : {}),
  };
};

export const createExternalObjectClient = (options: ExternalObjectClientOptions): ExternalObjectApi => {
  const url = `${options.baseUrl.replace(/\/+$/, '')}/v1/external/object`;
  const fetchFn = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    async patch(notionToken: string, update: ExternalObjectUpdate): Promise<NotionAnswer> {
      let response: Response;
      try {
        response = await fetchFn(url, {
          method: 'PATCH',
          headers: {
            authorization: `Bearer ${notionToken}`,
            'content-type': 'application/json',
            accept: 'application/json',
            'notion-version': options.notionVersion,
          },
          body: JSON.stringify(update),
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        const name = (error as { name?: string } | null)?.name;
        if (name === 'TimeoutError' || name === 'AbortError') return { kind: 'timeout' };
        return { kind: 'network', message: (error as Error)?.message?.slice(0, 200) ?? 'fetch failed' };
      }
      let body: unknown;
      let unread: string | undefined;
      try {
        const read = await readBoundedText(response, MAX_ERROR_BODY);
        body = read.kind === 'text' && read.text.length > 0 ? JSON.parse(read.text) : undefined;
      } catch (error) {
        const name = (error as { name?: string } | null)?.name;
        // The status is Notion's answer: a 2xx means it accepted the update, whether or not its body arrives in
        // time (reporting a timeout would release the push and send the same content again). Said in `message`.
        if (name === 'TimeoutError' || name === 'AbortError') unread = `answer's body not read: ${name}`;
        body = undefined;
      }
      const fields = response.ok ? {} : errorFields(body);
      const header = parseRetryAfter(response.headers.get('retry-after'), Date.now());
      const retryAfterSeconds = header ?? fields.retryAfter;
      const { retryAfter: _ignored, ...rest } = fields;
      return {
        kind: 'response',
        status: response.status,
        ...rest,
        ...(unread !== undefined ? { message: unread } : {}),
        ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      };
    },
  };
};

/** The client for this configuration (NOTION_API_BASE_URL, NOTION_VERSION, NOTION_TIMEOUT_MS). */
export const externalObjectClientFromConfig = (config: Config, fetchFn?: typeof fetch): ExternalObjectApi =>
  createExternalObjectClient({
    baseUrl: config.notion.apiBaseUrl,
    notionVersion: config.notion.version,
    // The worker's refresh claim and its time check count on this timeout (functions/handlers/update-worker.ts).
    timeoutMs: config.notion.timeoutMs,
    ...(fetchFn ? { fetch: fetchFn } : {}),
  });
