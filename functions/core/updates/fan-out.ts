/**
 * Spreading a work item over its subscriptions: a `flush` (at its window's
 * end) or `page` message reads one page of the resource's subscriptions and
 * enqueues a `page` message for the next; a `push` message names its targets.
 * Up to `concurrency` pushes run at once; what they defer or give up on is
 * sent when all are done.
 */
import type { Subscription } from '#core/ports.js';
import { flushDeliveries } from './apply-answer.js';
import { type BatchState, newBatch } from './batch.js';
import { type DeadLetterDeps, deadLetterGivenUp, describeError } from './dead-letter.js';
import { defer, sendDeferred } from './defer.js';
import type { RecordInfo, StepDeps } from './deps.js';
import { writePushed } from './lease.js';
import { nextPageSentMarkerKey, PUSHED_MARKER_TTL_MS } from './markers.js';
import type { FlushMessage, PageMessage, PushTarget } from './messages.js';
import { connectionPauseKey, delaySecondsFor, workspacePauseKey } from './policy.js';
import { type PushDeps, pushOne } from './push.js';

export type FanOutDeps = PushDeps & DeadLetterDeps & Pick<StepDeps, 'queue'>;

export interface WorkItem {
  readonly resource: string;
  readonly window: string;
  readonly items: ReadonlyArray<{ readonly target: PushTarget; readonly subscription?: Subscription }>;
}

const subscriptionKeyOf = (resource: string, t: PushTarget): string => `${resource}\n${t.connectionId}\n${t.uri}`;

/**
 * What the pushes of one work item read, in batches instead of one request per
 * subscription (docs/adr/0118): the connections, their pauses (their own and their
 * workspace's), and, for a `push` message, the subscriptions it names. Stores
 * without batch reads are read one item at a time, as the pushes come to them.
 *
 * The batches only read ahead: one that fails (throttled past the SDK's retries) leaves
 * what it would have read to those per-item reads, so that a failed read costs the
 * subscriptions it concerns and not the whole work item (docs/adr/0136).
 */
const readAhead = async (
  deps: FanOutDeps,
  state: BatchState,
  work: WorkItem,
): Promise<ReadonlyMap<string, Subscription | null>> => {
  const ids = [...new Set(work.items.map((i) => i.target.connectionId))].filter((id) => !state.connections.has(id));
  const missing = work.items.filter((i) => i.subscription === undefined);
  const [connectionsRead, subscriptionsRead] = await Promise.allSettled([
    ids.length > 0 && deps.connections.getMany ? deps.connections.getMany(ids) : undefined,
    missing.length > 0 && deps.subscriptions.getMany
      ? deps.subscriptions.getMany(
          missing.map((i) => ({ resourceKey: work.resource, connectionId: i.target.connectionId, uri: i.target.uri })),
        )
      : undefined,
  ]);
  const connections = readOrNothing(deps, 'connections', connectionsRead);
  const subscriptions = readOrNothing(deps, 'subscriptions', subscriptionsRead);
  const known = new Map<string, Subscription | null>();
  if (subscriptions) {
    for (const i of missing) known.set(subscriptionKeyOf(work.resource, i.target), null);
    for (const s of subscriptions) known.set(subscriptionKeyOf(work.resource, s), s);
  }
  if (!connections) return known;
  const active = [];
  for (const id of ids) {
    const c = connections.get(id);
    state.connections.set(id, Promise.resolve(c));
    if (c?.status === 'active') active.push(c);
  }
  if (active.length > 0 && deps.rateLimits.pausedUntilMany) {
    const now = deps.clock.now();
    const keys = active.flatMap((c) => [workspacePauseKey(c.notion.workspaceId), connectionPauseKey(c.id)]);
    const [pausesRead] = await Promise.allSettled([deps.rateLimits.pausedUntilMany(keys, now)]);
    const paused = readOrNothing(deps, 'pauses', pausesRead);
    if (!paused) return known;
    for (const c of active) {
      const ws = workspacePauseKey(c.notion.workspaceId);
      const until = Math.max(paused.get(ws) ?? 0, paused.get(connectionPauseKey(c.id)) ?? 0);
      if (!state.blockedUntil.has(c.id)) state.blockedUntil.set(c.id, until);
    }
  }
  return known;
};

/** A batch read's result, or undefined (and an event) when it failed: the pushes then read item by item. */
const readOrNothing = <T>(
  deps: Pick<FanOutDeps, 'emit'>,
  what: 'connections' | 'pauses' | 'subscriptions',
  read: PromiseSettledResult<T | undefined> | undefined,
): T | undefined => {
  if (read?.status === 'fulfilled') return read.value;
  if (read?.status === 'rejected') deps.emit('read_ahead_failed', { what, detail: describeError(read.reason) });
  return undefined;
};

/** Pushes every target of one work item, then sends what was deferred and dead-letters what was given up. */
export const pushTargets = async (
  deps: FanOutDeps,
  work: WorkItem,
  info: RecordInfo,
  options: { readonly tokenFirst: boolean },
): Promise<void> => {
  const { resource, window, items } = work;
  const state = newBatch(info, options);
  const known = await readAhead(deps, state, work);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      if (!item) break;
      // A push that may outlast the invocation is not started: a timeout would fail every record of the batch.
      if (info.remainingMs !== undefined && info.remainingMs() < deps.settings.reserveMs + deps.settings.pushMs) {
        defer(state, item.target, 0);
        continue;
      }
      const read = item.subscription ?? known.get(subscriptionKeyOf(resource, item.target));
      await pushOne(deps, state, resource, item.target, read);
    }
  };
  const lanes = await Promise.allSettled(
    Array.from({ length: Math.max(1, Math.min(deps.settings.concurrency, items.length)) }, lane),
  );
  // Even when a push failed (the message will be delivered again): what was done is logged and listed.
  await flushDeliveries(deps, state);
  await writePushed(deps, state);
  const failed = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
  if (failed) throw failed.reason;

  await sendDeferred(deps, state, { resource, window });
  await deadLetterGivenUp(deps, state, { resource, window, receiveCount: info.receiveCount });
};

/** A `flush` or `page` message: one page of the resource's subscriptions. */
export const fanOutPage = async (
  deps: FanOutDeps,
  message: FlushMessage | PageMessage,
  info: RecordInfo,
): Promise<void> => {
  const now = deps.clock.now();
  if (message.type === 'flush' && now < message.until) {
    // Delivered before the window closed (clock skew): wait for the rest of it.
    await deps.queue.send([message], { delaySeconds: delaySecondsFor(message.until - now) });
    return;
  }
  const page = await deps.subscriptions.listByResource(message.resource, {
    limit: deps.settings.pageSize,
    ...(message.type === 'page' ? { cursor: message.cursor } : {}),
  });
  // The next page goes out first, so that a page that keeps failing holds up no later subscriber; a delivery
  // that failed after sending it says so, and its redeliveries do not send it again (each copy would fan the
  // rest of the resource out once more, rendering every later subscriber at the product again).
  const sentKey = nextPageSentMarkerKey(info.messageId);
  const nextPageSent =
    page.cursor !== undefined && info.receiveCount > 1 && (await deps.markers.getMarker(sentKey, now)) !== undefined;
  if (page.cursor !== undefined && !nextPageSent) {
    const nextPage: PageMessage = {
      type: 'page',
      resource: message.resource,
      window: message.window,
      cursor: page.cursor,
    };
    await deps.queue.send([nextPage]);
  }
  if (message.type === 'flush') deps.emit('window_flushed', { resource: message.resource, window: message.window });
  try {
    await pushTargets(
      deps,
      {
        resource: message.resource,
        window: message.window,
        items: page.items.map((subscription) => ({
          target: { connectionId: subscription.connectionId, uri: subscription.uri },
          subscription,
        })),
      },
      info,
      { tokenFirst: false },
    );
  } catch (error) {
    if (page.cursor !== undefined && !nextPageSent) {
      // Best effort: without the note a redelivery sends the page again, as it would after a crash.
      await deps.markers
        .putMarker(sentKey, 'sent', deps.clock.now() + PUSHED_MARKER_TTL_MS)
        .catch((e: unknown) => deps.emit('page_marker_failed', { detail: describeError(e) }));
    }
    throw error;
  }
};
