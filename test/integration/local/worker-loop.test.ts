/**
 * The worker loop against the embedded SQS emulator (fauxqs), with test
 * handlers: Lambda's partial batch semantics, redelivery after the visibility
 * timeout and redrive to the dead-letter queue.
 */

import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type Emulators, startEmulators } from '#local/emulators.js';
import { startWorkerLoop, type WorkerHandler, type WorkerLoop } from '#local/worker-loop.js';

const MAX_RECEIVES = 2;

let emulators: Emulators;
let sqs: SQSClient;
let queueUrl: string;
let dlqUrl: string;
let loop: WorkerLoop | undefined;
let queues = 0;

beforeAll(async () => {
  emulators = await startEmulators({ ttlSweepMs: 0 });
  sqs = new SQSClient({
    endpoint: emulators.sqsEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

// A fresh queue pair per test, like the update queue but with a 1 s visibility timeout: a poll aborted by the
// previous test's stop() may still take a message on the server side, which would skew receive counts.
beforeEach(async () => {
  queues++;
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `worker-loop-${queues}-dlq` }));
  dlqUrl = dlq.QueueUrl as string;
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] })))
    .Attributes?.QueueArn;
  const q = await sqs.send(
    new CreateQueueCommand({
      QueueName: `worker-loop-${queues}`,
      Attributes: {
        VisibilityTimeout: '1',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: MAX_RECEIVES }),
      },
    }),
  );
  queueUrl = q.QueueUrl as string;
});

afterEach(async () => {
  await loop?.stop();
  loop = undefined;
});

afterAll(async () => {
  sqs.destroy();
  await emulators.stop();
});

/** Every delivery the handler saw, and a way to wait for a condition on them. */
const recorder = (decide: (record: SQSRecord) => 'ok' | 'fail' | 'throw') => {
  const deliveries: SQSRecord[] = [];
  let waiters: Array<() => void> = [];
  const handler: WorkerHandler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
    deliveries.push(...event.Records);
    const ws = waiters;
    waiters = [];
    for (const w of ws) w();
    const verdicts = event.Records.map((r) => ({ r, v: decide(r) }));
    if (verdicts.some((x) => x.v === 'throw')) throw new Error('worker crashed');
    return {
      batchItemFailures: verdicts.filter((x) => x.v === 'fail').map((x) => ({ itemIdentifier: x.r.messageId })),
    };
  };
  const until = async (condition: () => boolean) => {
    while (!condition()) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  return { deliveries, handler, until };
};

const start = async (handler: WorkerHandler) => {
  loop = await startWorkerLoop({ sqs, queueUrl, handler, waitTimeSeconds: 1, log: () => undefined });
  return loop;
};

const sendAll = (bodies: readonly string[]) =>
  sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: bodies.map((MessageBody, i) => ({ Id: String(i), MessageBody })),
    }),
  );

/** Receives what a queue holds (without deleting it); polls until something arrives when `wait` is set. */
const drain = async (url: string, wait: boolean): Promise<string[]> => {
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: wait ? 1 : 0,
        VisibilityTimeout: 30,
      }),
    );
    const bodies = (out.Messages ?? []).map((m) => m.Body ?? '');
    if (bodies.length > 0 || !wait) return bodies;
  }
};

const visibleAndInFlight = async (url: string) => {
  const a = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(a.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
};

describe('worker loop', () => {
  it("delivers records shaped like Lambda's", async () => {
    const r = recorder(() => 'ok');
    await start(r.handler);
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: '{"resource":"task:7"}',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'change' } },
      }),
    );
    await r.until(() => r.deliveries.length >= 1);
    const record = r.deliveries[0] as SQSRecord;
    const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] })))
      .Attributes?.QueueArn;
    expect(record).toMatchObject({
      body: '{"resource":"task:7"}',
      eventSource: 'aws:sqs',
      eventSourceARN: arn,
      awsRegion: 'us-east-1',
      messageAttributes: { kind: { stringValue: 'change', dataType: 'String' } },
    });
    expect(record.messageId).not.toBe('');
    expect(record.receiptHandle).not.toBe('');
    expect(record.md5OfBody).toMatch(/^[0-9a-f]{32}$/);
    expect(record.attributes.ApproximateReceiveCount).toBe('1');
    expect(Number(record.attributes.SentTimestamp)).toBeGreaterThan(0);
    expect(Number(record.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThan(0);
    expect(typeof record.attributes.SenderId).toBe('string');
  });

  it('deletes only the successes of a partial batch; failures come back, then go to the DLQ', async () => {
    const r = recorder((rec) => (rec.body === 'bad' ? 'fail' : 'ok'));
    await start(r.handler);
    await sendAll(['good-1', 'bad', 'good-2']);

    const badDeliveries = () => r.deliveries.filter((d) => d.body === 'bad');
    await r.until(() => badDeliveries().length >= MAX_RECEIVES);
    expect(badDeliveries().map((d) => d.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
    // The successes were delivered once each and deleted.
    expect(
      r.deliveries
        .filter((d) => d.body.startsWith('good'))
        .map((d) => d.body)
        .sort(),
    ).toEqual(['good-1', 'good-2']);

    // The next receive after maxReceiveCount moves the message to the dead-letter queue instead of delivering it.
    const dead = await drain(dlqUrl, true);
    await loop?.stop();
    expect(dead).toEqual(['bad']);
    expect(badDeliveries()).toHaveLength(MAX_RECEIVES);
    expect(await visibleAndInFlight(queueUrl)).toBe(0);
  }, 15_000);

  it('a thrown handler fails the whole batch: every record is redelivered', async () => {
    let calls = 0;
    const r = recorder(() => (calls++ < 2 ? 'throw' : 'ok'));
    // Batch the two messages before the loop starts, so they arrive together.
    await sendAll(['x', 'y']);
    await start(r.handler);
    await r.until(() => r.deliveries.filter((d) => d.attributes.ApproximateReceiveCount === '2').length >= 2);
    const first = r.deliveries
      .filter((d) => d.attributes.ApproximateReceiveCount === '1')
      .map((d) => d.body)
      .sort();
    const second = r.deliveries
      .filter((d) => d.attributes.ApproximateReceiveCount === '2')
      .map((d) => d.body)
      .sort();
    expect(first).toEqual(['x', 'y']);
    expect(second).toEqual(['x', 'y']);
    await loop?.stop();
    expect(await visibleAndInFlight(queueUrl)).toBe(0);
    expect(await drain(dlqUrl, false)).toEqual([]);
  });

  it('an invalid batch response fails the whole batch', async () => {
    let first = true;
    const deliveries: SQSRecord[] = [];
    let wake: (() => void) | undefined;
    const handler: WorkerHandler = async (event) => {
      deliveries.push(...event.Records);
      wake?.();
      if (first) {
        first = false;
        return { batchItemFailures: [{ itemIdentifier: 'not-a-message-of-this-batch' }] };
      }
      return undefined;
    };
    await sendAll(['p', 'q']);
    await start(handler);
    while (deliveries.filter((d) => d.attributes.ApproximateReceiveCount === '2').length < 2) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    await loop?.stop();
    expect(
      deliveries
        .filter((d) => d.attributes.ApproximateReceiveCount === '2')
        .map((d) => d.body)
        .sort(),
    ).toEqual(['p', 'q']);
    expect(await visibleAndInFlight(queueUrl)).toBe(0);
  });

  it('a handler still running at the function timeout fails the whole batch', async () => {
    let calls = 0;
    const l = await startWorkerLoop({
      sqs,
      queueUrl,
      waitTimeSeconds: 1,
      functionTimeoutMs: 200,
      log: () => undefined,
      handler: async () => {
        calls++;
        if (calls === 1) await new Promise(() => undefined);
        return undefined;
      },
    });
    loop = l;
    const first = l.nextBatch();
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'slow' }));
    expect(await first).toEqual({ received: 1, deleted: 0, failed: 1, batchFailed: true });
    // Redelivered after the visibility timeout and then processed.
    expect(await l.nextBatch()).toEqual({ received: 1, deleted: 1, failed: 0, batchFailed: false });
  });

  it('an empty response means every record succeeded', async () => {
    const seen: string[] = [];
    let done: (() => void) | undefined;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    const l = await start(async (event) => {
      seen.push(...event.Records.map((r) => r.body));
      if (seen.length >= 4) done?.();
      return seen.length % 2 === 0 ? {} : undefined;
    });
    const outcome = l.nextBatch();
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '1' }));
    expect(await outcome).toEqual({ received: 1, deleted: 1, failed: 0, batchFailed: false });
    await sendAll(['2', '3', '4']);
    await finished;
    await l.stop();
    expect(seen.sort()).toEqual(['1', '2', '3', '4']);
    expect(await visibleAndInFlight(queueUrl)).toBe(0);
  });

  it('says it is not polling while its polls of the queue fail, and polling again once one succeeds', async () => {
    let failing = false;
    // The emulator's client, whose receives fail on demand (as when the queue's endpoint is down).
    const flaky = {
      send: (command: unknown, options?: unknown) =>
        failing && command instanceof ReceiveMessageCommand
          ? Promise.reject(new Error('connect ECONNREFUSED'))
          : (sqs.send as (c: unknown, o?: unknown) => Promise<unknown>)(command, options),
    } as unknown as SQSClient;
    const warnings: string[] = [];
    loop = await startWorkerLoop({
      sqs: flaky,
      queueUrl,
      handler: async () => undefined,
      waitTimeSeconds: 1,
      errorBackoffMs: 20,
      log: (level, message) => {
        if (level === 'warn') warnings.push(message);
      },
    });
    const until = async (condition: () => boolean) => {
      for (const deadline = Date.now() + 5_000; !condition(); ) {
        if (Date.now() > deadline) throw new Error('timed out');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    expect(loop.polling).toBe(true);
    failing = true;
    await until(() => loop?.polling === false);
    expect(warnings).toContain('polling the update queue failed; retrying');
    failing = false;
    await until(() => loop?.polling === true);
  }, 15_000);

  it('stops in the middle of a long poll', async () => {
    const l = await startWorkerLoop({
      sqs,
      queueUrl,
      handler: async () => undefined,
      waitTimeSeconds: 20,
      log: () => undefined,
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Resolves well inside the test timeout although the poll would wait 20 s.
    await l.stop();
    expect(l.batches).toBe(0);
  }, 5_000);
});
