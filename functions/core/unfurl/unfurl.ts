/**
 * The unfurl callback's domain logic (docs/protocol.md §3 and docs/protocol.md#decisions).
 *
 *  - A uri that matches no rule: error operation 404, and nothing is fetched.
 *  - found: the attributes; the (connection, uri) subscription is recorded
 *    with its content hash and a snapshot of what was sent.
 *  - not_found / gone / forbidden: error operation 404 / 410 / 403 with a
 *    fixed message (nothing about the resource), and any earlier subscription
 *    of this connection to the uri is removed along with its snapshot.
 *  - needs_auth: error operation 401 asking the user to reconnect.
 *  - the source fails or misses its deadline: the last snapshot, marked with
 *    its age (stale-while-revalidate); without a snapshot, "unavailable".
 */
import type { Clock, Connection, StampRead, SubscriptionKey, SubscriptionStore } from '#core/ports.js';
import {
  type SourceAdapter,
  SourceUnavailableError,
  type UpstreamCredentials,
  type UserIdentity,
} from '#core/sources/source-adapter.js';
import { attr, type UnfurlAttribute, validateAttributes } from './attributes.js';
import { isAbsent, isRecorded, UNKNOWN_STAMP } from './reads.js';
import { type RenderResult, renderResource } from './render.js';
import { matchUri, type RuleMatch, type UnfurlIntegration } from './rules.js';

export interface UnfurlErrorSet {
  readonly status: number;
  readonly message: string;
}

export type UnfurlOperation =
  | { readonly path: readonly ['attributes']; readonly set: readonly UnfurlAttribute[] }
  | { readonly path: readonly ['error']; readonly set: UnfurlErrorSet };

export interface UnfurlResponseBody {
  readonly uri: string;
  readonly operations: readonly UnfurlOperation[];
}

export type UnfurlOutcome =
  | 'found'
  | 'stale'
  | 'no_rule'
  | 'not_found'
  | 'forbidden'
  | 'gone'
  | 'needs_auth'
  | 'unavailable';

export type UnfurlAnswer =
  | { readonly outcome: Exclude<UnfurlOutcome, 'unavailable'>; readonly body: UnfurlResponseBody }
  | { readonly outcome: 'unavailable'; readonly reason: string };

/** The fixed messages of the error operations: they never depend on the resource. */
export const ERROR_MESSAGES = {
  no_rule: { status: 404, message: 'No preview is available for this link' },
  not_found: { status: 404, message: 'Content not found' },
  forbidden: { status: 403, message: 'You do not have access to this content' },
  gone: { status: 410, message: 'This content is no longer available' },
  needs_auth: { status: 401, message: 'Reconnect your account to see this preview' },
} as const satisfies Record<string, UnfurlErrorSet>;

export interface UnfurlDependencies {
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

export const attributesBody = (uri: string, attributes: readonly UnfurlAttribute[]): UnfurlResponseBody => ({
  uri,
  operations: [{ path: ['attributes'], set: attributes }],
});

export const errorBody = (uri: string, error: UnfurlErrorSet): UnfurlResponseBody => ({
  uri,
  operations: [{ path: ['error'], set: { status: error.status, message: error.message } }],
});

/** "12 seconds", "5 minutes", "3 hours", "2 days". */
export const describeAge = (ms: number): string => {
  const s = Math.max(0, Math.floor(ms / 1000));
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (s < 60) return unit(s, 'second');
  if (s < 3600) return unit(Math.floor(s / 60), 'minute');
  if (s < 86400) return unit(Math.floor(s / 3600), 'hour');
  return unit(Math.floor(s / 86400), 'day');
};

/** A snapshot's attributes plus a `freshness` line showing its age. */
export const staleAttributes = (snapshot: readonly UnfurlAttribute[], ageMs: number): UnfurlAttribute[] => [
  ...snapshot.filter((a) => a.id !== 'freshness'),
  attr.plainText(
    'freshness',
    'Freshness',
    `Last updated ${describeAge(ageMs)} ago; the source is not answering right now`,
    'secondary',
  ),
];

/**
 * What an unfurl prepares once the token's signature checks out, before the
 * connection is read: the rule match, which names the subscription to read
 * with the connection (`stored`, filled in by that read: docs/adr/0065), and
 * for an adapter that declares `subjectOnly` a render already under way
 * (docs/adr/0064). Nothing of it counts unless `unfurlUri` is later called
 * for the same uri with a connection of the same id (and, for the render, the
 * same subject).
 */
export interface PreparedUnfurl {
  readonly match: RuleMatch;
  readonly subject: string;
  readonly connectionId: string;
  readonly rendered?: Promise<RenderResult>;
  stored: StampRead;
}

const render = (deps: UnfurlDependencies, match: RuleMatch, identity: UserIdentity, credentials: UpstreamCredentials) =>
  renderResource(deps.adapter, match, identity, credentials, {
    devName: deps.devName,
    deadlineMs: deps.deadlineMs,
    clock: deps.clock,
  });

/**
 * Matches `uri` for the token's (signature-verified) subject and connection
 * and, for a subjectOnly adapter, starts resolving it while the connection is
 * read; undefined when the uri matches no rule. Only uris a rule admits are fetched.
 */
export const prepareUnfurl = (
  deps: UnfurlDependencies,
  uri: string,
  subject: string,
  connectionId: string,
): PreparedUnfurl | undefined => {
  const match = matchUri(deps.integration, uri);
  if (!match) return undefined;
  if (deps.adapter.subjectOnly !== true) return { match, subject, connectionId, stored: UNKNOWN_STAMP };
  const rendered = render(deps, match, { subject, connectionId, displayName: '' }, NO_CREDENTIALS);
  // If the connection check fails nobody awaits it: a failure then is not an unhandled rejection.
  rendered.catch(() => undefined);
  return { match, subject, connectionId, rendered, stored: UNKNOWN_STAMP };
};

/** The subscription a prepared unfurl reads along with the connection. */
export const subscriptionKeyOf = (prepared: PreparedUnfurl): SubscriptionKey => ({
  resourceKey: prepared.match.resourceKey,
  connectionId: prepared.connectionId,
  uri: prepared.match.uri,
});

/** What a subjectOnly adapter is given: it promised never to ask. */
const NO_CREDENTIALS: UpstreamCredentials = {
  accessToken: () => Promise.reject(new Error('a subjectOnly adapter asked for upstream credentials')),
};

export const unfurlUri = async (
  deps: UnfurlDependencies,
  connection: Connection,
  uri: string,
  prepared?: PreparedUnfurl,
): Promise<UnfurlAnswer> => {
  const observe = deps.observe ?? (() => undefined);
  // What was prepared counts only for this very uri and connection; a render only for the same subject too.
  const prep = prepared?.match.uri === uri && prepared.connectionId === connection.id ? prepared : undefined;
  const started = prep?.subject === connection.subject ? prep.rendered : undefined;
  const stored = prep?.stored ?? UNKNOWN_STAMP;
  const match = prep?.match ?? matchUri(deps.integration, uri);
  if (!match) {
    observe('unfurl.no_rule', {});
    return { outcome: 'no_rule', body: errorBody(uri, ERROR_MESSAGES.no_rule) };
  }
  const key = { resourceKey: match.resourceKey, connectionId: connection.id, uri };

  let rendered: RenderResult;
  try {
    rendered = await (started ??
      render(
        deps,
        match,
        { subject: connection.subject, displayName: connection.displayName, connectionId: connection.id },
        deps.credentialsFor(connection),
      ));
  } catch (error) {
    const reason = error instanceof SourceUnavailableError ? error.message : 'source failed';
    return serveSnapshot(deps, key, reason, observe);
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

/**
 * A stored snapshot: the attributes' JSON text (what the unfurl callback
 * writes) or the list itself (what the update worker writes); undefined when unreadable.
 */
export const snapshotAttributes = (stored: unknown): unknown => {
  if (typeof stored !== 'string') return stored;
  try {
    return JSON.parse(stored) as unknown;
  } catch {
    return undefined;
  }
};

const serveSnapshot = async (
  deps: UnfurlDependencies,
  key: { resourceKey: string; connectionId: string; uri: string },
  reason: string,
  observe: NonNullable<UnfurlDependencies['observe']>,
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
  const attributes = staleAttributes(checked.attributes, age);
  return { outcome: 'stale', body: attributesBody(key.uri, attributes) };
};
