/**
 * Route handler: unfurl-delete (see lib/routes.ts).
 *
 *  DELETE /unfurl                  Bearer (checked before the body is read); uri from the JSON body or the
 *                                  query → subscription removed; 200, empty body.
 *  DELETE|POST /deleted-token      JSON, form or empty body; tokens from the Bearer header or
 *                                  access_token / refresh_token / token → connection revoked; always 200.
 */

import { connectionEndings } from '#adapters/config/connection-endings.js';
import { accessTokenSettings } from '#adapters/config/oauth-settings.js';
import { connectionStore, subscriptionStore } from '#adapters/dynamo/factory.js';
import { loadSecret } from '#adapters/oidc/secrets.js';
import { authenticateBearer, parseBearer } from '#core/oauth/access-token.js';
import type { Connection } from '#core/ports.js';
import { type DeleteDependencies, removeSubscription, revokeByTokens } from '#core/unfurl/delete.js';
import type { Config } from '#shared/config.js';
import { BadRequestError, MethodNotAllowedError, NotFoundError } from '#shared/errors.js';
import { empty, type HttpRequest, httpHandler } from '#shared/http.js';
import { countMetric, logger, METRIC } from '#shared/observability.js';
import { isPlainName, redactString } from '#shared/redact.js';
import * as z from '#shared/zod.js';

const uriSchema = z.string().check(z.minLength(1), z.maxLength(8192));

const stringField = (body: unknown, name: string): string | undefined => {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const v = (body as Record<string, unknown>)[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
};

/** An http(s) URL of at most 2,048 characters, without user or password: logged (redacted) as it is. */
const isLoggableUri = (value: string): boolean => {
  if (value.length > 2048 || !URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '';
};
/** Notion's ids: UUIDs, with or without dashes. */
const isNotionId = (value: string): boolean => /^[0-9a-f]{8}-?([0-9a-f]{4}-?){3}[0-9a-f]{12}$/i.test(value);

/**
 * Fields of the deleted-token callback whose values are logged when they have the shape such a field
 * would have (the callback's body is undocumented, docs/protocol.md §8.1): a kind of event is a plain
 * word, an id a UUID, a uri an http(s) URL. Any other value is logged as its kind and length only.
 */
const PLAIN_FIELDS: ReadonlyMap<string, (value: string) => boolean> = new Map([
  ['uri', isLoggableUri],
  ['type', isPlainName],
  ['event', isPlainName],
  ['reason', isPlainName],
  ['workspace_id', isNotionId],
  ['bot_id', isNotionId],
  ['user_id', isNotionId],
]);

/**
 * What arrived, for the log: field names that are plain names, and for other
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
      const readable = isPlainName(k);
      const name = readable ? k : `[a field name of ${k.length} characters]`;
      const plain = readable ? PLAIN_FIELDS.get(k) : undefined;
      if (plain && typeof v === 'string' && plain(v)) return [name, redactString(v)];
      return [name, typeof v === 'string' ? `string(${v.length})` : Array.isArray(v) ? 'array' : typeof v];
    }),
  );
};

const deleteUnfurl = async (request: HttpRequest, deps: DeleteDependencies, connection: Connection) => {
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

/** `DELETE /unfurl` authenticates before its body is read (RFC 6750 §3.1); the deleted-token callback reads tokens from it. */
const isUnfurlDelete = (request: { readonly method: string; readonly path: string }): boolean =>
  request.method === 'DELETE' && request.path === '/unfurl';

export const createUnfurlDeleteHandler = (deps: () => DeleteDependencies) =>
  httpHandler<Connection | undefined>(
    async (request, _context, connection) => {
      if (request.path === '/unfurl') {
        if (!isUnfurlDelete(request) || !connection) throw new MethodNotAllowedError(['DELETE']);
        return deleteUnfurl(request, deps(), connection);
      }
      if (request.path === '/deleted-token') {
        if (request.method !== 'DELETE' && request.method !== 'POST')
          throw new MethodNotAllowedError(['DELETE', 'POST']);
        return deletedToken(request, deps());
      }
      throw new NotFoundError();
    },
    {
      // The connection is read here, once: the route's only read.
      authenticate: {
        check: async (head) =>
          isUnfurlDelete(head) ? authenticateBearer(head.headers.authorization, deps()) : undefined,
      },
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
