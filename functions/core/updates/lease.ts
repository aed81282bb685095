/**
 * The push lease, kept in the subscription item itself (docs/adr/0118, which
 * replaces the marker leases of ADR 0073): one conditional write before the
 * PATCH records the content hash, the snapshot and who holds the push. A push
 * that does not happen puts back what was read before; a push Notion accepted
 * writes nothing more to the item, and each delivery lists the pushes it
 * completed in one marker when its work item is done, so that a later delivery
 * can tell a finished push from one whose holder never finished it (and take
 * that one over): a redelivery of the same message at once, any other delivery
 * once the holder's lease has ended (docs/adr/0137).
 */
import type { Subscription } from '#core/ports.js';
import { type BatchState, readShared } from './batch.js';
import type { StepDeps } from './deps.js';
import { decodeLeaseHolder, encodeLeaseHolder, PUSHED_MARKER_TTL_MS, pushedMarkerKey } from './markers.js';

export type LeaseDeps = Pick<StepDeps, 'markers' | 'settings' | 'emit'>;

/** What to do when the stored content hash already equals the rendered one. */
export type SameContent =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'busy' }
  /**
   * A delivery claimed it and did not finish: push again. The holder is an earlier delivery of this
   * very message, or (`another`) a delivery of another message whose lease has ended.
   */
  | { readonly kind: 'take-over'; readonly from: string; readonly previous: number; readonly another: boolean };

/**
 * How long after its lease ended a claim its holder did not list is still taken for unfinished: 12 hours,
 * well within the life of the holder's pushed marker (PUSHED_MARKER_TTL_MS from its writing, after the
 * claim), so that a missing marker means an unrecorded push, not an expired record. Older claims count as
 * pushed, without a read.
 */
export const UNFINISHED_CLAIM_HORIZON_MS = 12 * 60 * 60 * 1000;

/**
 * The push ids an earlier delivery listed as done, read once per work item and holder; a failed read as any
 * shared read of the work item (`readShared`, batch.ts: docs/adr/0176, 0178).
 */
const completedBy = (
  deps: Pick<StepDeps, 'markers' | 'clock'>,
  state: BatchState,
  holder: string,
): Promise<ReadonlySet<string>> =>
  readShared(state.completedBy, holder, () =>
    deps.markers
      .getMarker(pushedMarkerKey(holder), deps.clock.now())
      .then((value): ReadonlySet<string> => new Set(value ? value.split(' ') : [])),
  );

/**
 * The stored hash equals what would be pushed: it was pushed (unchanged), is being pushed by
 * another delivery (busy), or was claimed by a delivery that never finished (take it over). A claim
 * counts as finished only when its holder listed the push in its pushed marker: an earlier delivery
 * of this message is taken over at once (SQS redelivers only after the visibility timeout, long
 * after that delivery's invocation ended); the claim of any other delivery once its lease has ended
 * (the holder's invocation is over; its redelivery may have deferred the push to a `push` message,
 * which must still deliver it, docs/adr/0137).
 */
export const sameContent = async (
  deps: Pick<StepDeps, 'markers' | 'clock'>,
  state: BatchState,
  subscription: Subscription,
  id: string,
  now: number,
): Promise<SameContent> => {
  const lease = subscription.pushLease;
  const holder = lease && decodeLeaseHolder(lease.holder);
  if (!lease || !holder) return { kind: 'unchanged' };
  const me = state.owner;
  const earlierOfMine = holder.messageId === me.messageId && holder.receiveCount < me.receiveCount;
  if (!earlierOfMine && lease.until > now) {
    // Its holder may still be at work.
    if (holder.messageId === me.messageId && holder.receiveCount === me.receiveCount) return { kind: 'busy' };
    return (await completedBy(deps, state, lease.holder)).has(id) ? { kind: 'unchanged' } : { kind: 'busy' };
  }
  if (!earlierOfMine && now - lease.until > UNFINISHED_CLAIM_HORIZON_MS) return { kind: 'unchanged' };
  return (await completedBy(deps, state, lease.holder)).has(id)
    ? { kind: 'unchanged' }
    : { kind: 'take-over', from: lease.holder, previous: holder.receiveCount, another: !earlierOfMine };
};

/** This delivery's lease value. */
export const holderOf = (state: BatchState): string => encodeLeaseHolder(state.owner);

/** Lists the pushes this delivery completed (nothing when it completed none); a failure only loses the list. */
export const writePushed = async (
  deps: Pick<StepDeps, 'markers' | 'clock' | 'emit'>,
  state: BatchState,
): Promise<void> => {
  if (state.pushed.length === 0) return;
  const now = deps.clock.now();
  try {
    await deps.markers.putMarker(pushedMarkerKey(holderOf(state)), state.pushed.join(' '), now + PUSHED_MARKER_TTL_MS);
  } catch (error) {
    deps.emit('pushed_marker_failed', { detail: error instanceof Error ? error.message : String(error) });
  }
};
