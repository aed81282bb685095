/**
 * SQS-triggered update worker: Powertools batch processing with partial
 * failures, one call into #core/updates/worker.js per record.
 *
 * A record that throws is reported in `batchItemFailures` and comes back after
 * the visibility timeout (then the DLQ, after maxReceiveCount). A fully failed
 * batch is reported the same way, record by record, instead of failing the
 * invocation (`throwOnFullBatchFailure: false`, docs/adr/0073): the outcome is
 * identical for SQS, and the function's Errors metric stays reserved for crashes.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { pushMsFitting } from '#adapters/config/push-timing.js';
import { rulesFromConfig } from '#adapters/config/unfurl-rules.js';
import { upstreamCredentialsFor } from '#adapters/config/upstream-credentials.js';
import { tokenCipherFromConfig } from '#adapters/crypto/token-cipher.js';
import {
  authStateStore,
  connectionStore,
  deliveryLog,
  rateLimitStore,
  subscriptionStore,
} from '#adapters/dynamo/factory.js';
import { externalObjectClientFromConfig } from '#adapters/notion/external-object.js';
import { notionApiFromConfig } from '#adapters/notion/notion-api.js';
import { loadSecret, loadSecretField } from '#adapters/oidc/secrets.js';
import { sourceAdapterFromConfig } from '#adapters/sources/registry.js';
import { createSqsClient, SqsUpdateQueue } from '#adapters/sqs/update-queue.js';
import type { ExternalObjectApi } from '#core/updates/ports.js';
import { resourceOfUri, sourceRenderer } from '#core/updates/render.js';
import { createUpdateWorker, type UpdateWorker, type WorkerDeps, type WorkerSettings } from '#core/updates/worker.js';
import { UPDATE_QUEUE, WORKER_TIMEOUT_SECONDS } from '#lib/data-model.js';
import { ENV } from '#lib/env-names.js';
import { type Config, need } from '#shared/config.js';
import { systemRandom } from '#shared/crypto.js';
import { countMetric, flushMetrics, logger, METRIC } from '#shared/observability.js';

/** Worker events logged at WARN; every other one at DEBUG (docs/observability.md, the runbook's queries). */
export const WARN_EVENTS: ReadonlySet<string> = new Set([
  'dead_lettered',
  'push_rejected',
  'push_blocked',
  'connection_disconnected',
  'connection_ended',
  'push_rate_limited',
  // Degraded, not failed: the work goes on, but support's delivery log misses entries (delivery_log_failed), a
  // push may be repeated once (pushed_marker_failed), a fan-out page may be sent again (page_marker_failed), a
  // subscription may be dead-lettered twice (dead_letter_marker_failed), or
  // a work item reads item by item (read_ahead_failed). At INFO they would leave no trace.
  'delivery_log_failed',
  'pushed_marker_failed',
  'page_marker_failed',
  'dead_letter_marker_failed',
  'read_ahead_failed',
  // A claim left for a later delivery to take over (docs/adr/0176).
  'push_release_failed',
]);

/** Outcomes of a Notion token refresh (docs/adr/0151) logged as warnings: the others are routine. */
const WARN_REFRESH_OUTCOMES = new Set(['failed', 'refused', 'not_saved']);

/**
 * Worker events counted as CloudWatch metrics (EMF, namespace NotionLinkPreview): the names of
 * METRIC with their dimensions, plus one plain count per other outcome (e.g. `Pushed`, `PushUnchanged`).
 * docs/observability.md lists them all.
 */
const PLAIN_METRICS: Readonly<Record<string, string>> = {
  pushed: 'Pushed',
  push_unchanged: 'PushUnchanged',
  push_rejected: 'PushRejected',
  push_blocked: 'PushBlocked',
  push_retry_scheduled: 'PushRetryScheduled',
  subscription_dropped: 'SubscriptionDropped',
  connection_disconnected: 'ConnectionDisconnected',
};

/** Counts one worker event as its metric (exported for tests). */
export const countWorkerEvent = (event: string, data: Readonly<Record<string, unknown>>): void => {
  switch (event) {
    case 'push_throttled':
      // Our own bucket said wait (docs/adr/0072).
      countMetric(METRIC.rateLimitWait, { scope: 'bucket' });
      return;
    case 'push_rate_limited':
      // Notion answered 429 / 529: scope connection | workspace | endpoint | unknown.
      countMetric(METRIC.rateLimitWait, { scope: String(data.scope ?? 'unknown') });
      return;
    case 'connection_ended':
      // The one way a connection ends (#core/connection-end.js), here after Notion's 401.
      countMetric(METRIC.connectionEnded, { reason: String(data.reason ?? 'unknown') });
      return;
    case 'dead_lettered':
      countMetric(METRIC.deadLettered, { reason: String(data.reason ?? 'unknown') });
      return;
    case 'coalesced':
      countMetric(METRIC.changeCoalesced);
      return;
    case 'window_opened':
    case 'window_reopened':
      countMetric(METRIC.windowOpened);
      return;
    case 'notion_token_refresh':
      // A 401 to a push with a Notion refresh token held (docs/adr/0151).
      countMetric(METRIC.notionTokenRefresh, { outcome: String(data.outcome ?? 'unknown') });
      return;
    case 'push_skipped':
      // Nothing is pushed for a connection whose upstream login must be renewed (docs/adr/0127).
      if (data.reason === 'upstream_login_required') countMetric('PushSkippedUpstreamLogin');
      return;
  }
  const plain = PLAIN_METRICS[event];
  if (plain) countMetric(plain);
};

/** Counts every answer of Notion's API by status; the client itself never throws. */
const countingNotion = (client: ExternalObjectApi): ExternalObjectApi => ({
  patch: async (token, update) => {
    const answer = await client.patch(token, update);
    countMetric(METRIC.notionResponse, {
      operation: 'patch_external_object',
      status: answer.kind === 'response' ? String(answer.status) : answer.kind,
    });
    return answer;
  },
});

const recordContext = new AsyncLocalStorage<{ readonly messageId: string }>();

/** Logs one worker event (WARN for what an operator must see, DEBUG for routine) and counts it (exported for tests). */
export const recordWorkerEvent = (event: string, data: Readonly<Record<string, unknown>>): void => {
  const messageId = recordContext.getStore()?.messageId;
  const fields = messageId ? { ...data, messageId, correlation_id: messageId } : { ...data };
  if (WARN_EVENTS.has(event) || (event === 'notion_token_refresh' && WARN_REFRESH_OUTCOMES.has(String(data.outcome))))
    logger.warn(event, fields);
  else logger.debug(event, fields);
  countWorkerEvent(event, data);
};

/** The worker wired to DynamoDB, SQS, the token cipher, Notion and the configured source adapter. */
export const workerFromConfig = (
  config: Config,
  overrides: Partial<Omit<WorkerDeps, 'settings'>> & { readonly settings?: Partial<WorkerSettings> } = {},
): UpdateWorker => {
  // A push that could outlast the invocation is deferred instead (a Lambda timeout fails every record of its
  // batch); settings that leave no push room would defer every push for ever, so they fail the init.
  const pushMs = pushMsFitting(config, overrides.settings?.reserveMs);
  const clock = overrides.clock ?? { now: () => Date.now() };
  const cipher = overrides.cipher ?? tokenCipherFromConfig(config);
  const integration = rulesFromConfig(config);
  const connections = connectionStore(config);
  // One SQS client for both queues, as the SDK recommends one client per service.
  const sqs = createSqsClient(config);
  const queue = new SqsUpdateQueue(sqs, need(config.queues.updates, ENV.UPDATE_QUEUE_URL));
  const deadLetterQueue = new SqsUpdateQueue(sqs, need(config.queues.deadLetter, ENV.UPDATE_DLQ_URL));
  return createUpdateWorker({
    clock,
    random: systemRandom,
    queue,
    deadLetters: { send: (letters) => deadLetterQueue.send(letters) },
    markers: authStateStore(config),
    subscriptions: subscriptionStore(config),
    connections,
    rateLimits: rateLimitStore(config),
    cipher,
    notion: countingNotion(externalObjectClientFromConfig(config)),
    // After a 401, a connection holding a Notion refresh token refreshes it once (docs/adr/0151).
    notionTokens: {
      store: connections,
      refresher: notionApiFromConfig(config, loadSecretField),
      // Longer than the worker can run: a claim runs out only once its holder is gone.
      claimMs: WORKER_TIMEOUT_SECONDS * 1000 + 2 * config.notion.timeoutMs,
      requestTimeoutMs: config.notion.timeoutMs,
    },
    ...(config.tables.deliveryLog ? { deliveries: deliveryLog(config) } : {}),
    renderer: sourceRenderer({
      integration,
      adapter: sourceAdapterFromConfig({ config, now: () => clock.now(), loadSecret }),
      credentialsFor: upstreamCredentialsFor(config, {
        cipher: () => Promise.resolve(cipher),
        store: connections,
        now: () => clock.now(),
        maxWaitMs: config.unfurl.deadlineMs,
      }),
      clock,
      devName: config.unfurl.devName,
      deadlineMs: config.unfurl.deadlineMs,
    }),
    resolveUri: resourceOfUri(integration),
    events: { record: recordWorkerEvent },
    ...overrides,
    settings: {
      coalesceWindowSeconds: config.changes.coalesceWindowSeconds,
      ratePerMinute: config.notion.ratePerMinute,
      maxReceiveCount: UPDATE_QUEUE.deadLetter?.maxReceiveCount ?? 5,
      // The function's timeout, as the stack sets it: push leases are derived from it (docs/adr/0175).
      invocationMs: WORKER_TIMEOUT_SECONDS * 1000,
      pushMs,
      ...overrides.settings,
    },
  });
};

export const createWorkerHandler = (workerFor: () => UpdateWorker) => {
  const processor = new BatchProcessor(EventType.SQS);
  let worker: UpdateWorker | undefined;
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    worker ??= workerFor();
    if (context?.functionName) logger.addContext(context);
    const w = worker;
    const recordHandler = async (record: SQSRecord): Promise<void> => {
      const receiveCount = Number.parseInt(record.attributes?.ApproximateReceiveCount ?? '1', 10);
      // Records run concurrently: each one's log lines carry its SQS message id as the correlation id.
      const attempt = Number.isFinite(receiveCount) && receiveCount > 0 ? receiveCount : 1;
      await recordContext.run({ messageId: record.messageId }, async () => {
        try {
          await w.processRecord(record.body, {
            messageId: record.messageId,
            receiveCount: attempt,
            remainingMs: () => context.getRemainingTimeInMillis(),
          });
        } catch (error) {
          // The message is delivered again (until the queue's maxReceiveCount): each failed attempt is logged.
          logger.warn('worker.record_failed', {
            messageId: record.messageId,
            correlation_id: record.messageId,
            receiveCount: attempt,
            error,
          });
          throw error;
        }
      });
    };
    try {
      return await processPartialResponse(event, recordHandler, processor, { context, throwOnFullBatchFailure: false });
    } finally {
      flushMetrics();
    }
  };
};
