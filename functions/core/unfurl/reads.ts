/**
 * The unfurl's first read (docs/adr/0065-one-request-per-repeated-unfurl.md)
 * and the rule that decides whether an answered unfurl writes its
 * subscription again.
 */
import type {
  ConnectionStore,
  StampRead,
  SubscriptionKey,
  SubscriptionStamp,
  SubscriptionStore,
  UnfurlReads,
} from '#core/ports.js';

/** Nothing was read of the subscription: the unfurl writes it. */
export const UNKNOWN_STAMP: StampRead = { known: false };

/**
 * UnfurlReads from two stores, each read once (concurrently). For stores
 * without a combined read: the in-memory ones in tests and local tools.
 */
export const separateReads = (
  connections: Pick<ConnectionStore, 'get'>,
  subscriptions: Pick<SubscriptionStore, 'get'>,
): UnfurlReads => ({
  async read(connectionId: string, key?: SubscriptionKey) {
    const [connection, subscription] = await Promise.all([
      connections.get(connectionId),
      key ? subscriptions.get(key.resourceKey, key.connectionId, key.uri) : undefined,
    ]);
    const stored: StampRead = key ? { known: true, stamp: subscription && stampOf(subscription) } : UNKNOWN_STAMP;
    return { connection, stored };
  },
});

export const stampOf = (s: SubscriptionStamp): SubscriptionStamp => ({
  ...(s.contentHash !== undefined ? { contentHash: s.contentHash } : {}),
  ...(s.snapshotAt !== undefined ? { snapshotAt: s.snapshotAt } : {}),
});

/**
 * True when the stored subscription already holds this content, confirmed
 * less than `refreshMs` ago: writing it again would change only timestamps.
 */
export const isRecorded = (stored: StampRead, contentHash: string, now: number, refreshMs: number): boolean => {
  if (!stored.known || stored.stamp === undefined || refreshMs <= 0) return false;
  const { contentHash: storedHash, snapshotAt } = stored.stamp;
  return (
    storedHash === contentHash && snapshotAt !== undefined && now - snapshotAt >= 0 && now - snapshotAt < refreshMs
  );
};

/** True when the read showed there is no subscription to remove. */
export const isAbsent = (stored: StampRead): boolean => stored.known && stored.stamp === undefined;
