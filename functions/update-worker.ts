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
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { tokenCipherFromConfig } from '#adapters/crypto/token-cipher.js';
import { authStateStore, connectionStore, rateLimitStore, subscriptionStore } from '#adapters/dynamo/factory.js';
import { externalObjectClientFromConfig } from '#adapters/notion/external-object.js';
import { createSqsClient, SqsUpdateQueue, updateQueueFromConfig } from '#adapters/sqs/update-queue.js';
import { sourceAdapterFromConfig } from '#core/sources/registry.js';
import { rulesFromConfig } from '#core/unfurl/rules.js';
import { resourceOfUri, sourceRenderer } from '#core/updates/render.js';
import { createUpdateWorker, type UpdateWorker, type WorkerDeps, type WorkerSettings } from '#core/updates/worker.js';
import { UPDATE_QUEUE } from '#lib/data-model.js';
import { ENV } from '#lib/env-names.js';
import { type Config, getConfig, need } from '#shared/config.js';
import { systemRandom } from '#shared/crypto.js';
import { logger, metrics } from '#shared/observability.js';

const WARN_EVENTS = new Set([
  'dead_lettered',
  'push_rejected',
  'push_blocked',
  'connection_disconnected',
  'push_rate_limited',
]);

/** Worker events counted as CloudWatch metrics (EMF), e.g. `Pushed`, `PushThrottled`, `DeadLettered`. */
const METRIC_EVENTS: Readonly<Record<string, string>> = {
  pushed: 'Pushed',
  push_unchanged: 'PushUnchanged',
  push_throttled: 'PushThrottled',
  push_rate_limited: 'NotionRateLimited',
  push_rejected: 'PushRejected',
  push_blocked: 'PushBlocked',
  push_retry_scheduled: 'PushRetryScheduled',
  subscription_dropped: 'SubscriptionDropped',
  connection_disconnected: 'ConnectionDisconnected',
  dead_lettered: 'DeadLettered',
  coalesced: 'EventCoalesced',
  window_opened: 'WindowOpened',
};

/** Metrics are emitted inside Lambda (and `sam local`) only: locally the structured logs say the same. */
const metricsEnabled = (): boolean => Boolean(process.env.AWS_LAMBDA_FUNCTION_NAME);
let metricsPending = false;

/** The worker wired to DynamoDB, SQS, the token cipher, Notion and the configured source adapter. */
export const workerFromConfig = (
  config: Config,
  overrides: Partial<Omit<WorkerDeps, 'settings'>> & { readonly settings?: Partial<WorkerSettings> } = {},
): UpdateWorker => {
  const clock = overrides.clock ?? { now: () => Date.now() };
  const cipher = overrides.cipher ?? tokenCipherFromConfig(config);
  const integration = rulesFromConfig(config);
  const deadLetterQueue = new SqsUpdateQueue(
    createSqsClient(config),
    need(config.queues.deadLetter, ENV.UPDATE_DLQ_URL),
  );
  return createUpdateWorker({
    clock,
    random: systemRandom,
    queue: updateQueueFromConfig(config),
    deadLetters: { send: (letter) => deadLetterQueue.send([letter]) },
    markers: authStateStore(config),
    subscriptions: subscriptionStore(config),
    connections: connectionStore(config),
    rateLimits: rateLimitStore(config),
    cipher,
    notion: externalObjectClientFromConfig(config),
    renderer: sourceRenderer({
      integration,
      adapter: sourceAdapterFromConfig({ config, now: () => clock.now() }),
      cipher,
      clock,
      devName: config.unfurl.devName,
      deadlineMs: config.unfurl.deadlineMs,
    }),
    resolveUri: resourceOfUri(integration),
    events: {
      record: (event, data) => {
        if (WARN_EVENTS.has(event)) logger.warn(event, { ...data });
        else logger.debug(event, { ...data });
        const metric = METRIC_EVENTS[event];
        if (metric && metricsEnabled()) {
          metrics.addMetric(metric, MetricUnit.Count, 1);
          metricsPending = true;
        }
      },
    },
    ...overrides,
    settings: {
      coalesceWindowSeconds: config.changes.coalesceWindowSeconds,
      ratePerMinute: config.notion.ratePerMinute,
      maxReceiveCount: UPDATE_QUEUE.deadLetter?.maxReceiveCount ?? 5,
      ...overrides.settings,
    },
  });
};

export const createWorkerHandler = (workerFor: () => UpdateWorker) => {
  const processor = new BatchProcessor(EventType.SQS);
  let worker: UpdateWorker | undefined;
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    worker ??= workerFor();
    const w = worker;
    const recordHandler = async (record: SQSRecord): Promise<void> => {
      const receiveCount = Number.parseInt(record.attributes?.ApproximateReceiveCount ?? '1', 10);
      await w.processRecord(record.body, {
        messageId: record.messageId,
        receiveCount: Number.isFinite(receiveCount) && receiveCount > 0 ? receiveCount : 1,
        remainingMs: () => context.getRemainingTimeInMillis(),
      });
    };
    try {
      return await processPartialResponse(event, recordHandler, processor, { context, throwOnFullBatchFailure: false });
    } finally {
      if (metricsPending) {
        metricsPending = false;
        metrics.publishStoredMetrics();
      }
    }
  };
};

export const handler = createWorkerHandler(() => workerFromConfig(getConfig()));
