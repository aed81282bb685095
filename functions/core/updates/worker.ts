/**
 * The update worker's domain logic: one queue message at a time.
 *
 *   change ──► open (or join) the resource's coalescing window
 *   flush  ──► at the window's end: first page of subscriptions (+ a `page` message for the rest)
 *   page   ──► one further page
 *   push   ──► named subscriptions deferred earlier (rate limit, Retry-After, backoff, time)
 *
 * For each subscription: render with the subscriber's rights, skip when the
 * content hash equals the last pushed one, hold a short lease so two workers
 * never push the same state at once, take a token from the connection's
 * bucket, PATCH Notion, act on the answer (classify.ts). Waiting is always a
 * delayed message, never a sleep. See docs/adr/0070..0074.
 */

import type { ChangeMessage } from '#core/changes/event.js';
import type { MarkerStore } from '#core/changes/ingest.js';
import { notionTokenContext } from '#core/oauth/cipher-contexts.js';
import type {
  Clock,
  Connection,
  ConnectionStore,
  Random,
  RateLimitStore,
  Subscription,
  SubscriptionStore,
  TokenCipher,
  UpdateQueue,
} from '#core/ports.js';
import { contentHash } from '#core/unfurl/attributes.js';
import { sha256Hex } from '#shared/crypto.js';
import { backoffMs, classifyAnswer } from './classify.js';
import {
  type DeadLetter,
  type FlushMessage,
  type PageMessage,
  type PushMessage,
  type PushTarget,
  parseWorkMessage,
} from './messages.js';
import {
  connectionBucketKey,
  connectionPauseKey,
  delaySecondsFor,
  notionBucketPolicy,
  workspacePauseKey,
} from './policy.js';
import type {
  DeadLetterQueue,
  DeliveryLog,
  ExternalObjectApi,
  ExternalObjectUpdate,
  Rendered,
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
  /** The queue's redrive maxReceiveCount: on the last receive a failing message is dead-lettered with its reason. */
  readonly maxReceiveCount: number;
  /** How long a push lease holds when its holder vanishes. */
  readonly leaseMs: number;
  /** Stop starting pushes when less than this remains of the invocation. */
  readonly reserveMs: number;
  /** First backoff step after a transient failure. */
  readonly backoffBaseMs: number;
}

export const DEFAULT_WORKER_SETTINGS: WorkerSettings = {
  coalesceWindowSeconds: 2,
  ratePerMinute: 180,
  pageSize: 50,
  concurrency: 8,
  maxAttempts: 5,
  maxReceiveCount: 5,
  leaseMs: 30_000,
  reserveMs: 5_000,
  backoffBaseMs: 5_000,
};

/** How long to wait before looking again at a subscription another worker is pushing. */
const BUSY_RETRY_MS = 5_000;

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
  readonly renderer: Renderer;
  /** The resource key of a previewed uri (through the unfurl rules), or undefined when no rule matches. */
  readonly resolveUri: (uri: string) => string | undefined;
  readonly events?: UpdateEvents;
  /** Per-connection log of pushes and Notion's answers; a failure to write it never fails a push. */
  readonly deliveries?: Pick<DeliveryLog, 'record'>;
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

export const coalesceMarkerKey = (resource: string): string => `coalesce:${resource}`;
const leaseKey = (resource: string, connectionId: string, uri: string, hash: string): string =>
  `push:${sha256Hex(`${resource}\n${connectionId}\n${uri}`)}:${hash}`;

/** Hash of what a subscriber would see: equal to what the unfurl callback records for the same attributes. */
export const renderedHash = (rendered: Exclude<Rendered, { kind: 'skip' }>): string =>
  rendered.kind === 'attributes'
    ? contentHash(rendered.attributes)
    : contentHash([{ error: { status: rendered.status, message: rendered.message } }]);

export const toUpdate = (uri: string, rendered: Exclude<Rendered, { kind: 'skip' }>): ExternalObjectUpdate => ({
  uri,
  operations:
    rendered.kind === 'attributes'
      ? [{ path: ['attributes'], set: rendered.attributes }]
      : [{ path: ['error'], set: { status: rendered.status, message: rendered.message } }],
});

const describeError = (error: unknown): string =>
  (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 500);

/** Per-message state shared by the pushes of one work item. */
interface BatchState {
  /** Who holds the push leases taken for this message: `<messageId>#<receiveCount>`. */
  readonly owner: { readonly messageId: string; readonly receiveCount: number };
  /**
   * Take the connection's token before rendering: for deferred work, which is
   * mostly waiting for the bucket, so a denied take costs no render.
   */
  readonly tokenFirst: boolean;
  readonly connections: Map<string, Promise<Connection | undefined>>;
  /** Connections (and workspaces) known to be unable to push before the given time. */
  readonly blockedUntil: Map<string, number>;
  readonly deferred: Map<number, PushTarget[]>;
  readonly deadLettered: Array<{ target: PushTarget; reason: string; detail: string }>;
}

export const createUpdateWorker = (deps: WorkerDeps) => {
  const settings: WorkerSettings = { ...DEFAULT_WORKER_SETTINGS, ...deps.settings };
  const bucket = notionBucketPolicy(settings.ratePerMinute);
  const windowMs = settings.coalesceWindowSeconds * 1000;
  const record = (event: string, data: Record<string, unknown>) => deps.events?.record(event, data);

  const random01 = (): number => {
    const bytes = Buffer.from(deps.random.token(4), 'base64url');
    return bytes.length >= 4 ? bytes.readUInt32BE(0) / 2 ** 32 : 0.5;
  };

  const deadLetter = async (reason: string, detail: string, message: unknown, receiveCount: number): Promise<void> => {
    const letter: DeadLetter = {
      type: 'dead-letter',
      reason,
      detail,
      failedAt: new Date(deps.clock.now()).toISOString(),
      receiveCount,
      message,
    };
    await deps.deadLetters.send(letter);
    record('dead_lettered', { reason, detail });
  };

  // -------------------------------------------------------------------------
  // change: coalescing
  // -------------------------------------------------------------------------

  const onChange = async (change: ChangeMessage, info: RecordInfo): Promise<RecordOutcome> => {
    const resource = change.resource ?? (change.uri !== undefined ? deps.resolveUri(change.uri) : undefined);
    if (resource === undefined) {
      await deadLetter(
        'unmatched_uri',
        'the uri matches none of the configured URL patterns',
        change,
        info.receiveCount,
      );
      return 'dead-lettered';
    }
    const now = deps.clock.now();
    const key = coalesceMarkerKey(resource);
    const until = now + windowMs;
    const opened = await deps.markers.putMarkerIfAbsent(key, `${change.id}@${until}`, until, now);
    if (opened) {
      const flush: FlushMessage = { type: 'flush', resource, window: change.id, until };
      await deps.queue.send([flush], { delaySeconds: delaySecondsFor(until - now) });
      record('window_opened', { resource, event: change.id });
      return 'processed';
    }
    // A redelivered opener (it may have stopped between the marker and the flush) sends its flush again.
    const current = await deps.markers.getMarker(key, now);
    const [owner, end] = (current ?? '').split('@');
    if (owner === change.id && end !== undefined && Number.isFinite(Number(end))) {
      const flush: FlushMessage = { type: 'flush', resource, window: change.id, until: Number(end) };
      await deps.queue.send([flush], { delaySeconds: delaySecondsFor(Number(end) - now) });
      record('window_reopened', { resource, event: change.id });
      return 'processed';
    }
    record('coalesced', { resource, event: change.id });
    return 'processed';
  };

  // -------------------------------------------------------------------------
  // pushes
  // -------------------------------------------------------------------------

  const defer = (state: BatchState, target: PushTarget, delayMs: number): void => {
    const seconds = delaySecondsFor(delayMs);
    const list = state.deferred.get(seconds) ?? [];
    list.push(target);
    state.deferred.set(seconds, list);
  };

  const connectionOf = (state: BatchState, id: string): Promise<Connection | undefined> => {
    let c = state.connections.get(id);
    if (!c) {
      c = deps.connections.get(id);
      state.connections.set(id, c);
    }
    return c;
  };

  const blocked = async (state: BatchState, connection: Connection, now: number): Promise<number | undefined> => {
    const own = state.blockedUntil.get(connection.id);
    if (own !== undefined && own > now) return own;
    const wsKey = workspacePauseKey(connection.notion.workspaceId);
    const ws = state.blockedUntil.get(wsKey);
    if (ws !== undefined && ws > now) return ws;
    if (own === undefined) {
      const [wsPause, connPause] = await Promise.all([
        deps.rateLimits.pausedUntil(wsKey, now),
        deps.rateLimits.pausedUntil(connectionPauseKey(connection.id), now),
      ]);
      const until = Math.max(wsPause ?? 0, connPause ?? 0);
      state.blockedUntil.set(connection.id, until);
      if (until > now) return until;
    }
    return undefined;
  };

  const release = (key: string, now: number) => deps.markers.putMarker(key, 'released', now - 1000);

  /**
   * Takes the push lease. A lease held by an earlier delivery of this very
   * message is taken over: SQS redelivers only after the visibility timeout,
   * long after that delivery's invocation ended (it crashed or timed out).
   */
  const acquire = async (key: string, state: BatchState, now: number): Promise<boolean> => {
    const { messageId, receiveCount } = state.owner;
    const mine = `${messageId}#${receiveCount}`;
    const until = now + settings.leaseMs;
    if (await deps.markers.putMarkerIfAbsent(key, mine, until, now)) return true;
    const holder = await deps.markers.getMarker(key, now);
    if (holder === undefined) return deps.markers.putMarkerIfAbsent(key, mine, until, now);
    const cut = holder.lastIndexOf('#');
    if (holder.slice(0, cut) === messageId && Number(holder.slice(cut + 1)) < receiveCount) {
      await deps.markers.putMarker(key, mine, until);
      record('push_lease_taken_over', { previous: Number(holder.slice(cut + 1)), receiveCount });
      return true;
    }
    return false;
  };

  const transient = (state: BatchState, target: PushTarget, reason: string, detail: string): void => {
    const attempt = (target.attempt ?? 0) + 1;
    if (attempt >= settings.maxAttempts) {
      state.deadLettered.push({ target, reason, detail });
      return;
    }
    defer(
      state,
      { connectionId: target.connectionId, uri: target.uri, attempt },
      backoffMs(attempt, random01(), settings.backoffBaseMs),
    );
    record('push_retry_scheduled', { connectionId: target.connectionId, reason, attempt });
  };

  const pushOne = async (
    resource: string,
    target: PushTarget,
    known: Subscription | undefined,
    state: BatchState,
  ): Promise<void> => {
    const { connectionId, uri } = target;
    const connection = await connectionOf(state, connectionId);
    if (connection?.status !== 'active' || connection.notionTokenCiphertext === undefined) {
      record('push_skipped', { resource, connectionId, reason: 'connection_inactive' });
      return;
    }
    let now = deps.clock.now();
    const pausedUntil = await blocked(state, connection, now);
    if (pausedUntil !== undefined) {
      defer(state, target, pausedUntil - now);
      return;
    }
    const subscription = known ?? (await deps.subscriptions.get(resource, connectionId, uri));
    if (!subscription) {
      record('push_skipped', { resource, connectionId, reason: 'subscription_gone' });
      return;
    }

    // Deferred work takes its token first (it is mostly waiting for the bucket); fresh work renders
    // first, so that an unchanged preview spends no token.
    let tokenTaken = false;
    const takeToken = async (at: number): Promise<boolean> => {
      const taken = await deps.rateLimits.take(connectionBucketKey(connectionId), bucket, at);
      if (taken.allowed) return true;
      state.blockedUntil.set(connectionId, at + taken.retryAfterMs);
      defer(state, target, taken.retryAfterMs);
      record('push_throttled', { connectionId, retryAfterMs: taken.retryAfterMs });
      return false;
    };
    if (state.tokenFirst) {
      if (!(await takeToken(now))) return;
      tokenTaken = true;
    }

    let rendered: Rendered;
    try {
      rendered = await deps.renderer.render({ connection, subscription });
    } catch (error) {
      transient(state, target, 'source_unavailable', describeError(error));
      return;
    }
    if (rendered.kind === 'skip') {
      record('push_skipped', { resource, connectionId, reason: rendered.reason });
      return;
    }
    const hash = renderedHash(rendered);
    if (subscription.contentHash === hash) {
      record('push_unchanged', { resource, connectionId });
      return;
    }

    now = deps.clock.now();
    const lease = leaseKey(resource, connectionId, uri, hash);
    if (!(await acquire(lease, state, now))) {
      defer(state, target, BUSY_RETRY_MS);
      record('push_busy', { resource, connectionId });
      return;
    }
    if (!tokenTaken && !(await takeToken(now))) {
      await release(lease, now);
      return;
    }

    let token: string;
    try {
      token = await deps.cipher.decrypt(connection.notionTokenCiphertext, notionTokenContext(connectionId));
    } catch (error) {
      await release(lease, now);
      throw error;
    }
    const answer = await deps.notion.patch(token, toUpdate(subscription.uri, rendered));
    const decision = classifyAnswer(answer);
    now = deps.clock.now();
    const status = answer.kind === 'response' ? answer.status : answer.kind;
    if (deps.deliveries) {
      try {
        await deps.deliveries.record({
          connectionId,
          at: now,
          resource,
          uri,
          status,
          action: decision.action,
          ...(answer.kind === 'response' && answer.code !== undefined ? { code: answer.code } : {}),
          ...(answer.kind === 'response' && answer.message !== undefined ? { message: answer.message } : {}),
          ...(answer.kind === 'response' && answer.requestId !== undefined ? { requestId: answer.requestId } : {}),
        });
      } catch (error) {
        record('delivery_log_failed', { connectionId, detail: describeError(error) });
      }
    }
    switch (decision.action) {
      case 'done':
        await deps.subscriptions.recordPush(resource, connectionId, uri, {
          contentHash: hash,
          snapshot: rendered.kind === 'attributes' ? rendered.attributes : null,
          now,
        });
        record('pushed', { resource, connectionId, status });
        return;
      case 'disconnect': {
        state.blockedUntil.set(connectionId, Number.MAX_SAFE_INTEGER);
        state.connections.set(connectionId, Promise.resolve(undefined));
        await deps.connections.end(connectionId, { status: 'disconnected', reason: 'notion_unauthorized', now });
        const removed = await deps.subscriptions.deleteAllForConnection(connectionId);
        record('connection_disconnected', { connectionId, code: decision.code, subscriptionsRemoved: removed });
        return;
      }
      case 'drop':
        await deps.subscriptions.delete(resource, connectionId, uri);
        record('subscription_dropped', { resource, connectionId, code: decision.code });
        return;
      case 'reject':
        await release(lease, now);
        record('push_rejected', {
          resource,
          connectionId,
          status: decision.status,
          code: decision.code,
          message: decision.message,
        });
        return;
      case 'blocked':
        await release(lease, now);
        record('push_blocked', { resource, connectionId, code: decision.code });
        return;
      case 'retry-after': {
        await release(lease, now);
        const until = now + decision.delayMs;
        if (decision.scope === 'workspace') {
          await deps.rateLimits.pause(workspacePauseKey(connection.notion.workspaceId), until);
          state.blockedUntil.set(workspacePauseKey(connection.notion.workspaceId), until);
        } else {
          await deps.rateLimits.pause(connectionPauseKey(connectionId), until);
        }
        state.blockedUntil.set(connectionId, until);
        record('push_rate_limited', { connectionId, scope: decision.scope, retryAfterMs: decision.delayMs, status });
        if (decision.overload) {
          const attempt = (target.attempt ?? 0) + 1;
          if (attempt >= settings.maxAttempts) {
            state.deadLettered.push({ target, reason: 'notion_overloaded', detail: `HTTP ${status}` });
            return;
          }
          defer(state, { connectionId, uri, attempt }, decision.delayMs);
          return;
        }
        defer(state, target, decision.delayMs);
        return;
      }
      case 'backoff':
        await release(lease, now);
        transient(state, target, 'notion_unavailable', decision.reason);
        return;
    }
  };

  const pushAll = async (
    resource: string,
    window: string,
    items: ReadonlyArray<{ readonly target: PushTarget; readonly subscription?: Subscription }>,
    info: RecordInfo,
    options: { readonly tokenFirst: boolean },
  ): Promise<void> => {
    const state: BatchState = {
      owner: { messageId: info.messageId, receiveCount: info.receiveCount },
      tokenFirst: options.tokenFirst,
      connections: new Map(),
      blockedUntil: new Map(),
      deferred: new Map(),
      deadLettered: [],
    };
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < items.length) {
        const item = items[next++];
        if (!item) break;
        if (info.remainingMs !== undefined && info.remainingMs() < settings.reserveMs) {
          defer(state, item.target, 0);
          continue;
        }
        await pushOne(resource, item.target, item.subscription, state);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(settings.concurrency, items.length)) }, lane));

    for (const [delaySeconds, targets] of [...state.deferred].sort(([a], [b]) => a - b)) {
      for (let i = 0; i < targets.length; i += settings.pageSize) {
        const push: PushMessage = { type: 'push', resource, window, targets: targets.slice(i, i + settings.pageSize) };
        await deps.queue.send([push], { delaySeconds });
      }
    }
    for (const { target, reason, detail } of state.deadLettered) {
      const message: PushMessage = {
        type: 'push',
        resource,
        window,
        targets: [{ connectionId: target.connectionId, uri: target.uri }],
      };
      await deadLetter(reason, detail, message, info.receiveCount);
    }
  };

  const onPage = async (message: FlushMessage | PageMessage, info: RecordInfo): Promise<void> => {
    const now = deps.clock.now();
    if (message.type === 'flush' && now < message.until) {
      // Delivered before the window closed (clock skew): wait for the rest of it.
      await deps.queue.send([message], { delaySeconds: delaySecondsFor(message.until - now) });
      return;
    }
    const page = await deps.subscriptions.listByResource(message.resource, {
      limit: settings.pageSize,
      ...(message.type === 'page' ? { cursor: message.cursor } : {}),
    });
    if (page.cursor !== undefined) {
      const nextPage: PageMessage = {
        type: 'page',
        resource: message.resource,
        window: message.window,
        cursor: page.cursor,
      };
      await deps.queue.send([nextPage]);
    }
    if (message.type === 'flush') record('window_flushed', { resource: message.resource, window: message.window });
    await pushAll(
      message.resource,
      message.window,
      page.items.map((subscription) => ({
        target: { connectionId: subscription.connectionId, uri: subscription.uri },
        subscription,
      })),
      info,
      { tokenFirst: false },
    );
  };

  /** Processes one message body. Throws to have the message delivered again (until maxReceiveCount). */
  const processRecord = async (body: string, info: RecordInfo): Promise<RecordOutcome> => {
    const parsed = parseWorkMessage(body);
    if (!parsed.ok) {
      let original: unknown = body;
      try {
        original = JSON.parse(body);
      } catch {
        // keep the raw text
      }
      await deadLetter('invalid_message', parsed.problem, original, info.receiveCount);
      return 'dead-lettered';
    }
    const message = parsed.message;
    try {
      switch (message.type) {
        case 'change':
          return await onChange(message, info);
        case 'flush':
        case 'page':
          await onPage(message, info);
          return 'processed';
        case 'push':
          await pushAll(
            message.resource,
            message.window,
            message.targets.map((target) => ({ target })),
            info,
            { tokenFirst: true },
          );
          return 'processed';
      }
    } catch (error) {
      if (info.receiveCount >= settings.maxReceiveCount) {
        await deadLetter('failed_repeatedly', describeError(error), message, info.receiveCount);
        return 'dead-lettered';
      }
      throw error;
    }
  };

  return { processRecord, settings, bucket };
};

export type UpdateWorker = ReturnType<typeof createUpdateWorker>;
