/**
 * Ports: the small interfaces through which domain code (functions/core/**)
 * reaches storage, queues, Notion, the clock and randomness. The ports every
 * flow shares live here (clock, randomness, connections, the token cipher);
 * each flow's own are in its folder (oauth/ports.ts, unfurl/ports.ts,
 * updates/ports.ts) and re-exported at the end.
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
// Encryption of stored third-party tokens (Notion's, upstream's)
// ---------------------------------------------------------------------------

export interface TokenCipher {
  /** Encrypts with the given context bound as additional authenticated data. */
  encrypt(plaintext: string, context: Readonly<Record<string, string>>): Promise<string>;
  decrypt(ciphertext: string, context: Readonly<Record<string, string>>): Promise<string>;
}

// ---------------------------------------------------------------------------
// The ports of each flow, kept with the flow and re-exported here for one import path
// ---------------------------------------------------------------------------

export type {
  AuthorizationCode,
  AuthStateStore,
  CodeLookup,
  CodeRedemption,
  PendingAuthorization,
} from './oauth/ports.js';
export type {
  Page,
  StampRead,
  Subscription,
  SubscriptionKey,
  SubscriptionStamp,
  SubscriptionStore,
  UnfurlReads,
} from './unfurl/ports.js';
export type { BucketPolicy, ChangeEvent, RateLimitStore, TakeResult, UpdateQueue } from './updates/ports.js';
