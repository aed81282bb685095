/**
 * `change` messages: the first event for a resource opens its coalescing
 * window (a marker, and one `flush` delayed by the window); later events
 * within the window are absorbed (docs/adr/0070).
 */
import type { ChangeMessage } from '#core/changes/event.js';
import { deadLetter } from './dead-letter.js';
import type { RecordInfo, RecordOutcome, StepDeps } from './deps.js';
import { coalesceMarkerKey, decodeWindowMarker, encodeWindowMarker, type WindowMarker } from './markers.js';
import type { FlushMessage } from './messages.js';
import { delaySecondsFor } from './policy.js';

export type CoalesceDeps = Pick<
  StepDeps,
  'clock' | 'markers' | 'queue' | 'deadLetters' | 'resolveUri' | 'settings' | 'emit'
>;

const sendFlush = async (deps: CoalesceDeps, resource: string, window: WindowMarker, now: number): Promise<void> => {
  const flush: FlushMessage = { type: 'flush', resource, window: window.owner, until: window.until };
  await deps.queue.send([flush], { delaySeconds: delaySecondsFor(window.until - now) });
};

export const coalesce = async (deps: CoalesceDeps, change: ChangeMessage, info: RecordInfo): Promise<RecordOutcome> => {
  const resource = change.resource ?? (change.uri !== undefined ? deps.resolveUri(change.uri) : undefined);
  if (resource === undefined) {
    await deadLetter(
      deps,
      'unmatched_uri',
      'the uri matches none of the configured URL patterns',
      change,
      info.receiveCount,
    );
    return 'dead-lettered';
  }
  const now = deps.clock.now();
  const key = coalesceMarkerKey(resource);
  const window: WindowMarker = { owner: change.id, until: now + deps.settings.coalesceWindowSeconds * 1000 };
  if (await deps.markers.putMarkerIfAbsent(key, encodeWindowMarker(window), window.until, now)) {
    await sendFlush(deps, resource, window, now);
    deps.emit('window_opened', { resource, event: change.id });
    return 'processed';
  }
  // A redelivered opener (it may have stopped between the marker and the flush) sends its flush again.
  const current = decodeWindowMarker(await deps.markers.getMarker(key, now));
  if (current?.owner === change.id) {
    await sendFlush(deps, resource, current, now);
    deps.emit('window_reopened', { resource, event: change.id });
    return 'processed';
  }
  deps.emit('coalesced', { resource, event: change.id });
  return 'processed';
};
