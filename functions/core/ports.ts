/**
 * Ports: the small interfaces through which domain code (functions/core/**)
 * reaches storage, queues, Notion, the clock and randomness.
 *
 * Domain code imports only from here (and from other core modules). Adapters in
 * functions/adapters/** implement these against DynamoDB, SQS, KMS and HTTP;
 * tests use the in-memory adapters in functions/adapters/memory/**.
 *
 * Times are epoch milliseconds unless a name says otherwise. Every "hash" is
 * the base64url SHA-256 of a secret (functions/shared/crypto.ts): no secret of
 * ours is ever stored.
 */

// ---------------------------------------------------------------------------
// Clock and randomness
// ---------------------------------------------------------------------------

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export interface Random {
  /** A URL-safe random string carrying `bytes` bytes of entropy (default 32). */
  token(bytes?: number): string;
  /** A random UUID v4. */
  uuid(): string;
  /** A number in [0, 1), uniformly distributed (e.g. jitter for backoff). */
  float(): number;
}

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
  /** Envelope-encrypted upstream (OIDC) tokens, for source adapters that call the team's API as the user. */
  readonly upstreamTokenCiphertext?: string;
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
}

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
  get(id: string): Promise<Connection | undefined>;
  listBySubject(subject: string): Promise<Connection[]>;
  /**
   * One conditional write: iff the connection is active and its current refresh
   * hash equals `expectedHash` (or it has none and `expectedHash` is null),
   * store `newHash` and move the old hash into `previousRefreshTokenHashes`.
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

// ---------------------------------------------------------------------------
// OAuth state: authorization codes, pending authorizations, markers
// ---------------------------------------------------------------------------

export interface AuthorizationCode {
  /** Hash of the code we handed to Notion. */
  readonly codeHash: string;
  readonly connectionId: string;
  readonly clientId: string;
  /** The exact redirect_uri string received at /oauth/authorize. */
  readonly redirectUri: string;
  readonly scope: string;
  /** PKCE, only when the client sent one (S256). */
  readonly codeChallenge?: string;
  readonly expiresAt: number;
  readonly consumedAt?: number;
}

/** What a code is, read without consuming it. */
export type CodeLookup =
  | { readonly outcome: 'usable'; readonly code: AuthorizationCode }
  /** Already consumed: presenting it again is a replay. */
  | { readonly outcome: 'replayed'; readonly code: AuthorizationCode }
  | { readonly outcome: 'expired' }
  | { readonly outcome: 'unknown' };

export type CodeRedemption =
  | { readonly outcome: 'redeemed'; readonly code: AuthorizationCode }
  /** Already consumed before: a replay. */
  | { readonly outcome: 'replayed'; readonly code: AuthorizationCode }
  | { readonly outcome: 'expired' }
  | { readonly outcome: 'unknown' };

/** The state of one login round-trip, from /oauth/authorize to /oauth/consent. */
export interface PendingAuthorization {
  readonly id: string;
  readonly clientId: string;
  /** Notion's code, to exchange at Notion once the user consents. */
  readonly notionCode: string;
  /** Notion's state, echoed back unchanged. */
  readonly state: string;
  readonly scope: string;
  readonly redirectUri: string;
  readonly codeChallenge?: string;
  readonly codeChallengeMethod?: string;
  /** Upstream OIDC round-trip values (PKCE verifier, nonce, state). */
  readonly upstream?: { readonly codeVerifier: string; readonly nonce: string; readonly state: string };
  /** Set once the upstream login completed. */
  readonly user?: { readonly subject: string; readonly displayName: string; readonly upstreamTokenCiphertext?: string };
  /** Hash of the anti-CSRF token of the consent form. */
  readonly csrfHash?: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface AuthStateStore {
  putCode(code: AuthorizationCode): Promise<void>;
  /** Reads a code without consuming it (one consistent read). */
  readCode(codeHash: string, now: number): Promise<CodeLookup>;
  /** Marks the code consumed with one conditional write; exactly one concurrent caller gets `redeemed`. */
  redeemCode(codeHash: string, now: number): Promise<CodeRedemption>;

  putPending(pending: PendingAuthorization): Promise<void>;
  /** Returns the pending authorization unless it is missing or expired. */
  getPending(id: string, now: number): Promise<PendingAuthorization | undefined>;
  /** Replaces a pending authorization (e.g. after the upstream login) iff it still exists. */
  updatePending(pending: PendingAuthorization): Promise<boolean>;
  /** Deletes and returns it with one conditional write; only one caller gets it. */
  takePending(id: string, now: number): Promise<PendingAuthorization | undefined>;

  /** A small expiring fact, e.g. "subject X refused to connect". */
  putMarker(key: string, value: string, expiresAt: number): Promise<void>;
  getMarker(key: string, now: number): Promise<string | undefined>;
  /** Stores the marker only if absent or expired; true if this call stored it (idempotency keys). */
  putMarkerIfAbsent(key: string, value: string, expiresAt: number, now: number): Promise<boolean>;
}

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

// ---------------------------------------------------------------------------
// Rate limits
// ---------------------------------------------------------------------------

export interface BucketPolicy {
  /** Bucket size: requests allowed in one burst. */
  readonly capacity: number;
  /** Refill rate: `capacity` tokens per `periodMs`. */
  readonly periodMs: number;
}

export type TakeResult =
  | { readonly allowed: true; readonly remaining: number }
  | { readonly allowed: false; readonly retryAfterMs: number };

export interface RateLimitStore {
  /** Takes `cost` tokens from the bucket `key` with a conditional update (safe across concurrent callers). */
  take(key: string, policy: BucketPolicy, now: number, cost?: number): Promise<TakeResult>;
  /** Pauses `key` until `untilMs` (never shortens an existing pause). */
  pause(key: string, untilMs: number): Promise<void>;
  /** Epoch ms until which `key` is paused, if it is paused at `now`. */
  pausedUntil(key: string, now: number): Promise<number | undefined>;
}

// ---------------------------------------------------------------------------
// Change events and the update queue
// ---------------------------------------------------------------------------

export interface ChangeEvent {
  /** Idempotency id of the event. */
  readonly id: string;
  /** Either the adapter's resource key or a previewed uri. */
  readonly resource?: string;
  readonly uri?: string;
  readonly changedAt: string;
  readonly fields?: readonly string[];
}

export interface UpdateQueue {
  send(events: readonly unknown[], options?: { readonly delaySeconds?: number }): Promise<void>;
}

// ---------------------------------------------------------------------------
// Encryption of stored third-party tokens (Notion's, upstream's)
// ---------------------------------------------------------------------------

export interface TokenCipher {
  /** Encrypts with the given context bound as additional authenticated data. */
  encrypt(plaintext: string, context: Readonly<Record<string, string>>): Promise<string>;
  decrypt(ciphertext: string, context: Readonly<Record<string, string>>): Promise<string>;
}
