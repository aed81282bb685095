/**
 * npm run redrive: replays the update dead-letter queue onto the update queue.
 *
 * A message the worker dead-lettered is a wrapper {"type":"dead-letter",
 * "reason",…,"message"}: the original message is sent again (a subscription's
 * retry count starts afresh). A message SQS moved there itself (after
 * maxReceiveCount) is sent as it is. Each message is deleted from the DLQ only
 * after it was sent, so an interrupted redrive loses nothing.
 *
 *   npm run redrive                                   # UPDATE_DLQ_URL → UPDATE_QUEUE_URL (AWS credentials as usual)
 *   npm run redrive -- --endpoint http://127.0.0.1:PORT   # the local system's SQS (printed by npm start)
 *   npm run redrive -- --max 10 --dlq <url> --queue <url>
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { unwrapDeadLetter } from '#core/updates/messages.js';
import { localResourceName, UPDATE_DLQ, UPDATE_QUEUE } from '#lib/data-model.js';
import { ENV } from '#lib/env-names.js';

export interface RedriveOptions {
  readonly sqs: Pick<SQSClient, 'send'>;
  readonly deadLetterQueueUrl: string;
  readonly queueUrl: string;
  /** Stop after this many messages (default: all). */
  readonly max?: number;
}

export interface RedriveReport {
  readonly replayed: number;
  /** How many replayed messages carried each reason (`unknown` for messages SQS moved itself). */
  readonly reasons: Readonly<Record<string, number>>;
}

export const redriveDeadLetters = async (options: RedriveOptions): Promise<RedriveReport> => {
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const reasons: Record<string, number> = {};
  let replayed = 0;
  while (replayed < max) {
    const out = await options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.deadLetterQueueUrl,
        MaxNumberOfMessages: Math.min(10, max - replayed),
        WaitTimeSeconds: 1,
        VisibilityTimeout: 60,
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) break;
    for (const m of messages) {
      const { body, reason } = unwrapDeadLetter(m.Body ?? '');
      await options.sqs.send(new SendMessageCommand({ QueueUrl: options.queueUrl, MessageBody: body }));
      await options.sqs.send(
        new DeleteMessageCommand({ QueueUrl: options.deadLetterQueueUrl, ReceiptHandle: m.ReceiptHandle }),
      );
      const key = reason ?? 'unknown';
      reasons[key] = (reasons[key] ?? 0) + 1;
      replayed += 1;
    }
  }
  return { replayed, reasons };
};

const main = async (): Promise<void> => {
  const { values } = parseArgs({
    options: {
      endpoint: { type: 'string' },
      dlq: { type: 'string' },
      queue: { type: 'string' },
      max: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log('Usage: npm run redrive -- [--endpoint <sqs endpoint>] [--dlq <url>] [--queue <url>] [--max <n>]');
    return;
  }
  const endpoint = values.endpoint ?? process.env[ENV.SQS_ENDPOINT];
  const local = endpoint !== undefined && /^https?:\/\/(127\.0\.0\.1|localhost)[:/]/.test(endpoint);
  const sqs = new SQSClient({
    ...(endpoint ? { endpoint } : {}),
    ...(local
      ? {
          region: process.env.AWS_REGION ?? 'us-east-1',
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        }
      : {}),
  });
  const urlOf = async (given: string | undefined, envName: string, queueId: string): Promise<string> => {
    const url = given ?? process.env[envName];
    if (url) return url;
    if (!local) throw new Error(`Give --${queueId === UPDATE_DLQ.id ? 'dlq' : 'queue'} or set ${envName}`);
    const out = await sqs.send(new GetQueueUrlCommand({ QueueName: localResourceName(queueId) }));
    if (!out.QueueUrl) throw new Error(`No local queue ${localResourceName(queueId)}`);
    return out.QueueUrl;
  };
  const max = values.max !== undefined ? Number(values.max) : undefined;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new Error('--max must be a positive integer');
  const report = await redriveDeadLetters({
    sqs,
    deadLetterQueueUrl: await urlOf(values.dlq, ENV.UPDATE_DLQ_URL, UPDATE_DLQ.id),
    queueUrl: await urlOf(values.queue, ENV.UPDATE_QUEUE_URL, UPDATE_QUEUE.id),
    ...(max !== undefined ? { max } : {}),
  });
  const detail = Object.entries(report.reasons)
    .map(([reason, n]) => `${reason}: ${n}`)
    .join(', ');
  console.log(`Replayed ${report.replayed} message(s) from the dead-letter queue${detail ? ` (${detail})` : ''}.`);
  sqs.destroy();
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(`redrive failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
