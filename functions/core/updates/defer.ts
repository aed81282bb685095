/**
 * Waiting, always as a delayed `push` message and never as a sleep: a
 * subscription that cannot be pushed now (bucket empty, Notion's Retry-After,
 * a lease held elsewhere, backoff after a transient failure, time running
 * out) is collected by delay and sent again when the work item is done.
 */
import { chunksWithin } from '#shared/chunks.js';
import type { BatchState } from './batch.js';
import { backoffMs } from './classify.js';
import type { StepDeps } from './deps.js';
import type { PushMessage, PushTarget } from './messages.js';
import { delaySecondsFor } from './policy.js';

/** Push `target` again after `delayMs` (rounded up to SQS's whole seconds, at most 15 min). */
export const defer = (state: BatchState, target: PushTarget, delayMs: number): void => {
  const seconds = delaySecondsFor(delayMs);
  const list = state.deferred.get(seconds) ?? [];
  list.push(target);
  state.deferred.set(seconds, list);
};

/**
 * One more failed attempt of `target`: within `maxAttempts` it is deferred by
 * `delayMs(attempt)` with the attempt counted, and the attempt is returned;
 * beyond, it is given up (for the dead-letter queue, with `reason` and
 * `detail`) and undefined is returned.
 */
export const retryCounted = (
  settings: Pick<StepDeps['settings'], 'maxAttempts'>,
  state: BatchState,
  target: PushTarget,
  delayMs: (attempt: number) => number,
  reason: string,
  detail: string,
): number | undefined => {
  const attempt = (target.attempt ?? 0) + 1;
  if (attempt >= settings.maxAttempts) {
    state.deadLettered.push({ target, reason, detail });
    return undefined;
  }
  defer(state, { connectionId: target.connectionId, uri: target.uri, attempt }, delayMs(attempt));
  return attempt;
};

export type BackoffDeps = Pick<StepDeps, 'random' | 'settings' | 'emit'>;

/**
 * A 429 to `target`'s push, with Notion's `Retry-After` as `retryAfterMs`. As Notion recommends: the
 * first waits `Retry-After`; each further one in a row waits at least the backoff of that many
 * transient failures (with jitter); after `maxRateLimited` in a row the target is given up, for the
 * dead-letter queue (docs/adr/0154). A 429 is no failed attempt: `attempt` is kept as it is.
 */
export const retryRateLimited = (
  deps: BackoffDeps,
  state: BatchState,
  target: PushTarget,
  retryAfterMs: number,
  status: number | string,
): void => {
  const limited = (target.limited ?? 0) + 1;
  if (limited > deps.settings.maxRateLimited) {
    state.deadLettered.push({
      target,
      reason: 'notion_rate_limited',
      detail: `HTTP ${status} to ${limited} pushes in a row`,
    });
    return;
  }
  const delayMs =
    limited === 1
      ? retryAfterMs
      : Math.max(retryAfterMs, backoffMs(limited - 1, deps.random.float(), deps.settings.backoffBaseMs));
  defer(state, { ...target, limited }, delayMs);
};

/**
 * A transient failure (source or Notion unavailable): back off with jitter, or give up after `maxAttempts`.
 * `notBeforeMs` (Notion's `Retry-After` on a 503) makes the wait the later of the backoff and it.
 */
export const retryWithBackoff = (
  deps: BackoffDeps,
  state: BatchState,
  target: PushTarget,
  reason: string,
  detail: string,
  notBeforeMs = 0,
): void => {
  const jittered = (attempt: number) =>
    Math.max(notBeforeMs, backoffMs(attempt, deps.random.float(), deps.settings.backoffBaseMs));
  const attempt = retryCounted(deps.settings, state, target, jittered, reason, detail);
  if (attempt !== undefined) deps.emit('push_retry_scheduled', { connectionId: target.connectionId, reason, attempt });
};

/**
 * The most UTF-16 code units of targets one `push` message holds. Written as JSON for SQS, a code unit
 * takes at most 6 bytes (a `\uXXXX` escape), so with its resource and window (2,000 units each) a
 * message stays under SQS's 256 KiB however long and non-ASCII its links are.
 */
export const MAX_PUSH_MESSAGE_UNITS = 36_000;

/** A target's code units in a message: its strings and the JSON around them. */
const unitsOf = (target: PushTarget): number => target.connectionId.length + target.uri.length + 64;

/** `targets` in order, as messages of at most `pageSize` targets and MAX_PUSH_MESSAGE_UNITS code units. */
export const pushChunks = (targets: readonly PushTarget[], pageSize: number): PushTarget[][] =>
  chunksWithin(targets, { maxCount: pageSize, maxSize: MAX_PUSH_MESSAGE_UNITS }, unitsOf);

/** The deferred targets as `push` messages of at most one page each (and no more than SQS takes), shortest delay first. */
export const sendDeferred = async (
  deps: Pick<StepDeps, 'queue' | 'settings'>,
  state: BatchState,
  item: { readonly resource: string; readonly window: string },
): Promise<void> => {
  for (const [delaySeconds, targets] of [...state.deferred].sort(([a], [b]) => a - b)) {
    for (const chunk of pushChunks(targets, deps.settings.pageSize)) {
      const push: PushMessage = { type: 'push', resource: item.resource, window: item.window, targets: chunk };
      await deps.queue.send([push], { delaySeconds });
    }
  }
};
