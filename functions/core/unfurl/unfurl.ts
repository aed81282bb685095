/**
 * The unfurl callback as one use case (docs/protocol.md §3 and docs/protocol.md#decisions).
 *
 * Authorization comes before any work: the Bearer token's signature, type,
 * issuer, audience and expiry (`bearerClaims`, checked by the caller before
 * the body is read), then the connection it names (active, same generation,
 * subject and client), read once. Only then is the source asked
 * or a subscription written. That one read also fetches the stamp of the
 * connection's subscription to the uri, when a rule matched (docs/adr/0065).
 *
 *  - A uri that matches no rule: error operation 404, and nothing is fetched.
 *  - found: the attributes; the (connection, uri) subscription is recorded
 *    with its content hash and a snapshot of what was sent, unless the read
 *    showed it already holds this content, recently confirmed.
 *  - not_found / gone / forbidden: error operation 404 / 410 / 403 with a
 *    fixed message (nothing about the resource), and any earlier subscription
 *    of this connection to the uri is removed along with its snapshot.
 *  - needs_auth: error operation 401 asking the user to reconnect.
 *  - the source fails or misses its deadline: the last snapshot, marked with
 *    its age (stale-while-revalidate); without a snapshot, "unavailable".
 */
import { type AccessTokenClaims, type AccessTokenSettings, checkConnection } from '#core/oauth/access-token.js';
import type { Clock, Connection, StampRead, SubscriptionStore, UnfurlReads } from '#core/ports.js';
import type { SourceAdapter, UpstreamCredentials } from '#core/sources/source-adapter.js';
import {
  attributesBody,
  ERROR_MESSAGES,
  errorBody,
  snapshotAttributes,
  staleAttributes,
  type UnfurlAnswer,
} from './answers.js';
import { validateAttributes } from './attributes.js';
import { isAbsent, isRecorded, UNKNOWN_STAMP } from './reads.js';
import { failureReason, type RenderResult, renderResource } from './render.js';
import { matchUri, type RuleMatch, type UnfurlIntegration } from './rules.js';

// The update worker takes the fixed error messages from here.
export { ERROR_MESSAGES } from './answers.js';

/** What answering an authorized unfurl needs. */
export interface UnfurlAnswerDependencies {
  readonly integration: UnfurlIntegration;
  readonly adapter: SourceAdapter;
  readonly subscriptions: Pick<SubscriptionStore, 'upsert' | 'get' | 'delete'>;
  readonly clock: Clock;
  readonly devName: string;
  readonly deadlineMs: number;
  /**
   * A found unfurl whose content matches the stored subscription, confirmed
   * less than this long ago, does not write it again (docs/adr/0065). 0 or
   * absent: every found unfurl writes.
   */
  readonly snapshotRefreshMs?: number;
  readonly credentialsFor: (connection: Connection) => UpstreamCredentials;
  /** Notified of what happened, for logs and metrics (never given attribute content). */
  readonly observe?: (event: string, details: Readonly<Record<string, unknown>>) => void;
}

/** The whole use case's ports: the answer's, plus the token settings and the connection read. */
export interface UnfurlDependencies extends UnfurlAnswerDependencies {
  /** The connection (token check) and the uri's subscription stamp, in one request. */
  readonly reads: UnfurlReads;
  readonly tokens: AccessTokenSettings;
}

export interface UnfurlRequest {
  /** The Bearer token's claims, verified before the body was read (`bearerClaims`); the connection is checked here. */
  readonly claims: AccessTokenClaims;
  /** The uri of the body; undefined when the body is not a valid `{"uri"}` (answered once authorized). */
  readonly uri: string | undefined;
}

/** The answer, with the id of the connection it was given for (for the logs). */
export type UnfurlResult =
  | (UnfurlAnswer & { readonly connectionId: string })
  | { readonly outcome: 'invalid_request'; readonly connectionId: string };

/**
 * Authorizes the request, then answers it. Throws InvalidTokenError (401)
 * when the token's connection is revoked, ended or of another generation,
 * before any source call or write; a bad body after a good token is
 * `invalid_request`.
 */
export const unfurl = async (request: UnfurlRequest, deps: UnfurlDependencies): Promise<UnfurlResult> => {
  const { claims } = request;
  const match = request.uri === undefined ? undefined : matchUri(deps.integration, request.uri);
  const key = match && { resourceKey: match.resourceKey, connectionId: claims.connectionId, uri: match.uri };
  const read = await deps.reads.read(claims.connectionId, key);
  const connection = checkConnection(claims, read.connection);
  if (request.uri === undefined) return { outcome: 'invalid_request', connectionId: connection.id };
  const answer = await answerUnfurl(deps, connection, request.uri, read.stored, match);
  return { ...answer, connectionId: connection.id };
};

/**
 * Answers `uri` for a connection whose token has been checked. `stored` is
 * what the read showed of the subscription (unknown: a found answer writes).
 */
export const answerUnfurl = async (
  deps: UnfurlAnswerDependencies,
  connection: Connection,
  uri: string,
  stored: StampRead = UNKNOWN_STAMP,
  match: RuleMatch | undefined = matchUri(deps.integration, uri),
): Promise<UnfurlAnswer> => {
  const observe = deps.observe ?? (() => undefined);
  if (!match) {
    observe('unfurl.no_rule', {});
    return { outcome: 'no_rule', body: errorBody(uri, ERROR_MESSAGES.no_rule) };
  }
  const key = { resourceKey: match.resourceKey, connectionId: connection.id, uri };
  let rendered: RenderResult;
  try {
    rendered = await renderResource(
      deps.adapter,
      match,
      { subject: connection.subject, displayName: connection.displayName, connectionId: connection.id },
      deps.credentialsFor(connection),
      { devName: deps.devName, deadlineMs: deps.deadlineMs, clock: deps.clock },
    );
  } catch (error) {
    return serveSnapshot(deps, key, failureReason(error), observe);
  }

  const now = deps.clock.now();
  switch (rendered.outcome) {
    case 'found':
      if (isRecorded(stored, rendered.contentHash, now, deps.snapshotRefreshMs ?? 0)) {
        observe('unfurl.found', { rule: match.rule.name, unchanged: true });
        return { outcome: 'found', body: attributesBody(uri, rendered.attributes) };
      }
      await deps.subscriptions.upsert({
        ...key,
        workspaceId: connection.notion.workspaceId,
        contentHash: rendered.contentHash,
        // As text: the JSON already made for the hash; a nested map costs more to marshal and store.
        snapshot: rendered.json,
        snapshotAt: now,
        createdAt: now,
        updatedAt: now,
      });
      observe('unfurl.found', { rule: match.rule.name });
      return { outcome: 'found', body: attributesBody(uri, rendered.attributes) };
    case 'needs_auth':
      observe('unfurl.needs_auth', { rule: match.rule.name });
      return { outcome: 'needs_auth', body: errorBody(uri, ERROR_MESSAGES.needs_auth) };
    default:
      // The user may no longer see it (or it is gone): forget what we stored for them.
      if (!isAbsent(stored)) await deps.subscriptions.delete(key.resourceKey, key.connectionId, key.uri);
      observe(`unfurl.${rendered.outcome}`, { rule: match.rule.name });
      return { outcome: rendered.outcome, body: errorBody(uri, ERROR_MESSAGES[rendered.outcome]) };
  }
};

const serveSnapshot = async (
  deps: UnfurlAnswerDependencies,
  key: { resourceKey: string; connectionId: string; uri: string },
  reason: string,
  observe: NonNullable<UnfurlAnswerDependencies['observe']>,
): Promise<UnfurlAnswer> => {
  const previous = await deps.subscriptions.get(key.resourceKey, key.connectionId, key.uri);
  const snapshot = snapshotAttributes(previous?.snapshot);
  const checked = snapshot === undefined ? undefined : validateAttributes(snapshot);
  if (!previous || !checked?.ok) {
    observe('unfurl.unavailable', { reason });
    return { outcome: 'unavailable', reason };
  }
  const age = deps.clock.now() - (previous.snapshotAt ?? previous.updatedAt);
  observe('unfurl.stale', { reason, ageMs: age });
  return { outcome: 'stale', body: attributesBody(key.uri, staleAttributes(checked.attributes, age)), reason };
};
