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
  /**
   * The update worker's claim on the content it last pushed (docs/adr/0118): which delivery
   * of which queue message wrote `contentHash`, and until when that claim holds.
   */
  readonly pushLease?: PushLease;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** Who claimed the stored `contentHash` for a push, and until when (epoch ms). */
export interface PushLease {
  /** `<messageId>#<receiveCount>` of the delivery that claimed it (core/updates/markers.ts). */
  readonly holder: string;
  readonly until: number;
}

/** A push claimed in the subscription item itself: the content about to be sent, and the lease on it. */
export interface PushClaim {
  readonly contentHash: string;
  /** The attributes sent (stored as the snapshot), or null for an error push (no snapshot kept). */
  readonly snapshot: unknown;
  readonly now: number;
  readonly lease: PushLease;
  /**
   * Take over the claim of an earlier delivery of the same message on the same content: the
   * write holds only while `contentHash` is still this hash and the lease names this holder.
   */
  readonly takeOverFrom?: string;
}

/**
 * What a failed push puts back: the stored fields as they were read before the claim, the lease
 * included (a released take-over leaves the unfinished claim it took over, docs/adr/0137).
 */
export type PushRestore = Pick<Subscription, 'contentHash' | 'snapshot' | 'snapshotAt' | 'lastPushedAt' | 'pushLease'>;

export interface Page<T> {
  readonly items: T[];
  /** Opaque; pass back to get the next page. Absent on the last page. */
  readonly cursor?: string;
}

export interface SubscriptionStore {
  /** Creates or refreshes (connection, uri) under its resource; keeps createdAt. */
  upsert(subscription: Subscription): Promise<void>;
  get(resourceKey: string, connectionId: string, uri: string): Promise<Subscription | undefined>;
  /** Several subscriptions in as few requests as the store allows (BatchGetItem); missing ones are left out. */
  getMany?(keys: readonly SubscriptionKey[]): Promise<Subscription[]>;
  delete(resourceKey: string, connectionId: string, uri: string): Promise<void>;
  listByResource(
    resourceKey: string,
    page?: { readonly limit?: number; readonly cursor?: string },
  ): Promise<Page<Subscription>>;
  listByConnection(connectionId: string): Promise<Subscription[]>;
  /**
   * Removes the connection's subscriptions to `uri`, under whatever resource key each was filed
   * (a keyed read: its cost does not grow with the connection's other subscriptions); returns how many.
   */
  deleteForConnectionUri(connectionId: string, uri: string): Promise<number>;
  /** Removes every subscription of a connection; returns how many. Safe to repeat. */
  deleteAllForConnection(connectionId: string): Promise<number>;
  /**
   * Claims a push in one conditional write: records the content hash, the snapshot and the lease
   * iff the subscription exists and its stored hash differs (or, with `takeOverFrom`, is the same
   * hash still held by that earlier delivery). False: gone, or claimed or recorded by someone else.
   */
  claimPush(key: SubscriptionKey, claim: PushClaim): Promise<boolean>;
  /**
   * Undoes a claim whose push did not happen: puts back what was read before it (the lease it
   * read, or none), iff the item still holds this claim (`holder` and `contentHash`). Otherwise nothing.
   */
  releasePush(
    key: SubscriptionKey,
    release: { readonly holder: string; readonly contentHash: string; readonly restore: PushRestore },
  ): Promise<void>;
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
