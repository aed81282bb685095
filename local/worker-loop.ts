/**
 * The local stand-in for Lambda's SQS event source mapping.
 *
 * Long-polls the update queue through the real @aws-sdk/client-sqs client,
 * hands each batch to the worker handler as a genuine `SQSEvent`, and applies
 * Lambda's partial-batch semantics (ReportBatchItemFailures):
 *
 * - the handler resolves with no `batchItemFailures` (or an empty list, or
 *   nothing at all) → every record succeeded and is deleted;
 * - it lists failures → every other record is deleted; the listed ones stay
 *   in the queue and reappear after the visibility timeout;
 * - it throws, or its response is invalid (not an object, an identifier that
 *   is empty, not a string or not a message of the batch) → the whole batch
 *   failed and nothing is deleted.
 *
 * Nothing is retried here: redelivery, ApproximateReceiveCount and the move to
 * the dead-letter queue after maxReceiveCount are the queue's own behaviour.
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { lambdaContext } from './server.js';

export type WorkerHandler = (event: SQSEvent, context: Context) => Promise<unknown>;

export interface WorkerLoopOptions {
  readonly sqs: Pick<SQSClient, 'send'>;
  readonly queueUrl: string;
  readonly handler: WorkerHandler;
  /** Long-poll wait (seconds, 0–20; default 20 like Lambda's pollers). */
  readonly waitTimeSeconds?: number;
  /** Messages per batch (1–10; default 10). */
  readonly batchSize?: number;
  /** Lambda timeout given to the handler's context (ms; default 30 s). */
  readonly functionTimeoutMs?: number;
  readonly functionName?: string;
  /** Pause after a failed ReceiveMessage before polling again (ms; default 1 s). */
  readonly errorBackoffMs?: number;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string, detail?: unknown) => void;
}

export interface BatchOutcome {
  readonly received: number;
  readonly deleted: number;
  readonly failed: number;
  /** The whole batch failed (the handler threw or answered invalidly). */
  readonly batchFailed: boolean;
}

export interface WorkerLoop {
  /** Batches handled so far. */
  readonly batches: number;
  /** False while its last poll of the queue failed (it retries after a pause): GET /healthz says "down". */
  readonly polling: boolean;
  /** Resolves after the next batch the loop handles (for tests and tools). */
  nextBatch(): Promise<BatchOutcome>;
  /** Aborts the poll in flight, waits for the batch being handled, and stops. */
  stop(): Promise<void>;
}

const ATTRIBUTE_NAMES = [
  'AWSTraceHeader',
  'ApproximateReceiveCount',
  'SentTimestamp',
  'SenderId',
  'ApproximateFirstReceiveTimestamp',
  'SequenceNumber',
  'MessageGroupId',
  'MessageDeduplicationId',
  'DeadLetterQueueSourceArn',
] as const;

const toMessageAttributes = (attrs: Record<string, MessageAttributeValue> | undefined): SQSMessageAttributes => {
  const b64 = (v: Uint8Array) => Buffer.from(v).toString('base64');
  // fromEntries keeps an attribute named `__proto__` as an attribute (an assignment would set the prototype).
  return Object.fromEntries(
    Object.entries(attrs ?? {}).map(([name, v]) => [
      name,
      {
        ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}),
        ...(v.BinaryValue !== undefined ? { binaryValue: b64(v.BinaryValue) } : {}),
        stringListValues: v.StringListValues ?? [],
        binaryListValues: (v.BinaryListValues ?? []).map(b64),
        dataType: v.DataType ?? 'String',
      },
    ]),
  );
};

/** The ARN's region, e.g. `arn:aws:sqs:us-east-1:000000000000:q` → `us-east-1`. */
export const regionOfArn = (arn: string): string => arn.split(':')[3] ?? '';

/** Turns a received SQS message into the record Lambda would deliver. */
export const toSqsRecord = (message: Message, queueArn: string): SQSRecord => {
  const a = message.Attributes ?? {};
  const attributes: SQSRecord['attributes'] = {
    ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
    SentTimestamp: a.SentTimestamp ?? String(Date.now()),
    SenderId: a.SenderId ?? '',
    ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
  };
  for (const name of ATTRIBUTE_NAMES) {
    const value = a[name];
    if (value !== undefined) attributes[name] = value;
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes,
    messageAttributes: toMessageAttributes(message.MessageAttributes),
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: regionOfArn(queueArn),
  };
};

export type BatchVerdict =
  | { readonly ok: true; readonly failedIds: ReadonlySet<string> }
  | { readonly ok: false; readonly reason: string };

/**
 * Reads a handler's response the way Lambda does with ReportBatchItemFailures.
 * `undefined`/`null`, `{}` and an empty or null `batchItemFailures` mean success.
 */
export const interpretBatchResponse = (response: unknown, messageIds: readonly string[]): BatchVerdict => {
  if (response === undefined || response === null) return { ok: true, failedIds: new Set() };
  if (typeof response !== 'object' || Array.isArray(response)) {
    return { ok: false, reason: 'the response is not an object' };
  }
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { ok: true, failedIds: new Set() };
  if (!Array.isArray(failures)) return { ok: false, reason: 'batchItemFailures is not a list' };
  const known = new Set(messageIds);
  const failedIds = new Set<string>();
  for (const item of failures) {
    const id =
      typeof item === 'object' && item !== null ? (item as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    if (typeof id !== 'string' || id === '') return { ok: false, reason: 'an itemIdentifier is missing or empty' };
    if (!known.has(id)) return { ok: false, reason: `itemIdentifier ${id} is not a message of the batch` };
    failedIds.add(id);
  }
  return { ok: true, failedIds };
};

const isAbort = (error: unknown): boolean =>
  typeof error === 'object' &&
  error !== null &&
  ((error as { name?: string }).name === 'AbortError' || (error as { name?: string }).name === 'AbortErrorException');

const defaultLog: NonNullable<WorkerLoopOptions['log']> = (level, message, detail) => {
  const line = `[worker-loop] ${message}`;
  if (level === 'error') console.error(line, detail ?? '');
  else if (level === 'warn') console.warn(line, detail ?? '');
};

/** Starts polling; the returned loop runs until `stop()`. */
export const startWorkerLoop = async (options: WorkerLoopOptions): Promise<WorkerLoop> => {
  const log = options.log ?? defaultLog;
  const wait = options.waitTimeSeconds ?? 20;
  const batchSize = options.batchSize ?? 10;
  const functionName = options.functionName ?? 'notion-link-preview-local-update-worker';
  const timeoutMs = options.functionTimeoutMs ?? 30_000;
  const backoffMs = options.errorBackoffMs ?? 1_000;

  const attrs = await options.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: options.queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queueArn = attrs.Attributes?.QueueArn;
  if (!queueArn) throw new Error(`The queue ${options.queueUrl} has no ARN`);

  let stopping = false;
  let controller = new AbortController();
  let batches = 0;
  let polling = true;
  let waiters: Array<(o: BatchOutcome) => void> = [];
  let backoff: { timer: NodeJS.Timeout; resolve: () => void } | undefined;

  const settle = (outcome: BatchOutcome) => {
    batches++;
    const ws = waiters;
    waiters = [];
    for (const w of ws) w(outcome);
  };

  const deleteRecords = async (records: readonly SQSRecord[]): Promise<number> => {
    let deleted = 0;
    for (let i = 0; i < records.length; i += 10) {
      const chunk = records.slice(i, i + 10);
      const out = await options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: chunk.map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle })),
        }),
      );
      deleted += out.Successful?.length ?? 0;
      if (out.Failed && out.Failed.length > 0)
        log('warn', `${out.Failed.length} message(s) could not be deleted`, out.Failed);
    }
    return deleted;
  };

  const handleBatch = async (messages: readonly Message[]): Promise<BatchOutcome> => {
    const records = messages.map((m) => toSqsRecord(m, queueArn));
    const event: SQSEvent = { Records: records };
    let verdict: BatchVerdict;
    try {
      // Like Lambda, a function still running at its timeout has failed the whole batch.
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the worker timed out after ${timeoutMs} ms`)), timeoutMs);
      });
      const invocation = Promise.resolve().then(() =>
        options.handler(event, lambdaContext(functionName, timeoutMs, randomUUID())),
      );
      const response = await Promise.race([invocation, timedOut]).finally(() => clearTimeout(timer));
      verdict = interpretBatchResponse(
        response,
        records.map((r) => r.messageId),
      );
    } catch (error) {
      log('error', `the worker failed a batch of ${records.length}; every message will be retried`, error);
      return { received: records.length, deleted: 0, failed: records.length, batchFailed: true };
    }
    if (!verdict.ok) {
      log('error', `invalid batch response (${verdict.reason}); every message will be retried`);
      return { received: records.length, deleted: 0, failed: records.length, batchFailed: true };
    }
    const succeeded = records.filter((r) => !verdict.failedIds.has(r.messageId));
    const deleted = await deleteRecords(succeeded);
    return { received: records.length, deleted, failed: verdict.failedIds.size, batchFailed: false };
  };

  const loop = (async () => {
    while (!stopping) {
      let messages: Message[];
      try {
        const out = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: wait,
            AttributeNames: ['All'],
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: controller.signal },
        );
        messages = out.Messages ?? [];
        polling = true;
      } catch (error) {
        if (stopping || isAbort(error)) break;
        polling = false;
        log('warn', 'polling the update queue failed; retrying', error);
        await new Promise<void>((resolve) => {
          backoff = { timer: setTimeout(resolve, backoffMs), resolve };
        });
        backoff = undefined;
        continue;
      }
      if (messages.length === 0) continue;
      try {
        settle(await handleBatch(messages));
      } catch (error) {
        // Deleting failed: the messages reappear after the visibility timeout, as they would in AWS.
        log('error', 'finishing a batch failed', error);
        settle({ received: messages.length, deleted: 0, failed: messages.length, batchFailed: true });
      }
    }
  })();

  return {
    get batches() {
      return batches;
    },
    get polling() {
      return polling;
    },
    nextBatch: () => new Promise<BatchOutcome>((resolve) => waiters.push(resolve)),
    async stop() {
      if (stopping) return loop;
      stopping = true;
      controller.abort();
      controller = new AbortController();
      if (backoff) {
        clearTimeout(backoff.timer);
        backoff.resolve();
      }
      await loop;
    },
  };
};
