/**
 * What the update worker is built from: its settings, its ports, and the
 * per-record information the handler passes in. `StepDeps` is the resolved
 * form every step module takes (each through a `Pick` of what it uses).
 */
import type { MarkerStore } from '#core/changes/ingest.js';
import type {
  Clock,
  ConnectionStore,
  Random,
  RateLimitStore,
  SubscriptionStore,
  TokenCipher,
  UpdateQueue,
} from '#core/ports.js';
import { type NotionBucket, notionBucketPolicy } from './policy.js';
import type {
  DeadLetterQueue,
  DeliveryLog,
  ExternalObjectApi,
  NotionTokenKeeping,
  Renderer,
  UpdateEvents,
} from './ports.js';

export interface WorkerSettings {
  /** Length of a coalescing window (COALESCE_WINDOW_SECONDS). */
  readonly coalesceWindowSeconds: number;
  /** Notion requests per minute per connection (NOTION_RATE_LIMIT_PER_MINUTE). */
  readonly ratePerMinute: number;
  /** Subscriptions per work item (one page). */
  readonly pageSize: number;
  /** Pushes in flight at once within one message. */
  readonly concurrency: number;
  /** Transient failures of one subscription before it is dead-lettered. */
  readonly maxAttempts: number;
  /** 429 answers in a row to one subscription's pushes before it is dead-lettered (docs/adr/0154). */
  readonly maxRateLimited: number;
  /** The queue's redrive maxReceiveCount: on the last receive a failing message is dead-lettered with its reason. */
  readonly maxReceiveCount: number;
  /**
   * The worker's Lambda timeout (WORKER_TIMEOUT_SECONDS, lib/data-model.ts): no invocation runs longer. A push
   * lease lasts this and LEASE_CLOCK_SKEW_MS from its claim (pushLeaseMs), so it outlasts its holder (docs/adr/0175).
   */
  readonly invocationMs: number;
  /** What a work item keeps of its invocation for the writes after its pushes (deferrals, delivery log, markers). */
  readonly reserveMs: number;
  /**
   * The longest one push can take: the source's deadline and one Notion request (UNFURL_DEADLINE_MS +
   * NOTION_TIMEOUT_MS). A push starts only with this and `reserveMs` left; otherwise it is deferred.
   */
  readonly pushMs: number;
  /** First backoff step after a transient failure. */
  readonly backoffBaseMs: number;
}

/** What a push lease adds to the invocation it may be held by: the clocks of two invocations may disagree. */
export const LEASE_CLOCK_SKEW_MS = 5_000;

/**
 * How long a push lease holds from its claim: longer than the invocation that took it can still run, on any
 * worker's clock, so an ended lease means its holder has finished (written whatever marker it would write).
 */
export const pushLeaseMs = (settings: Pick<WorkerSettings, 'invocationMs'>): number =>
  settings.invocationMs + LEASE_CLOCK_SKEW_MS;

export const DEFAULT_WORKER_SETTINGS: WorkerSettings = {
  coalesceWindowSeconds: 2,
  ratePerMinute: 180,
  pageSize: 50,
  concurrency: 8,
  maxAttempts: 5,
  maxRateLimited: 10,
  maxReceiveCount: 5,
  invocationMs: 30_000,
  reserveMs: 5_000,
  pushMs: 12_000,
  backoffBaseMs: 5_000,
};

export interface WorkerDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly queue: UpdateQueue;
  readonly deadLetters: DeadLetterQueue;
  readonly markers: MarkerStore;
  readonly subscriptions: SubscriptionStore;
  readonly connections: ConnectionStore;
  readonly rateLimits: RateLimitStore;
  readonly cipher: TokenCipher;
  readonly notion: ExternalObjectApi;
  /** Refreshes a connection's Notion token once after a 401, when it holds a refresh token (docs/adr/0151). */
  readonly notionTokens?: NotionTokenKeeping;
  readonly renderer: Renderer;
  /** The resource key of a previewed uri (through the unfurl rules), or undefined when no rule matches. */
  readonly resolveUri: (uri: string) => string | undefined;
  readonly events?: UpdateEvents;
  /** Per-connection log of pushes and Notion's answers; a failure to write it never fails a push. */
  readonly deliveries?: Pick<DeliveryLog, 'record' | 'recordMany'>;
  readonly settings?: Partial<WorkerSettings>;
}

export interface RecordInfo {
  readonly messageId: string;
  /** SQS ApproximateReceiveCount (1 on the first delivery). */
  readonly receiveCount: number;
  /** Milliseconds left in this invocation. */
  readonly remainingMs?: () => number;
}

export type RecordOutcome = 'processed' | 'dead-lettered';

/** Records one worker event (a log line, and a metric for some). */
export type Emit = (event: string, data: Record<string, unknown>) => void;

/** The worker's dependencies with the settings resolved, the connection bucket derived and one event sink. */
export interface StepDeps extends Omit<WorkerDeps, 'settings' | 'events'> {
  readonly settings: WorkerSettings;
  readonly bucket: NotionBucket;
  readonly emit: Emit;
}

/** Resolves the settings over the defaults; throws RangeError on an invalid rate (before any record is taken). */
export const resolveStepDeps = (deps: WorkerDeps): StepDeps => {
  const { settings: overrides, events, ...ports } = deps;
  const settings: WorkerSettings = { ...DEFAULT_WORKER_SETTINGS, ...overrides };
  return {
    ...ports,
    settings,
    bucket: notionBucketPolicy(settings.ratePerMinute),
    emit: (event, data) => events?.record(event, data),
  };
};
