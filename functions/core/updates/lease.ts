/**
 * The push lease (docs/adr/0073): before a PATCH the worker holds a short
 * lease on (subscription, content hash), so two deliveries never push the same
 * state at once. Values are encoded by markers.ts.
 */
import type { StepDeps } from './deps.js';
import { decodeLeaseHolder, encodeLeaseHolder, type LeaseHolder, RELEASED_LEASE } from './markers.js';

export type LeaseDeps = Pick<StepDeps, 'markers' | 'settings' | 'emit'>;

/**
 * Takes the lease for `leaseMs`. A lease held by an earlier delivery of this
 * very message is taken over: SQS redelivers only after the visibility
 * timeout, long after that delivery's invocation ended (it crashed or timed out).
 */
export const acquireLease = async (deps: LeaseDeps, key: string, owner: LeaseHolder, now: number): Promise<boolean> => {
  const mine = encodeLeaseHolder(owner);
  const until = now + deps.settings.leaseMs;
  if (await deps.markers.putMarkerIfAbsent(key, mine, until, now)) return true;
  const stored = await deps.markers.getMarker(key, now);
  if (stored === undefined) return deps.markers.putMarkerIfAbsent(key, mine, until, now);
  const holder = decodeLeaseHolder(stored);
  if (holder && holder.messageId === owner.messageId && holder.receiveCount < owner.receiveCount) {
    await deps.markers.putMarker(key, mine, until);
    deps.emit('push_lease_taken_over', { previous: holder.receiveCount, receiveCount: owner.receiveCount });
    return true;
  }
  return false;
};

/** Ends the lease now (the push will not happen, or must be possible again at once). */
export const releaseLease = (deps: Pick<StepDeps, 'markers'>, key: string, now: number): Promise<void> =>
  deps.markers.putMarker(key, RELEASED_LEASE, now - 1000);
