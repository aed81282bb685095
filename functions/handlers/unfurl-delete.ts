/**
 * Route handler: unfurl-delete (see lib/routes.ts).
 *
 *  DELETE /unfurl                  Bearer; uri from the JSON body or the query → subscription removed; 200, empty body.
 *  DELETE|POST /deleted-token      JSON, form or empty body; tokens from the Bearer header or
 *                                  access_token / refresh_token / token → connection revoked; always 200.
 */

import { connectionEndings } from '#adapters/config/connection-endings.js';
import { accessTokenSettings } from '#adapters/config/oauth-settings.js';
import { connectionStore, subscriptionStore } from '#adapters/dynamo/factory.js';
import { loadSecret } from '#adapters/oidc/secrets.js';
import { authenticateBearer, parseBearer } from '#core/oauth/access-token.js';
import { type DeleteDependencies, removeSubscription, revokeByTokens } from '#core/unfurl/delete.js';
import type { Config } from '#shared/config.js';
import { BadRequestError, MethodNotAllowedError, NotFoundError } from '#shared/errors.js';
import { empty, type HttpRequest, httpHandler } from '#shared/http.js';
import { countMetric, logger, METRIC } from '#shared/observability.js';
import * as z from '#shared/zod.js';

const uriSchema = z.string().check(z.minLength(1), z.maxLength(8192));

const stringField = (body: unknown, name: string): string | undefined => {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const v = (body as Record<string, unknown>)[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
};

/** Fields of the deleted-token callback whose values are logged as they are (its shape is undocumented). */
const PLAIN_FIELDS = new Set(['uri', 'type', 'event', 'reason', 'workspace_id', 'bot_id', 'user_id']);

/**
 * What arrived, for the log: field names that look like names, and for other
 * values only their kind and length. A JSON body sent as a form turns into a
 * field whose *name* (and value) is raw JSON text, tokens included, which no
 * key-based redaction would catch.
 */
const loggable = (fields: unknown): unknown => {
  if (fields === null || typeof fields !== 'object') return typeof fields;
  if (Array.isArray(fields)) return `array of ${fields.length}`;
  // fromEntries keeps a field named `__proto__` as a field (an assignment would set the prototype).
  return Object.fromEntries(
    Object.entries(fields as Record<string, unknown>).map(([k, v]) => {
      const readable = /^[\w.-]{1,64}$/.test(k);
      const name = readable ? k : `[a field name of ${k.length} characters]`;
      if (readable && PLAIN_FIELDS.has(k) && (typeof v !== 'string' || v.length <= 2048)) return [name, v];
      return [name, typeof v === 'string' ? `string(${v.length})` : Array.isArray(v) ? 'array' : typeof v];
    }),
  );
};

const deleteUnfurl = async (request: HttpRequest, deps: DeleteDependencies) => {
  const connection = await authenticateBearer(request.headers.authorization, deps);
  const uri = uriSchema.safeParse(stringField(request.body, 'uri') ?? request.query.uri);
  if (!uri.success) throw new BadRequestError('uri is required (JSON body or query string)', 'invalid_request');
  const removed = await removeSubscription(deps, connection, uri.data);
  logger.info('unfurl deleted', { connectionId: connection.id, removed });
  return empty(200);
};

const deletedToken = async (request: HttpRequest, deps: DeleteDependencies) => {
  const body = request.body;
  logger.info('deleted-token callback', {
    method: request.method,
    contentType: request.headers['content-type'] ?? '',
    bodyKind: request.bodyKind,
    bearer: request.headers.authorization !== undefined,
    // Secret-named fields and token-looking strings are redacted by the logger.
    body: loggable(body),
    query: loggable(request.query),
  });
  const report = await revokeByTokens(deps, {
    bearer: parseBearer(request.headers.authorization),
    accessToken: stringField(body, 'access_token'),
    refreshToken: stringField(body, 'refresh_token'),
    token: stringField(body, 'token'),
  });
  logger.info('deleted-token callback handled', {
    connections: report.connectionIds,
    subscriptionsRemoved: report.subscriptionsRemoved,
  });
  return empty(200);
};

export const createUnfurlDeleteHandler = (deps: () => DeleteDependencies) =>
  httpHandler(
    async (request) => {
      if (request.path === '/unfurl') {
        if (request.method !== 'DELETE') throw new MethodNotAllowedError(['DELETE']);
        return deleteUnfurl(request, deps());
      }
      if (request.path === '/deleted-token') {
        if (request.method !== 'DELETE' && request.method !== 'POST')
          throw new MethodNotAllowedError(['DELETE', 'POST']);
        return deletedToken(request, deps());
      }
      throw new NotFoundError();
    },
    {
      accept: ['json', 'form', 'empty'],
      maxBodyBytes: 16 * 1024,
      // The deleted-token callback answers 200 to anything it cannot read (no oracle, nothing to retry).
      // A failure of ours answers 503 so that Notion retries, counted (CallbackNotProcessed) and logged at ERROR.
      errors: (event) =>
        event.rawPath === '/deleted-token'
          ? {
              kind: 'acknowledge',
              onNotProcessed: (reason) =>
                countMetric(METRIC.callbackNotProcessed, { callback: 'deleted-token', reason }),
            }
          : { kind: 'json' },
    },
  );

/** The delete callbacks' ports as a deployment configures them. */
export const deleteDependencies = (config: Config): DeleteDependencies => ({
  connections: connectionStore(config),
  subscriptions: subscriptionStore(config),
  tokens: accessTokenSettings(config, loadSecret),
  clock: { now: () => Date.now() },
  endings: connectionEndings(config),
});
