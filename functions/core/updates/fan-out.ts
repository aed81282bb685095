/**
 * Spreading a work item over its subscriptions: a `flush` (at its window's
 * end) or `page` message reads one page of the resource's subscriptions and
 * enqueues a `page` message for the next; a `push` message names its targets.
 * Up to `concurrency` pushes run at once; what they defer or give up on is
 * sent when all are done.
 */
import type { Subscription } from '#core/ports.js';
import { newBatch } from './batch.js';
import { type DeadLetterDeps, deadLetterGivenUp } from './dead-letter.js';
import { defer, sendDeferred } from './defer.js';
import type { RecordInfo, StepDeps } from './deps.js';
import type { FlushMessage, PageMessage, PushTarget } from './messages.js';
import { delaySecondsFor } from './policy.js';
import { type PushDeps, pushOne } from './push.js';

export type FanOutDeps = PushDeps & DeadLetterDeps & Pick<StepDeps, 'queue'>;

export interface WorkItem {
  readonly resource: string;
  readonly window: string;
  readonly items: ReadonlyArray<{ readonly target: PushTarget; readonly subscription?: Subscription }>;
}

/** Pushes every target of one work item, then sends what was deferred and dead-letters what was given up. */
export const pushTargets = async (
  deps: FanOutDeps,
  work: WorkItem,
  info: RecordInfo,
  options: { readonly tokenFirst: boolean },
): Promise<void> => {
  const { resource, window, items } = work;
  const state = newBatch(info, options);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      if (!item) break;
      if (info.remainingMs !== undefined && info.remainingMs() < deps.settings.reserveMs) {
        defer(state, item.target, 0);
        continue;
      }
      await pushOne(deps, state, resource, item.target, item.subscription);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(deps.settings.concurrency, items.length)) }, lane));

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
  if (page.cursor !== undefined) {
    const nextPage: PageMessage = {
      type: 'page',
      resource: message.resource,
      window: message.window,
      cursor: page.cursor,
    };
    await deps.queue.send([nextPage]);
  }
  if (message.type === 'flush') deps.emit('window_flushed', { resource: message.resource, window: message.window });
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
};
