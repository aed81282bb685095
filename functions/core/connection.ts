/**
 * The connection: what every flow reads (the grant Notion holds, its
 * tokens' hashes, its state) and the store behind it. Re-exported by
 * core/ports.ts.
 */

// ---------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------

export type ConnectionStatus = 'active' | 'revoked' | 'disconnected';

/** What Notion returned from /v1/oauth/token, minus the token itself. */
export interface NotionWorkspace {
  readonly workspaceId: string;
  readonly workspaceName: string | null;
  readonly workspaceIcon: string | null;
  readonly botId: string;
}

/**
 * One completed browser round-trip: the grant Notion holds at our service,
 * bound to the Notion token obtained in the same round-trip.
 */
export interface Connection {
  readonly id: string;
  /** Stable subject at the upstream OpenID Connect provider. */
  readonly subject: string;
  readonly displayName: string;
  /** Our OAuth client that holds the grant (Notion's client id at our service). */
  readonly clientId: string;
  readonly scope: string;
  readonly notion: NotionWorkspace;
  /** Envelope-encrypted Notion access token; removed on revocation. */
  readonly notionTokenCiphertext?: string;
  /** Envelope-encrypted Notion refresh token, when Notion issued one. */
  readonly notionRefreshTokenCiphertext?: string;
  /** Bumped each time a refreshed Notion token pair is stored (absent: 0, the tokens of the code exchange). */
  readonly notionTokenVersion?: number;
  /** Epoch ms until which one worker holds the claim to spend the Notion refresh token (docs/adr/0151). */
  readonly notionRefreshUntil?: number;
  /** Envelope-encrypted upstream (OIDC) tokens, for source adapters that call the team's API as the user. */
  readonly upstreamTokenCiphertext?: string;
  /** Bumped each time refreshed upstream tokens are stored (absent: 0, the tokens of the login). */
  readonly upstreamTokenVersion?: number;
  /** Epoch ms until which one caller holds the claim to refresh the upstream tokens (docs/adr/0127). */
  readonly upstreamRefreshUntil?: number;
  /**
   * Set when the upstream provider refused the refresh token (`invalid_grant`): the user must
   * re-authorize. The upstream tokens are gone; unfurls answer needs-auth, the worker pushes nothing.
   */
  readonly upstreamLoginRequiredAt?: number;
  readonly status: ConnectionStatus;
  /** Bumped on revocation; access tokens carry the generation they were minted under. */
  readonly tokenGeneration: number;
  /** Hash of the current refresh token, absent until the first token is issued. */
  readonly refreshTokenHash?: string;
  /** Hashes of refresh tokens already rotated away (bounded), for reuse detection. */
  readonly previousRefreshTokenHashes: readonly string[];
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly revokedAt?: number;
  readonly revokedReason?: string;
  /**
   * Set while no token of ours was ever issued for the connection (its authorization code is not yet
   * redeemed): epoch ms after which it counts as absent and DynamoDB's TTL removes it. The first
   * refresh-token swap removes it (docs/adr/0160-unredeemed-connections-lapse.md).
   */
  readonly expiresAt?: number;
}

/**
 * True for a connection whose authorization code was never redeemed and whose expiry passed: it
 * counts as absent (DynamoDB's TTL may take up to 48 hours to delete it).
 */
export const isLapsed = (connection: Pick<Connection, 'expiresAt'>, now: number): boolean =>
  connection.expiresAt !== undefined && connection.expiresAt <= now;

export interface RefreshTokenSwapRequest {
  /** The hash that must be current; null for the first refresh token of a connection. */
  readonly expectedHash: string | null;
  readonly newHash: string;
  readonly now: number;
  /**
   * With `expectedHash: null`: the hash of the authorization code the first
   * token is issued for. A first token set for the same code (by an exchange
   * that failed before it spent the code) may then be replaced (docs/adr/0087).
   */
  readonly forCode?: string;
}

export type RefreshTokenSwap =
  | { readonly outcome: 'swapped'; readonly connection: Connection }
  /** The expected hash was not current: stale, reused, or the connection is no longer active. */
  | { readonly outcome: 'conflict'; readonly connection: Connection | undefined };

/** A store refused to create something that already exists (e.g. a connection id). */
export class AlreadyExistsError extends Error {
  override readonly name = 'AlreadyExistsError';
}

export interface ConnectionStore {
  /** Creates a connection; fails with AlreadyExistsError if the id exists. */
  create(connection: Connection): Promise<void>;
  /**
   * The connection as stored, a lapsed one included: an id reaches `get` only from a token we issued,
   * and none was issued for a connection that still carries `expiresAt`.
   */
  get(id: string): Promise<Connection | undefined>;
  /** Several connections in as few requests as the store allows (BatchGetItem); missing ones are left out. */
  getMany?(ids: readonly string[]): Promise<ReadonlyMap<string, Connection>>;
  /** The subject's connections by creation time, leaving out those lapsed at `now` (isLapsed). */
  listBySubject(subject: string, now: number): Promise<Connection[]>;
  /**
   * One conditional write: iff the connection is active, not lapsed at `now`
   * and its current refresh hash equals `expectedHash` (or it has none and
   * `expectedHash` is null), store `newHash` and move the old hash into
   * `previousRefreshTokenHashes`. Setting the first hash removes `expiresAt`:
   * the connection has been redeemed and no longer lapses.
   */
  swapRefreshToken(id: string, swap: RefreshTokenSwapRequest): Promise<RefreshTokenSwap>;
  /**
   * Ends a connection: sets the status, deletes the stored Notion and upstream
   * tokens and the refresh hash, bumps the token generation. Idempotent; returns
   * the connection as it was before, or undefined if there is none.
   */
  end(
    id: string,
    change: { readonly status: Exclude<ConnectionStatus, 'active'>; readonly reason: string; readonly now: number },
  ): Promise<Connection | undefined>;
}

/**
 * The writes that keep a connection's upstream tokens valid (docs/adr/0127), each one conditional
 * on the token version the caller read, so that concurrent unfurls and worker pushes of one
 * connection refresh once. Implemented by the connection stores.
 */
export interface UpstreamTokenStore {
  /** A consistent read of the connection (the loser of a claim waits for the winner's tokens). */
  get(id: string): Promise<Connection | undefined>;
  /**
   * Claims the refresh iff the connection is active, its upstream tokens are still at `version`
   * and nobody else holds an unexpired claim; the claim lasts until `until`.
   */
  claimUpstreamRefresh(
    id: string,
    claim: { readonly version: number; readonly now: number; readonly until: number },
  ): Promise<boolean>;
  /** Stores refreshed tokens iff still at `version` and active: version + 1, the claim cleared. */
  saveUpstreamTokens(
    id: string,
    save: { readonly version: number; readonly ciphertext: string; readonly now: number },
  ): Promise<boolean>;
  /** Drops a claim (the refresh failed without an answer) iff it is still the one taken until `until`. */
  releaseUpstreamRefresh(id: string, release: { readonly version: number; readonly until: number }): Promise<void>;
  /**
   * The provider refused the refresh: iff still at `version`, removes the upstream tokens, clears
   * the claim and sets `upstreamLoginRequiredAt` (the connection stays active for Notion).
   */
  requireUpstreamLogin(id: string, mark: { readonly version: number; readonly now: number }): Promise<boolean>;
}

/**
 * The writes that spend a connection's Notion refresh token once (docs/adr/0151): Notion's refresh
 * tokens are single use, and several worker invocations may meet the same connection's 401 at once.
 * Each write is conditional on the token version the caller read. Implemented by the connection stores.
 */
export interface NotionTokenStore {
  /** A consistent read of the connection (the loser of a claim looks for the winner's tokens). */
  get(id: string): Promise<Connection | undefined>;
  /**
   * Claims the refresh iff the connection is active, holds a Notion refresh token, its Notion tokens are
   * still at `version` and nobody else holds an unexpired claim; the claim lasts until `until`.
   */
  claimNotionRefresh(
    id: string,
    claim: { readonly version: number; readonly now: number; readonly until: number },
  ): Promise<boolean>;
  /**
   * Stores the refreshed tokens iff still active at `version` and the claim taken until `until` is still
   * the one held: version + 1, the claim cleared. The refresh token is replaced when given (Notion rotated
   * it) and kept otherwise.
   */
  saveNotionTokens(
    id: string,
    save: {
      readonly version: number;
      readonly until: number;
      readonly tokenCiphertext: string;
      readonly refreshTokenCiphertext?: string;
      readonly now: number;
    },
  ): Promise<boolean>;
  /** Drops a claim (the refresh got no answer) iff it is still the one taken until `until` at `version`. */
  releaseNotionRefresh(id: string, release: { readonly version: number; readonly until: number }): Promise<void>;
}

// ---------------------------------------------------------------------------
// Encryption of stored third-party tokens (Notion's, upstream's)
