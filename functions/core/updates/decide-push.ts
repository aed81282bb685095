/**
 * Whether one subscription is pushed now, and what: the connection must be
 * active and not paused, the subscription still there; the preview is
 * rendered with the subscriber's rights and skipped when its content hash
 * equals the last pushed one; a token from the connection's bucket
 * (docs/adr/0072) admits the request, and one conditional write to the
 * subscription claims the push (lease.ts, docs/adr/0118). Whatever stops the
 * push here is recorded, deferred or retried.
 */
import type { Connection, PushRestore, Subscription, SubscriptionKey } from '#core/ports.js';
import { contentHash } from '#core/unfurl/attributes.js';
import { failureReason } from '#core/unfurl/render.js';
import { type BatchState, connectionOf } from './batch.js';
import { describeError } from './dead-letter.js';
import { defer, retryWithBackoff } from './defer.js';
import { pushLeaseMs, type StepDeps } from './deps.js';
import { holderOf, sameContent } from './lease.js';
import { pushId } from './markers.js';
import type { PushTarget } from './messages.js';
import { connectionBucketKey, connectionPauseKey, workspacePauseKey } from './policy.js';
import type { Rendered } from './ports.js';
import { boundedSnapshot } from './snapshot.js';

/** How long to wait before looking again at a subscription another worker is pushing. */
export const BUSY_RETRY_MS = 5_000;

export type DecideDeps = Pick<
  StepDeps,
  | 'clock'
  | 'random'
  | 'connections'
  | 'subscriptions'
  | 'rateLimits'
  | 'markers'
  | 'renderer'
  | 'bucket'
  | 'settings'
  | 'emit'
  | 'deliveries'
>;

export type Pushable = Exclude<Rendered, { kind: 'skip' }>;

/** A push that goes ahead: its token is taken and the push claimed in the subscription item. */
export interface ReadyPush {
  readonly connection: Connection;
  /** The connection's Notion token, encrypted. */
  readonly tokenCiphertext: string;
  readonly subscription: Subscription;
  readonly rendered: Pushable;
  readonly hash: string;
  /** Id of this push in the delivery's pushed marker. */
  readonly id: string;
  /** The lease value written with the claim. */
  readonly holder: string;
  /** What the item held before the claim, put back when the push does not happen. */
  readonly restore: PushRestore;
}

/** Hash of what a subscriber would see: equal to what the unfurl callback records for the same attributes. */
export const renderedHash = (rendered: Pushable): string =>
  rendered.kind === 'attributes'
    ? contentHash(rendered.attributes)
    : contentHash([{ error: { status: rendered.status, message: rendered.message } }]);

/** Until when the connection (or its workspace) is paused, when it is. */
const pausedUntil = async (
  deps: Pick<StepDeps, 'rateLimits'>,
  state: BatchState,
  connection: Connection,
  now: number,
): Promise<number | undefined> => {
  const own = state.blockedUntil.get(connection.id);
  if (own !== undefined && own > now) return own;
  const wsKey = workspacePauseKey(connection.notion.workspaceId);
  const ws = state.blockedUntil.get(wsKey);
  if (ws !== undefined && ws > now) return ws;
  if (own === undefined) {
    const [wsPause, connPause] = await Promise.all([
      deps.rateLimits.pausedUntil(wsKey, now),
      deps.rateLimits.pausedUntil(connectionPauseKey(connection.id), now),
    ]);
    const until = Math.max(wsPause ?? 0, connPause ?? 0);
    state.blockedUntil.set(connection.id, until);
    if (until > now) return until;
  }
  return undefined;
};

/** One token from the connection's bucket; when denied, the target waits for the next one. */
const takeToken = async (
  deps: Pick<StepDeps, 'rateLimits' | 'bucket' | 'emit'>,
  state: BatchState,
  target: PushTarget,
  at: number,
): Promise<boolean> => {
  const { connectionId } = target;
  const taken = await deps.rateLimits.take(connectionBucketKey(connectionId), deps.bucket, at);
  if (taken.allowed) return true;
  state.blockedUntil.set(connectionId, at + taken.retryAfterMs);
  defer(state, target, taken.retryAfterMs);
  deps.emit('push_throttled', { connectionId, retryAfterMs: taken.retryAfterMs });
  return false;
};

const busy = (deps: Pick<StepDeps, 'emit'>, state: BatchState, resource: string, target: PushTarget): undefined => {
  defer(state, target, BUSY_RETRY_MS);
  deps.emit('push_busy', { resource, connectionId: target.connectionId });
  return undefined;
};

/** Why a push is skipped when the subscriber's upstream login must be renewed (core/updates/render.ts). */
export const UPSTREAM_LOGIN_REQUIRED = 'upstream_login_required';

/** Support reads in the delivery log why nothing reached Notion for this connection. */
const logSkip = async (
  deps: Pick<StepDeps, 'clock' | 'deliveries' | 'emit'>,
  resource: string,
  target: PushTarget,
): Promise<void> => {
  try {
    await deps.deliveries?.record({
      connectionId: target.connectionId,
      at: deps.clock.now(),
      resource,
      uri: target.uri,
      status: 'skipped',
      action: 'needs_reauth',
      code: UPSTREAM_LOGIN_REQUIRED,
      message: "The upstream provider refused the user's refresh token; the user must connect again.",
    });
  } catch (error) {
    deps.emit('delivery_log_failed', { connectionId: target.connectionId, detail: describeError(error) });
  }
};

/**
 * The push of `target` if it goes ahead now, or undefined when it does not
 * (skipped, unchanged, deferred or retried; all recorded). `known` is the
 * subscription when the caller already read it (a page of the fan-out, or a
 * batch read of a `push` message's targets), null when it read it and found none.
 */
export const decidePush = async (
  deps: DecideDeps,
  state: BatchState,
  resource: string,
  target: PushTarget,
  known: Subscription | null | undefined,
): Promise<ReadyPush | undefined> => {
  const { connectionId, uri } = target;
  const connection = await connectionOf(deps.connections, state, connectionId);
  if (connection?.status !== 'active') {
    // An ended (or vanished) connection keeps no subscriptions (ADR 0114): one an unfurl wrote in the instant
    // of the end is removed when a change reaches it.
    const subscription = known === undefined ? await deps.subscriptions.get(resource, connectionId, uri) : known;
    if (subscription) await dropSubscription(deps, resource, target, 'connection_ended');
    return undefined;
  }
  if (connection.notionTokenCiphertext === undefined) {
    deps.emit('push_skipped', { resource, connectionId, reason: 'connection_inactive' });
    return undefined;
  }
  let now = deps.clock.now();
  const paused = await pausedUntil(deps, state, connection, now);
  if (paused !== undefined) {
    defer(state, target, paused - now);
    return undefined;
  }
  const subscription =
    known === null ? undefined : (known ?? (await deps.subscriptions.get(resource, connectionId, uri)));
  if (!subscription) {
    deps.emit('push_skipped', { resource, connectionId, reason: 'subscription_gone' });
    return undefined;
  }

  // Deferred work takes its token first (it is mostly waiting for the bucket); fresh work renders
  // first, so that an unchanged preview spends no token.
  if (state.tokenFirst && !(await takeToken(deps, state, target, now))) return undefined;

  let rendered: Rendered;
  try {
    rendered = await deps.renderer.render({ connection, subscription });
  } catch (error) {
    retryWithBackoff(deps, state, target, 'source_unavailable', failureReason(error));
    return undefined;
  }
  if (rendered.kind === 'skip') {
    deps.emit('push_skipped', { resource, connectionId, reason: rendered.reason });
    if (rendered.reason === UPSTREAM_LOGIN_REQUIRED) await logSkip(deps, resource, target);
    return undefined;
  }
  const hash = renderedHash(rendered);
  const id = pushId(resource, connectionId, uri, hash);
  now = deps.clock.now();
  let takeOverFrom: string | undefined;
  if (subscription.contentHash === hash) {
    const same = await sameContent(deps, state, subscription, id, now);
    if (same.kind === 'unchanged') {
      deps.emit('push_unchanged', { resource, connectionId });
      return undefined;
    }
    if (same.kind === 'busy') return busy(deps, state, resource, target);
    takeOverFrom = same.from;
    deps.emit('push_lease_taken_over', {
      previous: same.previous,
      receiveCount: state.owner.receiveCount,
      ...(same.another ? { holder: same.from } : {}),
    });
  }

  if (!state.tokenFirst && !(await takeToken(deps, state, target, now))) return undefined;
  const holder = holderOf(state);
  const key: SubscriptionKey = { resourceKey: resource, connectionId, uri };
  const claimed = await deps.subscriptions.claimPush(key, {
    contentHash: hash,
    snapshot: rendered.kind === 'attributes' ? (boundedSnapshot(rendered.attributes) ?? null) : null,
    now,
    lease: { holder, until: now + pushLeaseMs(deps.settings) },
    ...(takeOverFrom === undefined ? {} : { takeOverFrom }),
  });
  if (!claimed) return busy(deps, state, resource, target);
  return {
    connection,
    tokenCiphertext: connection.notionTokenCiphertext,
    subscription,
    rendered,
    hash,
    id,
    holder,
    restore: {
      ...(subscription.contentHash === undefined ? {} : { contentHash: subscription.contentHash }),
      ...(subscription.snapshot === undefined ? {} : { snapshot: subscription.snapshot }),
      ...(subscription.snapshotAt === undefined ? {} : { snapshotAt: subscription.snapshotAt }),
      ...(subscription.lastPushedAt === undefined ? {} : { lastPushedAt: subscription.lastPushedAt }),
      ...(subscription.pushLease === undefined ? {} : { pushLease: subscription.pushLease }),
    },
  };
};

/** Removes one subscription the worker will never push to again, saying why (`code`). */
export const dropSubscription = async (
  deps: Pick<StepDeps, 'subscriptions' | 'emit'>,
  resource: string,
  { connectionId, uri }: PushTarget,
  code: string,
): Promise<void> => {
  await deps.subscriptions.delete(resource, connectionId, uri);
  deps.emit('subscription_dropped', { resource, connectionId, code });
};

/**
 * Puts back what a claimed push changed (its PATCH did not go out, or Notion did not take it). A release that
 * fails (throttled) fails nothing: the claim, which this delivery does not list, stays one to take over once its
 * lease has ended (docs/adr/0137, 0176), and the caller defers or records the push as it would have.
 */
export const releasePush = async (
  deps: Pick<StepDeps, 'subscriptions' | 'emit'>,
  resource: string,
  target: PushTarget,
  push: ReadyPush,
): Promise<void> => {
  try {
    await deps.subscriptions.releasePush(
      { resourceKey: resource, connectionId: target.connectionId, uri: target.uri },
      { holder: push.holder, contentHash: push.hash, restore: push.restore },
    );
  } catch (error) {
    deps.emit('push_release_failed', { resource, connectionId: target.connectionId, detail: describeError(error) });
  }
};
