/**
 * Ports of the unfurl flow: subscriptions (also the update worker's fan-out)
 * and the unfurl's one combined read.
 */
import type { Connection } from '../connection.js';

// ---------------------------------------------------------------------------
// Subscriptions
// ---------------------------------------------------------------------------

export interface Subscription {
  /** The source adapter's key of the previewed resource (fan-out key). */
  readonly resourceKey: string;
  readonly connectionId: string;
  /** The exact uri Notion asked us to unfurl. */
  readonly uri: string;
  readonly workspaceId?: string;
  /** Hash of the attributes last sent to Notion (unfurl answer or pushed update). */
  readonly contentHash?: string;
  /** The attributes last sent, for stale-while-revalidate. */
  readonly snapshot?: unknown;
  readonly snapshotAt?: number;
  readonly lastPushedAt?: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface Page<T> {
  readonly items: T[];
  /** Opaque; pass back to get the next page. Absent on the last page. */
  readonly cursor?: string;
}

export interface SubscriptionStore {
  /** Creates or refreshes (connection, uri) under its resource; keeps createdAt. */
  upsert(subscription: Subscription): Promise<void>;
  get(resourceKey: string, connectionId: string, uri: string): Promise<Subscription | undefined>;
  delete(resourceKey: string, connectionId: string, uri: string): Promise<void>;
  listByResource(
    resourceKey: string,
    page?: { readonly limit?: number; readonly cursor?: string },
  ): Promise<Page<Subscription>>;
  listByConnection(connectionId: string): Promise<Subscription[]>;
  /** Removes every subscription of a connection; returns how many. Safe to repeat. */
  deleteAllForConnection(connectionId: string): Promise<number>;
  /**
   * Records a push iff the stored content hash differs from `contentHash`
   * (one conditional write). False means that content was already pushed.
   */
  recordPush(
    resourceKey: string,
    connectionId: string,
    uri: string,
    push: { readonly contentHash: string; readonly snapshot: unknown; readonly now: number },
  ): Promise<boolean>;
}

/** Which subscription: (resource, connection, uri). */
export interface SubscriptionKey {
  readonly resourceKey: string;
  readonly connectionId: string;
  readonly uri: string;
}

/** What an unfurl needs to know of a stored subscription to decide whether to write it again. */
export type SubscriptionStamp = Pick<Subscription, 'contentHash' | 'snapshotAt'>;

/**
 * The stored subscription as read before an unfurl resolves: `known` is false
 * when it was not read (or the read was not served), and then the unfurl writes.
 */
export type StampRead =
  | { readonly known: false }
  | { readonly known: true; readonly stamp: SubscriptionStamp | undefined };

/**
 * The one read an unfurl starts with: the connection its token names (the
 * token check) and, when a rule matched, the stamp of that connection's
 * subscription to the uri. On DynamoDB both come from one BatchGetItem.
 */
export interface UnfurlReads {
  read(
    connectionId: string,
    subscription?: SubscriptionKey,
  ): Promise<{ readonly connection: Connection | undefined; readonly stored: StampRead }>;
}
