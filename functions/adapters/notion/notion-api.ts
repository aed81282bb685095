/**
 * Notion's HTTP API, as far as this service uses it.
 *
 * OAuth code exchange (docs/protocol.md §2.3): `POST {base}/v1/oauth/token`
 * with HTTP Basic (our integration's client id and secret), a JSON body with
 * `grant_type`, `code` and `external_account`, and the `Notion-Version` header.
 * Failures are mapped to NotionExchangeError: `rejected` for a 4xx answer
 * (either error shape of §6.4: Notion's `{object:"error",code,message}` or
 * RFC 6749's `{error,error_description}`), `unavailable` for 429, 5xx, a
 * timeout or a network error.
 *
 * Refresh (docs/protocol.md §6.6, docs/adr/0151): the same endpoint, client
 * and headers with `{"grant_type":"refresh_token","refresh_token":…}`. 400
 * `invalid_grant` and 401 are a refusal; 429, 5xx, any other answer, a
 * timeout or a network error are `unavailable` (try again later).
 */

import type { NotionOAuthApi, NotionRefresh, NotionTokenGrant, NotionTokenRefresher } from '#core/oauth/ports.js';
import { NotionExchangeError } from '#core/oauth/ports.js';
import { ENV } from '#lib/env-names.js';
import { readBoundedText } from '#shared/bounded-body.js';
import type { Config } from '#shared/config.js';
import { need } from '#shared/config.js';
import { countMetric, METRIC } from '#shared/observability.js';
import * as z from '#shared/zod.js';
import { bodyRetryAfter, parseRetryAfter } from './external-object.js';

export interface NotionApiOptions {
  /** e.g. https://api.notion.com (no trailing slash, no /v1). */
  readonly baseUrl: string;
  readonly version: string;
  readonly timeoutMs: number;
  /** Our integration's OAuth credentials at Notion (resolved lazily: a secret in AWS). */
  readonly credentials: () => Promise<{ readonly clientId: string; readonly clientSecret: string }>;
  readonly fetch?: typeof fetch;
}

/**
 * The schemas of Notion's token endpoint answers, built on first use: the update worker, which loads this
 * module for the rare refresh after a 401, never builds them on most cold starts (as the http adapter's
 * mapping schema, ADR 0143).
 */
const buildSchemas = () => ({
  tokenResponse: z.object({
    access_token: z.string().check(z.minLength(1)),
    refresh_token: z.nullish(z.string().check(z.minLength(1))),
    bot_id: z.string().check(z.minLength(1)),
    workspace_id: z.string().check(z.minLength(1)),
    workspace_name: z.nullish(z.string()),
    workspace_icon: z.nullish(z.string()),
  }),
  /** A refresh answer: the new access token, and the rotated refresh token when Notion rotates it. */
  refreshResponse: z.object({
    access_token: z.string().check(z.minLength(1)),
    refresh_token: z.nullish(z.string().check(z.minLength(1))),
  }),
  notionError: z.object({
    object: z.literal('error'),
    status: z.optional(z.number()),
    code: z.string(),
    message: z.optional(z.string()),
  }),
  oauthError: z.object({ error: z.string(), error_description: z.optional(z.string()) }),
});
let built: ReturnType<typeof buildSchemas> | undefined;
const schemas = () => {
  built ??= buildSchemas();
  return built;
};

/** Reads an error body of either shape; returns its code (never the message, which may echo input). */
export const errorCodeOf = (body: unknown): string | undefined => {
  const n = schemas().notionError.safeParse(body);
  if (n.success) return n.data.code;
  const o = schemas().oauthError.safeParse(body);
  return o.success ? o.data.error : undefined;
};

/** The largest answer of the token endpoint read (a token grant is a few hundred bytes). */
const MAX_TOKEN_ANSWER_BYTES = 64 * 1024;

const basic = (id: string, secret: string): string =>
  `Basic ${Buffer.from(`${id}:${secret}`, 'utf8').toString('base64')}`;

/** Notion's answer at its token endpoint: the status and the parsed JSON body (undefined when not JSON). */
interface TokenEndpointAnswer {
  readonly status: number;
  readonly ok: boolean;
  readonly body: unknown;
  /** `Retry-After` in seconds, when the header gave one. */
  readonly retryAfterSeconds?: number;
}

/** How long Notion asks us to wait: its `Retry-After` header, else its error body's `additional_data.retry_after`. */
const retryAfterOf = (answer: TokenEndpointAnswer): number | undefined =>
  answer.retryAfterSeconds ?? bodyRetryAfter(answer.body);

export const createNotionApi = (options: NotionApiOptions): NotionOAuthApi & NotionTokenRefresher => {
  const doFetch = options.fetch ?? fetch;

  /**
   * One `POST /v1/oauth/token`: HTTP Basic with our integration's credentials, a JSON body, the
   * `Notion-Version` header. Counted as NotionResponse by `operation`; no answer at all is `unavailable`.
   */
  const postToken = async (
    grant: Readonly<Record<string, unknown>>,
    operation: 'oauth_token' | 'oauth_refresh',
  ): Promise<TokenEndpointAnswer> => {
    const { clientId, clientSecret } = await options.credentials();
    let response: Response;
    let body: unknown;
    try {
      response = await doFetch(`${options.baseUrl}/v1/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: basic(clientId, clientSecret),
          'content-type': 'application/json',
          accept: 'application/json',
          'notion-version': options.version,
        },
        body: JSON.stringify(grant),
        redirect: 'error',
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      const read = await readBoundedText(response, MAX_TOKEN_ANSWER_BYTES);
      try {
        body = read.kind === 'text' && read.text !== '' ? JSON.parse(read.text) : undefined;
      } catch {
        body = undefined;
      }
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      countMetric(METRIC.notionResponse, { operation, status: timedOut ? 'timeout' : 'network' });
      throw new NotionExchangeError(
        'unavailable',
        timedOut ? 'Notion did not answer in time' : 'Notion could not be reached',
      );
    }
    countMetric(METRIC.notionResponse, { operation, status: String(response.status) });
    const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after'), Date.now());
    return {
      status: response.status,
      ok: response.ok,
      body,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    };
  };

  return {
    async exchangeCode({ code, externalAccount }): Promise<NotionTokenGrant> {
      const answer = await postToken(
        { grant_type: 'authorization_code', code, external_account: externalAccount },
        'oauth_token',
      );
      if (!answer.ok) {
        const { status } = answer;
        const errorCode = errorCodeOf(answer.body);
        const details = errorCode === undefined ? { status } : { status, code: errorCode };
        if (status === 429 || status >= 500)
          throw new NotionExchangeError('unavailable', `Notion answered ${status}`, details);
        throw new NotionExchangeError('rejected', `Notion rejected the code exchange (${status})`, details);
      }
      const parsed = schemas().tokenResponse.safeParse(answer.body);
      if (!parsed.success)
        throw new NotionExchangeError('unavailable', 'Notion answered with an unexpected token response', {
          status: answer.status,
        });
      const t = parsed.data;
      return {
        accessToken: t.access_token,
        refreshToken: t.refresh_token ?? null,
        workspace: {
          workspaceId: t.workspace_id,
          workspaceName: t.workspace_name ?? null,
          workspaceIcon: t.workspace_icon ?? null,
          botId: t.bot_id,
        },
      };
    },

    async refresh(refreshToken: string): Promise<NotionRefresh> {
      const answer = await postToken({ grant_type: 'refresh_token', refresh_token: refreshToken }, 'oauth_refresh');
      const { status } = answer;
      if (!answer.ok) {
        const errorCode = errorCodeOf(answer.body);
        // Refused: the refresh token is no good (400 invalid_grant), or Notion refuses the grant (401).
        if (status === 401 || (status === 400 && errorCode === 'invalid_grant'))
          return { outcome: 'refused', status, ...(errorCode === undefined ? {} : { code: errorCode }) };
        // Anything else says nothing about the refresh token: no answer, try again later (after Retry-After).
        const retryAfterSeconds = status === 429 || status >= 500 ? retryAfterOf(answer) : undefined;
        throw new NotionExchangeError('unavailable', `Notion answered ${status} to the refresh`, {
          status,
          ...(errorCode === undefined ? {} : { code: errorCode }),
          ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
        });
      }
      const parsed = schemas().refreshResponse.safeParse(answer.body);
      if (!parsed.success)
        throw new NotionExchangeError('unavailable', 'Notion answered the refresh with an unexpected token response', {
          status,
        });
      return {
        outcome: 'refreshed',
        accessToken: parsed.data.access_token,
        ...(parsed.data.refresh_token ? { refreshToken: parsed.data.refresh_token } : {}),
      };
    },
  };
};

/**
 * Our integration's credentials: NOTION_CLIENT_ID / NOTION_CLIENT_SECRET as
 * values, or one Secrets Manager secret `{"clientId","clientSecret"}` named by
 * NOTION_CREDENTIALS_SECRET_ARN.
 */
export const notionCredentials =
  (config: Config, loadSecretField: (ref: { secretArn: string }, field: string) => Promise<string>) =>
  async (): Promise<{ clientId: string; clientSecret: string }> => {
    const arn = config.notion.credentialsSecretArn;
    if (arn) {
      const [clientId, clientSecret] = await Promise.all([
        loadSecretField({ secretArn: arn }, 'clientId'),
        loadSecretField({ secretArn: arn }, 'clientSecret'),
      ]);
      return { clientId, clientSecret };
    }
    return {
      clientId: need(config.notion.clientId, ENV.NOTION_CLIENT_ID),
      clientSecret: need(config.notion.clientSecret, ENV.NOTION_CLIENT_SECRET),
    };
  };

export const notionApiFromConfig = (
  config: Config,
  loadSecretField: (ref: { secretArn: string }, field: string) => Promise<string>,
): NotionOAuthApi & NotionTokenRefresher =>
  createNotionApi({
    baseUrl: config.notion.apiBaseUrl,
    version: config.notion.version,
    timeoutMs: config.notion.timeoutMs,
    credentials: notionCredentials(config, loadSecretField),
  });
