/**
 * The one way a connection ends (docs/adr/0114-one-way-a-connection-ends.md).
 *
 * Every cause goes through `endConnection`: RFC 7009 revocation, Notion's
 * deleted-token callback, refresh-token reuse, a replayed or misused code, a
 * newer connection of the same user and workspace superseding it, the
 * operator's `npm run connections -- revoke`, and Notion answering 401 to a
 * push. It
 *
 *  1. marks the connection ended with its reason (one conditional write, only
 *     from `active`): its token generation is bumped, so every access token of
 *     it is refused at once, and its encrypted Notion and upstream tokens and
 *     its refresh-token hash are deleted;
 *  2. removes all its subscriptions, with their snapshots of the product's
 *     data, so the worker finds nothing of it to push;
 *  3. says why: one delivery-log entry (action `connection_ended`, the reason
 *     as its code) and `onEnded` (a log line and the ConnectionEnded metric).
 *
 * Safe to repeat: an already ended connection has its subscriptions removed
 * again (one that raced in is not left behind) and is not reported twice.
 */
import type { Clock, ConnectionStatus, ConnectionStore, SubscriptionStore } from './ports.js';
import type { DeliveryLog } from './updates/ports.js';

/** Why a connection ended: bounded, so that it can be a metric dimension. */
export const CONNECTION_END_REASONS = [
  /** RFC 7009 revocation by the client (POST /oauth/revoke). */
  'revoked',
  /** Notion's deleted-token callback. */
  'deleted_token',
  /** A rotated-away refresh token was presented again. */
  'refresh_token_reused',
  /** An authorization code was redeemed twice. */
  'code_replayed',
  /** A code redemption failed a check (client, redirect_uri, PKCE) or expired mid-way. */
  'code_rejected',
  /** A refresh token was presented by another client. */
  'client_mismatch',
  /** A newer connection of the same user and workspace replaced it. */
  'superseded',
  /** Our code for it could not be stored: the round-trip never completed. */
  'setup_failed',
  /** `npm run connections -- revoke`. */
  'operator',
  /** Notion answered 401 to a push: its token of ours no longer works. */
  'notion_unauthorized',
] as const;

export type ConnectionEndReason = (typeof CONNECTION_END_REASONS)[number];

/** What one end did, for the log line and the metric. */
export interface ConnectionEnded {
  readonly connectionId: string;
  readonly reason: ConnectionEndReason;
  readonly status: Exclude<ConnectionStatus, 'active'>;
  readonly at: number;
  readonly subscriptionsRemoved: number;
  /** False when the delivery-log entry could not be written (the end itself happened). */
  readonly logged: boolean;
}

/** Where an end reaches beyond the connection record, and who hears about it. */
export interface ConnectionEndPorts {
  readonly subscriptions: Pick<SubscriptionStore, 'deleteAllForConnection'>;
  readonly deliveries: Pick<DeliveryLog, 'record'>;
  /** Called once per connection this call ended: a log line and the ConnectionEnded metric. */
  readonly onEnded: (ended: ConnectionEnded) => void;
}

export interface ConnectionEndDependencies {
  readonly connections: Pick<ConnectionStore, 'end'>;
  readonly clock: Clock;
  readonly endings: ConnectionEndPorts;
}

export interface ConnectionEndResult {
  /** The connection existed. */
  readonly found: boolean;
  /** This call ended it (it was active). */
  readonly ended: boolean;
  readonly statusBefore?: ConnectionStatus;
  readonly subscriptionsRemoved: number;
}

/** The status an ended connection takes: `disconnected` when Notion dropped our token, else `revoked`. */
export const endStatusOf = (reason: ConnectionEndReason): Exclude<ConnectionStatus, 'active'> =>
  reason === 'notion_unauthorized' ? 'disconnected' : 'revoked';

/**
 * Ends `connectionId` for `reason`; `detail` (fixed text, or an operator's note) is recorded on the
 * connection instead of the bare reason.
 */
export const endConnection = async (
  deps: ConnectionEndDependencies,
  connectionId: string,
  reason: ConnectionEndReason,
  detail?: string,
): Promise<ConnectionEndResult> => {
  const now = deps.clock.now();
  const status = endStatusOf(reason);
  const before = await deps.connections.end(connectionId, { status, reason: detail ?? reason, now });
  if (!before) return { found: false, ended: false, subscriptionsRemoved: 0 };
  const subscriptionsRemoved = await deps.endings.subscriptions.deleteAllForConnection(connectionId);
  const ended = before.status === 'active';
  if (ended) {
    let logged = true;
    try {
      await deps.endings.deliveries.record({
        connectionId,
        at: now,
        resource: '',
        uri: '',
        status: 'none',
        action: 'connection_ended',
        code: reason,
        message: `${status}: ${detail ?? reason}; ${subscriptionsRemoved} subscription(s) removed`,
      });
    } catch {
      logged = false;
    }
    deps.endings.onEnded({ connectionId, reason, status, at: now, subscriptionsRemoved, logged });
  }
  return { found: true, ended, statusBefore: before.status, subscriptionsRemoved };
};
