/**
 * Ports of the update pipeline beyond the stores of #core/ports.js.
 */
import type { Connection, NotionTokenStore } from '../connection.js';
import type { NotionTokenRefresher } from '../oauth/ports.js';
import type { Subscription } from '../unfurl/ports.js';
import type { NotionAnswer } from './classify.js';
import type { DeadLetter } from './messages.js';

/** One operation of an external-object update (docs/protocol.md §5.1). */
export type ExternalObjectOperation =
  | { readonly path: readonly ['attributes']; readonly set: readonly unknown[] }
  | { readonly path: readonly ['error']; readonly set: { readonly status: number; readonly message: string } };

export interface ExternalObjectUpdate {
  readonly uri: string;
  readonly operations: readonly ExternalObjectOperation[];
}

/** `PATCH {NOTION_API_BASE_URL}/v1/external/object`. Never throws: every outcome is an answer. */
export interface ExternalObjectApi {
  patch(notionToken: string, update: ExternalObjectUpdate): Promise<NotionAnswer>;
}

/**
 * What refreshing a connection's Notion token after a 401 needs (docs/adr/0151): the connection store's
 * conditional writes, Notion's refresh grant, and how long a claim to refresh holds.
 */
export interface NotionTokenKeeping {
  readonly store: NotionTokenStore;
  readonly refresher: NotionTokenRefresher;
  /**
   * How long a claim to refresh holds: longer than the worker can run (its timeout and one Notion
   * request more), so a claim runs out only once its holder is gone (default 45 s).
   */
  readonly claimMs?: number;
  /** The longest a Notion request may take (NOTION_TIMEOUT_MS): a refresh starts only with two of them left. */
  readonly requestTimeoutMs?: number;
}

/** What a subscriber would see now: the full attribute list, or an error to show instead. */
export type Rendered =
  | { readonly kind: 'attributes'; readonly attributes: readonly unknown[] }
  /** The resource is gone (404/410) or the subscriber may no longer see it (403). */
  | { readonly kind: 'error'; readonly status: number; readonly message: string }
  /** Nothing to push for this subscriber now (e.g. its upstream login must be renewed first). */
  | { readonly kind: 'skip'; readonly reason: string };

/** Renders one subscription with the rights of the subscriber behind `connection`. Throws when the source gives no answer. */
export interface Renderer {
  render(input: { readonly connection: Connection; readonly subscription: Subscription }): Promise<Rendered>;
}

/** How many dead letters one `DeadLetterQueue.send` takes: one SQS SendMessageBatch request. */
export const DEAD_LETTERS_PER_SEND = 10;

/** The dead-letter queue, written by the worker when it gives up on a message. */
export interface DeadLetterQueue {
  /** Sends at most DEAD_LETTERS_PER_SEND letters; when it fails, some of them may have been sent. */
  send(letters: readonly DeadLetter[]): Promise<void>;
}

/** One PATCH of an external object and Notion's answer to it, as support reads it back. */
export interface Delivery {
  readonly connectionId: string;
  /** Epoch ms of Notion's answer. */
  readonly at: number;
  readonly resource: string;
  readonly uri: string;
  /**
   * HTTP status of Notion's answer, or `timeout` / `network` when there was none; `none` for an entry
   * that is not a PATCH (the connection ended: action `connection_ended`, the reason in `code`); `skipped`
   * when no request was sent (the subscriber's upstream login must be renewed: action `needs_reauth`).
   */
  readonly status: number | 'timeout' | 'network' | 'none' | 'skipped';
  /**
   * What the worker did about it (`done`, `disconnect`, `drop`, `reject`, `blocked`, `retry-after`, `backoff`,
   * `needs_reauth`, `connection_ended`; after a 401, `token_refreshed`, `token_refresh_busy`, `token_refresh_later`,
   * `token_refresh_failed`: docs/adr/0151). docs/runbook.md's delivery-log table says what each means.
   */
  readonly action: string;
  /** Notion's error `code` and `message`, and its `request_id`, when given. */
  readonly code?: string;
  readonly message?: string;
  readonly requestId?: string;
}

/** The per-connection delivery log: the last pushes and Notion's answers (docs/adr/0090). */
export interface DeliveryLog {
  record(delivery: Delivery): Promise<void>;
  /** Several deliveries in as few requests as the store allows (BatchWriteItem, 25 a request). */
  recordMany?(deliveries: readonly Delivery[]): Promise<void>;
  /** The newest `limit` deliveries of a connection, newest first. */
  recent(connectionId: string, limit: number): Promise<readonly Delivery[]>;
}

/** Where the worker records what it did (structured log lines and metrics). */
export interface UpdateEvents {
  record(event: string, data: Readonly<Record<string, unknown>>): void;
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
  /** The pauses of several keys in as few requests as the store allows: only keys paused at `now`. */
  pausedUntilMany?(keys: readonly string[], now: number): Promise<ReadonlyMap<string, number>>;
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
