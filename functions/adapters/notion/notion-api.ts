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
 */

import type { NotionOAuthApi, NotionTokenGrant } from '#core/oauth/ports.js';
import { NotionExchangeError } from '#core/oauth/ports.js';
import { ENV } from '#lib/env-names.js';
import type { Config } from '#shared/config.js';
import { need } from '#shared/config.js';
import { countMetric, METRIC } from '#shared/observability.js';
import * as z from '#shared/zod.js';

export interface NotionApiOptions {
  /** e.g. https://api.notion.com (no trailing slash, no /v1). */
  readonly baseUrl: string;
  readonly version: string;
  readonly timeoutMs: number;
  /** Our integration's OAuth credentials at Notion (resolved lazily: a secret in AWS). */
  readonly credentials: () => Promise<{ readonly clientId: string; readonly clientSecret: string }>;
  readonly fetch?: typeof fetch;
}

const tokenResponse = z.object({
  access_token: z.string().check(z.minLength(1)),
  refresh_token: z.nullish(z.string().check(z.minLength(1))),
  bot_id: z.string().check(z.minLength(1)),
  workspace_id: z.string().check(z.minLength(1)),
  workspace_name: z.nullish(z.string()),
  workspace_icon: z.nullish(z.string()),
});

const notionError = z.object({
  object: z.literal('error'),
  status: z.optional(z.number()),
  code: z.string(),
  message: z.optional(z.string()),
});
const oauthError = z.object({ error: z.string(), error_description: z.optional(z.string()) });

/** Reads an error body of either shape; returns its code (never the message, which may echo input). */
export const errorCodeOf = (body: unknown): string | undefined => {
  const n = notionError.safeParse(body);
  if (n.success) return n.data.code;
  const o = oauthError.safeParse(body);
  return o.success ? o.data.error : undefined;
};

const basic = (id: string, secret: string): string =>
  `Basic ${Buffer.from(`${id}:${secret}`, 'utf8').toString('base64')}`;

export const createNotionApi = (options: NotionApiOptions): NotionOAuthApi => {
  const doFetch = options.fetch ?? fetch;
  return {
    async exchangeCode({ code, externalAccount }): Promise<NotionTokenGrant> {
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
          body: JSON.stringify({ grant_type: 'authorization_code', code, external_account: externalAccount }),
          redirect: 'error',
          signal: AbortSignal.timeout(options.timeoutMs),
        });
        const text = await response.text();
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          body = undefined;
        }
      } catch (error) {
        const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
        countMetric(METRIC.notionResponse, { operation: 'oauth_token', status: timedOut ? 'timeout' : 'network' });
        throw new NotionExchangeError(
          'unavailable',
          timedOut ? 'Notion did not answer in time' : 'Notion could not be reached',
        );
      }
      countMetric(METRIC.notionResponse, { operation: 'oauth_token', status: String(response.status) });
      if (!response.ok) {
        const status = response.status;
        const errorCode = errorCodeOf(body);
        const details = errorCode === undefined ? { status } : { status, code: errorCode };
        if (status === 429 || status >= 500)
          throw new NotionExchangeError('unavailable', `Notion answered ${status}`, details);
        throw new NotionExchangeError('rejected', `Notion rejected the code exchange (${status})`, details);
      }
      const parsed = tokenResponse.safeParse(body);
      if (!parsed.success)
        throw new NotionExchangeError('unavailable', 'Notion answered with an unexpected token response', {
          status: response.status,
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
): NotionOAuthApi =>
  createNotionApi({
    baseUrl: config.notion.apiBaseUrl,
    version: config.notion.version,
    timeoutMs: config.notion.timeoutMs,
    credentials: notionCredentials(config, loadSecretField),
  });
