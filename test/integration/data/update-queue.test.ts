/**
 * The SQS update queue against fauxqs through the real @aws-sdk/client-sqs:
 * batching, delay, visibility timeout, receive counts and redrive to the DLQ
 * (the behaviours the worker loop and the update pipeline rely on).
 */
import { randomUUID } from 'node:crypto';
import {
  GetQueueAttributesCommand,
  type Message,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { SqsUpdateQueue, updateQueueFromConfig } from '#adapters/sqs/update-queue.js';
import { exportAwsEnv, useEmulators } from '#test/helpers/emulators.js';

// Redrive after two receives, so a poison message reaches the DLQ quickly.
const emulators = useEmulators({ maxReceiveCount: 2 });

let restoreEnv: () => void = () => undefined;
beforeAll(() => {
  restoreEnv = exportAwsEnv(emulators().env);
});
afterAll(() => restoreEnv());

const queueUrl = () => emulators().env.UPDATE_QUEUE_URL as string;
const dlqUrl = () => emulators().env.UPDATE_DLQ_URL as string;

const receive = async (
  sqs: SQSClient,
  url: string,
  options: { visibilityTimeout?: number; waitSeconds?: number } = {},
): Promise<Message[]> => {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: options.waitSeconds ?? 0,
      ...(options.visibilityTimeout !== undefined ? { VisibilityTimeout: options.visibilityTimeout } : {}),
      MessageSystemAttributeNames: ['ApproximateReceiveCount'],
    }),
  );
  return out.Messages ?? [];
};

/** Receives until `count` messages arrived or a long poll comes back empty. */
const receiveAll = async (sqs: SQSClient, url: string, count: number): Promise<Message[]> => {
  const all: Message[] = [];
  while (all.length < count) {
    const batch = await receive(sqs, url, { visibilityTimeout: 60, waitSeconds: 1 });
    if (batch.length === 0) break;
    all.push(...batch);
  }
  return all;
};

beforeEach(async () => {
  const { sqs } = emulators();
  await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl() }));
  await sqs.send(new PurgeQueueCommand({ QueueUrl: dlqUrl() }));
});

describe('SqsUpdateQueue on fauxqs', () => {
  it('sends events in batches of at most ten and every one arrives as JSON', async () => {
    const { sqs } = emulators();
    const events = Array.from({ length: 25 }, (_, i) => ({ id: randomUUID(), resource: `task:${i}` }));
    const calls: number[] = [];
    const counting = {
      send: (command: Parameters<SQSClient['send']>[0]) => {
        calls.push((command.input as { Entries: unknown[] }).Entries.length);
        return sqs.send(command as never);
      },
    } as Pick<SQSClient, 'send'>;
    await new SqsUpdateQueue(counting, queueUrl()).send(events);
    expect(calls).toEqual([10, 10, 5]);
    const bodies = (await receiveAll(sqs, queueUrl(), 25)).map((m) => JSON.parse(m.Body as string) as { id: string });
    expect(bodies.map((b) => b.id).sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('is built from configuration with the explicit endpoint (queue URLs name an unresolvable host)', async () => {
    const { sqs, config } = emulators();
    expect(new URL(queueUrl()).hostname).not.toBe('127.0.0.1');
    const id = randomUUID();
    await updateQueueFromConfig(config).send([{ id }]);
    const [message] = await receiveAll(sqs, queueUrl(), 1);
    expect(JSON.parse(message?.Body as string)).toEqual({ id });
  });

  it('holds back a delayed message until its delay passed', async () => {
    const { sqs } = emulators();
    await new SqsUpdateQueue(sqs, queueUrl()).send([{ id: 'later' }], { delaySeconds: 1 });
    expect(await receive(sqs, queueUrl())).toEqual([]);
    const delayed = await receive(sqs, queueUrl(), { waitSeconds: 5 });
    expect(delayed.map((m) => m.Body)).toEqual([JSON.stringify({ id: 'later' })]);
  });

  it('hides a received message for its visibility timeout, then delivers it again with a higher receive count', async () => {
    const { sqs } = emulators();
    await new SqsUpdateQueue(sqs, queueUrl()).send([{ id: 'retry-me' }]);
    const first = await receive(sqs, queueUrl(), { visibilityTimeout: 1 });
    expect(first.map((m) => m.Attributes?.ApproximateReceiveCount)).toEqual(['1']);
    expect(await receive(sqs, queueUrl())).toEqual([]);
    const again = await receive(sqs, queueUrl(), { visibilityTimeout: 30, waitSeconds: 5 });
    expect(again.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount])).toEqual([
      [JSON.stringify({ id: 'retry-me' }), '2'],
    ]);
  });

  it('moves a message received maxReceiveCount times without deletion to the dead-letter queue', async () => {
    const { sqs } = emulators();
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl(), AttributeNames: ['RedrivePolicy'] }),
    );
    expect(JSON.parse(attributes.Attributes?.RedrivePolicy as string)).toMatchObject({ maxReceiveCount: 2 });
    await new SqsUpdateQueue(sqs, queueUrl()).send([{ id: 'poison' }]);
    for (let i = 0; i < 2; i++) expect(await receive(sqs, queueUrl(), { visibilityTimeout: 0 })).toHaveLength(1);
    expect(await receive(sqs, queueUrl(), { visibilityTimeout: 0 })).toEqual([]);
    const dead = await receive(sqs, dlqUrl(), { waitSeconds: 1 });
    expect(dead.map((m) => m.Body)).toEqual([JSON.stringify({ id: 'poison' })]);
  });

  it('rejects a delay SQS would refuse, before sending anything', async () => {
    const { sqs } = emulators();
    await expect(new SqsUpdateQueue(sqs, queueUrl()).send([{ id: 'x' }], { delaySeconds: 901 })).rejects.toThrow(
      RangeError,
    );
    expect(await receive(sqs, queueUrl())).toEqual([]);
  });
});
