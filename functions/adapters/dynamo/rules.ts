/**
 * Storage rules shared by the DynamoDB adapters and their in-memory twins, so
 * that both compute exactly the same results (the same contract tests run
 * against both). Pure functions, no SDK.
 */
import { createHash } from 'node:crypto';
import type { BucketPolicy, Connection } from '#core/ports.js';

/** Hashes of rotated-away refresh tokens kept at least this many, for reuse detection. */
export const PREVIOUS_REFRESH_HASHES_KEPT = 20;

/**
 * The list of previous refresh hashes grows by one per rotation (inside the one
 * conditional write of the swap) and is trimmed back to the newest
 * PREVIOUS_REFRESH_HASHES_KEPT once it exceeds twice that, so a trim write is
 * needed once every 20 rotations rather than on every one.
 */
export const PREVIOUS_REFRESH_HASHES_TRIM_AT = PREVIOUS_REFRESH_HASHES_KEPT * 2;

/** Consumed (and expired) authorization codes stay this long for replay detection. */
export const CODE_REPLAY_RETENTION_MS = 24 * 60 * 60 * 1000;

/** Default and largest page of `listByResource`. */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/** Epoch seconds for a DynamoDB TTL attribute (rounded up: never delete early). */
export const ttlSeconds = (epochMs: number): number => Math.ceil(epochMs / 1000);

/** True when an item with this TTL (epoch seconds) counts as deleted at `now` (ms). */
export const ttlPassed = (ttl: number | undefined, now: number): boolean => ttl !== undefined && ttl * 1000 <= now;

/** DynamoDB's largest partition and sort key values, in UTF-8 bytes. */
export const MAX_PARTITION_KEY_BYTES = 2048;
export const MAX_SORT_KEY_BYTES = 1024;

/** What stands for the uri in a sort key too long for DynamoDB (a uri itself always starts with http). */
const DIGEST_PREFIX = 'sha256:';

/**
 * Sort key of a subscription under its resource: unique per (connection, uri). It is
 * `<connectionId>#<uri>`, or, when that is longer than DynamoDB takes (a uri of up to 2,000
 * characters is accepted), `<connectionId>#sha256:<digest of the uri>`. The key is opaque: the uri
 * is read from its own attribute.
 */
export const subscriptionSortKey = (connectionId: string, uri: string): string => {
  if (connectionId.includes('#') || connectionId === '') {
    throw new RangeError('A connection id must be non-empty and must not contain "#"');
  }
  const plain = `${connectionId}#${uri}`;
  if (Buffer.byteLength(plain, 'utf8') <= MAX_SORT_KEY_BYTES) return plain;
  return `${connectionId}#${DIGEST_PREFIX}${createHash('sha256').update(uri, 'utf8').digest('base64url')}`;
};

/** DynamoDB orders string keys by their UTF-8 bytes. */
export const compareKeys = (a: string, b: string): number =>
  Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** Opaque cursor of `listByResource`: the sort key of the last item returned. */
export const encodeCursor = (sk: string): string =>
  Buffer.from(JSON.stringify({ v: 1, sk }), 'utf8').toString('base64url');

export const decodeCursor = (cursor: string): string => {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (typeof parsed === 'object' && parsed !== null && (parsed as { v?: unknown }).v === 1) {
      const sk = (parsed as { sk?: unknown }).sk;
      if (typeof sk === 'string' && sk !== '') return sk;
    }
  } catch {
    // fall through
  }
  throw new RangeError('Invalid page cursor');
};

export const pageSize = (limit: number | undefined): number => {
  if (limit === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError('Page limit must be a positive integer');
  return Math.min(limit, MAX_PAGE_SIZE);
};

// ---------------------------------------------------------------------------
// Token bucket
// ---------------------------------------------------------------------------

export interface BucketState {
  /** Tokens available at `at` (may be fractional). */
  readonly tokens: number;
  /** Epoch ms of the last refill computation. */
  readonly at: number;
}

const round6 = (n: number): number => Math.round(n * 1e6) / 1e6;

export const validatePolicy = (policy: BucketPolicy, cost: number): void => {
  if (!(policy.capacity > 0) || !(policy.periodMs > 0))
    throw new RangeError('Bucket capacity and period must be positive');
  if (!(cost > 0)) throw new RangeError('Cost must be positive');
  if (cost > policy.capacity) throw new RangeError('Cost exceeds the bucket capacity');
};

/** Refills a bucket (absent = full) up to `now`; time never runs backwards for a bucket. */
export const refill = (state: BucketState | undefined, policy: BucketPolicy, now: number): BucketState => {
  if (!state) return { tokens: policy.capacity, at: now };
  const elapsed = Math.max(0, now - state.at);
  const tokens = Math.min(policy.capacity, state.tokens + (elapsed * policy.capacity) / policy.periodMs);
  return { tokens: round6(tokens), at: Math.max(state.at, now) };
};

export type BucketDecision =
  | { readonly allowed: true; readonly next: BucketState; readonly remaining: number }
  | { readonly allowed: false; readonly retryAfterMs: number };

/** Decides one take on a refilled bucket. */
export const decideTake = (refilled: BucketState, policy: BucketPolicy, cost: number): BucketDecision => {
  if (refilled.tokens >= cost) {
    const tokens = round6(refilled.tokens - cost);
    return { allowed: true, next: { tokens, at: refilled.at }, remaining: Math.floor(tokens) };
  }
  const missing = cost - refilled.tokens;
  return { allowed: false, retryAfterMs: Math.max(1, Math.ceil((missing * policy.periodMs) / policy.capacity)) };
};

/** When a bucket would be full again: after that, forgetting it changes nothing (its TTL). */
export const bucketFullAt = (state: BucketState, policy: BucketPolicy): number =>
  state.at + Math.ceil(((policy.capacity - state.tokens) * policy.periodMs) / policy.capacity);

// ---------------------------------------------------------------------------
// The same bucket as a theoretical arrival time (GCRA), for one conditional update
// ---------------------------------------------------------------------------

/**
 * A token bucket of `capacity` refilled at `capacity` per `periodMs` is the same as a
 * theoretical arrival time `tat` (epoch ms) that each take of `cost` pushes `cost × T`
 * ahead (T = periodMs / capacity), from `now` when it lies in the past: a take is
 * allowed while the new `tat` stays within `capacity × T` of `now`. One number, which
 * only ever grows, so a take is one conditional update (docs/adr/0118).
 */
export const emissionMs = (policy: BucketPolicy, cost: number): number =>
  round6((cost * policy.periodMs) / policy.capacity);

export type GcraDecision =
  | { readonly allowed: true; readonly tat: number; readonly remaining: number }
  | { readonly allowed: false; readonly retryAfterMs: number };

/** Decides one take against a stored `tat` (absent = full bucket). */
export const decideGcra = (tat: number | undefined, policy: BucketPolicy, now: number, cost: number): GcraDecision => {
  const burst = policy.periodMs; // capacity × T
  const start = tat === undefined || tat <= now ? now : tat;
  const next = round6(start + emissionMs(policy, cost));
  if (next - now <= burst + 1e-6) return { allowed: true, tat: next, remaining: remainingAfter(next, policy, now) };
  return { allowed: false, retryAfterMs: Math.max(1, Math.ceil(next - burst - now - 1e-6)) };
};

/** Whole tokens left once the bucket stands at `tat`. */
export const remainingAfter = (tat: number, policy: BucketPolicy, now: number): number =>
  Math.max(0, Math.floor(((now + policy.periodMs - tat) * policy.capacity) / policy.periodMs + 1e-6));

/**
 * The attributes of a kind of third-party token a connection keeps at a version, with a claim to
 * refresh it: the same conditions in the DynamoDB store and its in-memory twin.
 */
export interface KeptTokens {
  /** The attribute whose presence says the connection holds that token. */
  readonly held: 'upstreamTokenCiphertext' | 'notionRefreshTokenCiphertext';
  readonly version: 'upstreamTokenVersion' | 'notionTokenVersion';
  readonly until: 'upstreamRefreshUntil' | 'notionRefreshUntil';
}
/** A user's upstream tokens (ADR 0127). */
export const UPSTREAM_TOKENS: KeptTokens = {
  held: 'upstreamTokenCiphertext',
  version: 'upstreamTokenVersion',
  until: 'upstreamRefreshUntil',
};
/** The connection's Notion tokens, kept at a version while there is a refresh token (ADR 0151). */
export const NOTION_TOKENS: KeptTokens = {
  held: 'notionRefreshTokenCiphertext',
  version: 'notionTokenVersion',
  until: 'notionRefreshUntil',
};

/** True when `c` is active, holds the kind of token and its tokens are at `version` (absent version: 0). */
export const atTokenVersion = (tokens: KeptTokens, c: Connection | undefined, version: number): boolean =>
  c?.status === 'active' && c[tokens.held] !== undefined && (c[tokens.version] ?? 0) === version;
