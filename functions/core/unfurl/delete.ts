/**
 * Removing previews and connections (docs/protocol.md §3.4, §5.3 and docs/protocol.md#decisions).
 *
 *  - DELETE /unfurl: the (connection, uri) subscription goes; idempotent.
 *  - deleted-token callback: the connection named by any token of ours that
 *    arrived (access token, even expired; current or earlier refresh token)
 *    is ended — its token generation bumped, its Notion and upstream tokens
 *    erased — and all its subscriptions removed. Safe to repeat, and the
 *    caller learns nothing about what was found.
 */
import { decodeJwt } from 'jose';
import { type ConnectionEndPorts, endConnection } from '#core/connection-end.js';
import { type AccessTokenSettings, InvalidTokenError, verifyAccessToken } from '#core/oauth/access-token.js';
import { parseRefreshToken } from '#core/oauth/token.js';
import type { Clock, Connection, ConnectionStore, SubscriptionStore } from '#core/ports.js';
import { constantTimeEqual, hashSecret } from '#shared/crypto.js';

export interface DeleteDependencies {
  readonly connections: Pick<ConnectionStore, 'get' | 'end'>;
  readonly subscriptions: Pick<
    SubscriptionStore,
    'delete' | 'listByConnection' | 'deleteAllForConnection' | 'deleteForConnectionUri'
  >;
  readonly tokens: AccessTokenSettings;
  readonly clock: Clock;
  /** What ending a connection reaches beyond its record (the delivery log, the metric). */
  readonly endings: ConnectionEndPorts;
}

/**
 * Removes every subscription of `connection` to `uri` (whatever resource key it was filed under,
 * including one of rules since changed); returns how many. A keyed read of that (connection, uri)
 * only: its cost does not grow with the connection's other subscriptions (docs/adr/0119).
 */
export const removeSubscription = (
  deps: Pick<DeleteDependencies, 'subscriptions'>,
  connection: Pick<Connection, 'id'>,
  uri: string,
): Promise<number> => deps.subscriptions.deleteForConnectionUri(connection.id, uri);

/** The tokens that may have arrived at the deleted-token callback. */
export interface PresentedTokens {
  readonly bearer?: string | undefined;
  readonly accessToken?: string | undefined;
  readonly refreshToken?: string | undefined;
  readonly token?: string | undefined;
}

const looksLikeJwt = (t: string): boolean => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(t);

/** The connection id an access token of ours names, checking its signature but not its expiry. */
export const connectionOfAccessToken = async (
  token: string,
  deps: Pick<DeleteDependencies, 'tokens'>,
): Promise<string | undefined> => {
  if (!looksLikeJwt(token)) return undefined;
  let iat: number | undefined;
  try {
    iat = decodeJwt(token).iat;
  } catch {
    return undefined;
  }
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return undefined;
  try {
    // Verified as of its own issue time: an expired token still proves which connection it belonged to.
    const claims = await verifyAccessToken(token, deps.tokens, { now: () => iat * 1000 });
    return claims.connectionId;
  } catch (error) {
    // A token that is not ours proves nothing; a failure to read the signing keys is not an answer.
    if (error instanceof InvalidTokenError) return undefined;
    throw error;
  }
};

/** The connection a refresh token of ours belongs to: its current one or one rotated away. */
export const connectionOfRefreshToken = async (
  token: string,
  deps: Pick<DeleteDependencies, 'connections'>,
): Promise<string | undefined> => {
  const parsed = parseRefreshToken(token);
  if (!parsed) return undefined;
  const connection = await deps.connections.get(parsed.connectionId);
  if (!connection) return undefined;
  const hash = hashSecret(token);
  const known = [connection.refreshTokenHash, ...connection.previousRefreshTokenHashes].filter(
    (h): h is string => h !== undefined,
  );
  return known.some((h) => constantTimeEqual(h, hash)) ? connection.id : undefined;
};

export interface RevocationReport {
  /** Connections ended by this call (already-ended ones are ended again harmlessly). */
  readonly connectionIds: readonly string[];
  readonly subscriptionsRemoved: number;
}

/** Ends every connection the presented tokens prove, and removes all their subscriptions. */
export const revokeByTokens = async (
  deps: DeleteDependencies,
  presented: PresentedTokens,
): Promise<RevocationReport> => {
  const ids = new Set<string>();
  const accessCandidates = [presented.bearer, presented.accessToken, presented.token].filter((t): t is string => !!t);
  const refreshCandidates = [presented.refreshToken, presented.token].filter((t): t is string => !!t);
  for (const t of new Set(accessCandidates)) {
    const id = await connectionOfAccessToken(t, deps);
    if (id) ids.add(id);
  }
  for (const t of new Set(refreshCandidates)) {
    if (looksLikeJwt(t)) continue;
    const id = await connectionOfRefreshToken(t, deps);
    if (id) ids.add(id);
  }
  let removed = 0;
  for (const id of ids) {
    // The one way a connection ends (#core/connection-end.js).
    removed += (await endConnection(deps, id, 'deleted_token', 'deleted-token callback')).subscriptionsRemoved;
  }
  return { connectionIds: [...ids], subscriptionsRemoved: removed };
};
