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

export interface TokenCipher {
  /** Encrypts with the given context bound as additional authenticated data. */
  encrypt(plaintext: string, context: Readonly<Record<string, string>>): Promise<string>;
  decrypt(ciphertext: string, context: Readonly<Record<string, string>>): Promise<string>;
}

export type {
  Connection,
  ConnectionStatus,
  ConnectionStore,
  NotionTokenStore,
  NotionWorkspace,
  RefreshTokenSwap,
  RefreshTokenSwapRequest,
  UpstreamTokenStore,
} from './connection.js';
export { AlreadyExistsError, isLapsed } from './connection.js';

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
  PushClaim,
  PushLease,
  PushRestore,
  StampRead,
  Subscription,
  SubscriptionKey,
  SubscriptionStamp,
  SubscriptionStore,
  UnfurlReads,
} from './unfurl/ports.js';
export type { BucketPolicy, ChangeEvent, RateLimitStore, TakeResult, UpdateQueue } from './updates/ports.js';
