/**
 * The state one work item (a `flush`, `page` or `push` message) shares
 * between its pushes: who holds the leases it takes, what it learnt about
 * connections and pauses, what it defers or gives up on, and what it pushed
 * and logged. The messages for the deferred and dead-lettered subscriptions,
 * the delivery-log entries and the pushed marker are written once, when all
 * pushes of the item are done (fan-out.ts).
 */
import type { Connection, ConnectionStore } from '#core/ports.js';
import type { RecordInfo } from './deps.js';
import type { LeaseHolder } from './markers.js';
import type { PushTarget } from './messages.js';
import type { Delivery } from './ports.js';

/** What a refresh of a connection's Notion token after a 401 came to (notion-token.ts). */
export type Renewal =
  /** A new access token: push once more with it. */
  | { readonly kind: 'renewed'; readonly token: string }
  /** Notion refused the refresh, or the connection has ended meanwhile: it is disconnected. */
  | { readonly kind: 'refused'; readonly code: string }
  /** Another worker holds the claim to refresh: push again a little later. */
  | { readonly kind: 'busy' }
  /** Too little of this invocation is left for a refresh and the push after it: push again at once, later. */
  | { readonly kind: 'later' }
  /** No answer from Notion (or the tokens could not be read): retry with backoff, never disconnect. */
  | { readonly kind: 'unavailable'; readonly detail: string; readonly retryAfterMs?: number };

export interface GivenUp {
  readonly target: PushTarget;
  /** Dead-letter reason code, e.g. `notion_unavailable`. */
  readonly reason: string;
  readonly detail: string;
}

export interface BatchState {
  /** Who holds the push leases taken for this message. */
  readonly owner: LeaseHolder;
  /**
   * Take the connection's token before rendering: for deferred work, which is
   * mostly waiting for the bucket, so a denied take costs no render.
   */
  readonly tokenFirst: boolean;
  /** Connections read so far (a disconnect replaces its entry with undefined). */
  readonly connections: Map<string, Promise<Connection | undefined>>;
  /** Connections (and workspaces) known to be unable to push before the given time (0: not paused). */
  readonly blockedUntil: Map<string, number>;
  /** Targets to push again, by delay in whole seconds. */
  readonly deferred: Map<number, PushTarget[]>;
  readonly deadLettered: GivenUp[];
  /** Delivery-log entries, written together when the item is done. */
  readonly deliveries: Delivery[];
  /** Ids (markers.ts, pushId) of the pushes Notion accepted in this delivery. */
  readonly pushed: string[];
  /** Pushed markers of earlier deliveries, read once each (a failed read is not kept: lease.ts). */
  readonly completedBy: Map<string, Promise<ReadonlySet<string>>>;
  /** Notion token refreshes of this item, by connection: pushes of one connection share one. */
  readonly renewals: Map<string, Promise<Renewal>>;
  /** Time left in this invocation, when known (ms). */
  readonly remainingMs?: () => number;
}

export const newBatch = (info: RecordInfo, options: { readonly tokenFirst: boolean }): BatchState => ({
  owner: { messageId: info.messageId, receiveCount: info.receiveCount },
  tokenFirst: options.tokenFirst,
  connections: new Map(),
  blockedUntil: new Map(),
  deferred: new Map(),
  deadLettered: [],
  deliveries: [],
  pushed: [],
  completedBy: new Map(),
  renewals: new Map(),
  ...(info.remainingMs ? { remainingMs: info.remainingMs } : {}),
});

/**
 * `key`'s value from `cache`, else from `read()`, shared by every caller while it runs. A read that failed is
 * not remembered: it costs the caller that made it (docs/adr/0176), and a later caller reads again. The callers
 * that were waiting for it share one read again (the first of them makes it, docs/adr/0178), so a throttled
 * table gets one more request, not one per waiting caller; should that one fail too, it costs each of them.
 */
export const readShared = async <T>(
  cache: Map<string, Promise<T>>,
  key: string,
  read: () => Promise<T>,
): Promise<T> => {
  const known = cache.get(key);
  if (known) {
    try {
      return await known;
    } catch {
      // That read (or another step's promise in its place, e.g. the end of a connection) failed: join the read
      // made again since, if one is under way.
      const again = cache.get(key);
      if (again && again !== known) return again;
    }
  }
  const fresh = read();
  cache.set(key, fresh);
  fresh.catch(() => {
    if (cache.get(key) === fresh) cache.delete(key);
  });
  return fresh;
};

/** The connection, read once per work item (fan-out.ts reads a page's connections in one batch first). */
export const connectionOf = (
  connections: ConnectionStore,
  state: BatchState,
  id: string,
): Promise<Connection | undefined> => readShared(state.connections, id, () => connections.get(id));
