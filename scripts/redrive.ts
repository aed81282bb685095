/**
 * npm run redrive: replays the update dead-letter queue onto the update queue.
 *
 * A message the worker dead-lettered is a wrapper {"type":"dead-letter",
 * "reason",…,"message"}: the original message is sent again (a subscription's
 * retry count starts afresh; a wrapper around a wrapper, from SQS's own DLQ
 * redrive, down to the original). A message SQS moved there itself (after
 * maxReceiveCount) is sent as it is. Each message is deleted from the DLQ only
 * after it was sent, so an interrupted redrive loses nothing. Messages another
 * reader holds (received, hidden until their visibility timeout ends) cannot be
 * replayed: they are counted first, and a redrive that leaves them exits 1.
 *
 *   npm run redrive                                   # UPDATE_DLQ_URL → UPDATE_QUEUE_URL (AWS credentials as usual)
 *   npm run redrive                                   # without those: the running npm start's queues
 *   npm run redrive -- --endpoint http://127.0.0.1:PORT   # the local system's SQS (printed by npm start)
 *   npm run redrive -- --max 10 --dlq <url> --queue <url>
 *
 * Progress goes to stderr; --json prints the report as JSON on stdout.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { MAX_BATCH_ENTRIES, sqsSafeJson } from '#adapters/sqs/messages.js';
import { unwrapDeadLetter } from '#core/updates/messages.js';
import { localResourceName, UPDATE_DLQ, UPDATE_QUEUE } from '#lib/data-model.js';
import { ENV } from '#lib/env-names.js';
import { type RuntimeInfo, readRuntimeInfo } from '#local/runtime-info.js';
import { type CliArgs, httpUrl, isEntryPoint, positiveInt, runCli, UsageError } from './cli.js';

export interface RedriveOptions {
  readonly sqs: Pick<SQSClient, 'send'>;
  readonly deadLetterQueueUrl: string;
  readonly queueUrl: string;
  /** Stop after this many messages (default: all). */
  readonly max?: number;
  /** Called after each batch with the count so far. */
  readonly onProgress?: (replayed: number) => void;
}

export interface RedriveReport {
  readonly replayed: number;
  /** How many replayed messages carried each reason (`unknown` for messages SQS moved itself). */
  readonly reasons: Readonly<Record<string, number>>;
  /**
   * Messages in the dead-letter queue that were in flight when the redrive began (another reader received
   * them, e.g. `aws sqs receive-message`, or an interrupted redrive): hidden until their visibility timeout
   * ends, so not replayed now (SQS's approximate count).
   */
  readonly inFlight: number;
  /**
   * Dead letters that hold only the start of their message (`truncated`: the original was too large to wrap):
   * left on the dead-letter queue, never replayed as if whole. Each is counted once, and made visible again when
   * the redrive ends (a rerun counts it as kept, not in flight).
   */
  readonly kept: number;
}

/** How many messages of a queue are in flight (received and not yet visible again), as SQS approximates it. */
const inFlightCount = async (sqs: Pick<SQSClient, 'send'>, queueUrl: string): Promise<number> => {
  const out = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'] }),
  );
  const n = Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  return Number.isFinite(n) && n > 0 ? n : 0;
};

/** Makes the kept letters visible again at once, so that a rerun sees them as kept, not as held by another reader. */
const release = async (sqs: Pick<SQSClient, 'send'>, queueUrl: string, receipts: readonly string[]): Promise<void> => {
  for (let i = 0; i < receipts.length; i += MAX_BATCH_ENTRIES) {
    const entries = receipts
      .slice(i, i + MAX_BATCH_ENTRIES)
      .map((ReceiptHandle, n) => ({ Id: String(n), ReceiptHandle, VisibilityTimeout: 0 }));
    await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
  }
};

export const redriveDeadLetters = async (options: RedriveOptions): Promise<RedriveReport> => {
  const max = options.max ?? Number.POSITIVE_INFINITY;
  // Prototype-less: a reason is data from the message, `constructor` included.
  const reasons: Record<string, number> = Object.create(null);
  let replayed = 0;
  // Kept letters by message id, with their latest receipt: a run longer than the visibility timeout receives
  // them again, and counts each once.
  const kept = new Map<string, string>();
  // Counted before this redrive receives anything, so that none of its own receives are among them.
  const inFlight = await inFlightCount(options.sqs, options.deadLetterQueueUrl);
  try {
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
        const { body, reason, truncated } = unwrapDeadLetter(m.Body ?? '');
        if (truncated) {
          // Left where it is (hidden while this redrive runs, released at its end): its sender must send it again.
          kept.set(m.MessageId ?? m.ReceiptHandle ?? '', m.ReceiptHandle ?? '');
          continue;
        }
        // Unwrapping turns the wrapper's escapes back into characters SQS may refuse (U+FFFF, emoji in fauxqs).
        await options.sqs.send(new SendMessageCommand({ QueueUrl: options.queueUrl, MessageBody: sqsSafeJson(body) }));
        await options.sqs.send(
          new DeleteMessageCommand({ QueueUrl: options.deadLetterQueueUrl, ReceiptHandle: m.ReceiptHandle }),
        );
        const key = reason ?? 'unknown';
        reasons[key] = (reasons[key] ?? 0) + 1;
        replayed += 1;
      }
      options.onProgress?.(replayed);
    }
  } finally {
    // Best effort: a letter not released is visible again once its 60 s have passed.
    await release(options.sqs, options.deadLetterQueueUrl, [...kept.values()].filter(Boolean)).catch(() => undefined);
  }
  return { replayed, reasons, inFlight, kept: kept.size };
};

export const CLI = {
  name: 'redrive',
  usage: ['npm run redrive -- [--endpoint <sqs endpoint>] [--dlq <url>] [--queue <url>] [--max <n>] [--json]'],
  description: `Replays the update dead-letter queue onto the update queue. A message the worker dead-lettered
is unwrapped and its original sent again; a message SQS moved there itself is sent as it is. Each
message leaves the dead-letter queue only after it was sent. Progress goes to stderr.

AWS: the queue URLs from --dlq/--queue or UPDATE_DLQ_URL/UPDATE_QUEUE_URL, credentials as usual.
Local: --endpoint (or SQS_ENDPOINT) with the local queue names; with no queue URL and no endpoint
at all, the queues of the running npm start.`,
  options: {
    endpoint: { type: 'string', value: '<url>', description: 'SQS endpoint (the local one npm start prints)' },
    dlq: { type: 'string', value: '<url>', description: 'dead-letter queue URL (default UPDATE_DLQ_URL)' },
    queue: { type: 'string', value: '<url>', description: 'update queue URL (default UPDATE_QUEUE_URL)' },
    max: { type: 'string', value: '<n>', description: 'replay at most n messages (default all)' },
    json: { type: 'boolean', description: 'print the report as JSON on stdout' },
  },
  examples: [
    'npm run redrive -- --dlq <UpdateDeadLetterQueueUrl> --queue <UpdateQueueUrl> --max 10',
    'npm run redrive                   # with npm start running and no queue URL set: its queues',
  ],
  notes: [
    `Messages someone else has received (aws sqs receive-message without --visibility-timeout 0, an interrupted
redrive) stay hidden until their visibility timeout ends and cannot be replayed: their number is said on
stderr and the redrive exits 1; run it again once they are visible.`,
    `A dead letter marked \`truncated\` holds only the start of a message too large to wrap: it is never replayed
and stays on the dead-letter queue, counted once and visible again when the redrive ends.`,
    'Exit status: 0 done (also when nothing was dead-lettered), 1 a failure, messages left in flight or truncated dead letters kept, 2 wrong usage.',
  ],
} as const;

export const main = async (
  { values }: CliArgs<typeof CLI.options>,
  env: Readonly<Record<string, string | undefined>>,
  running: () => RuntimeInfo | undefined = readRuntimeInfo,
  out: (text: string) => void = (t) => process.stdout.write(`${t}\n`),
  err: (text: string) => void = (t) => process.stderr.write(`${t}\n`),
): Promise<number> => {
  const say = (text: string) => err(`${CLI.name}: ${text}`);
  const max = positiveInt(values.max, '--max');
  let endpoint = httpUrl(values.endpoint, '--endpoint') ?? env[ENV.SQS_ENDPOINT];
  const dlqGiven = values.dlq ?? env[ENV.UPDATE_DLQ_URL];
  const queueGiven = values.queue ?? env[ENV.UPDATE_QUEUE_URL];
  if (!endpoint && !dlqGiven && !queueGiven) {
    const local = running();
    if (!local)
      throw new UsageError(
        `give --dlq and --queue (or ${ENV.UPDATE_DLQ_URL} and ${ENV.UPDATE_QUEUE_URL}), or --endpoint for a local system (no npm start is running)`,
      );
    endpoint = local.sqsEndpoint;
    say(`the running npm start's SQS at ${endpoint} (pid ${local.pid})`);
  }
  const local = endpoint !== undefined && /^https?:\/\/(127\.0\.0\.1|localhost)[:/]/.test(endpoint);
  const sqs = new SQSClient({
    ...(endpoint ? { endpoint } : {}),
    ...(local
      ? {
          region: env.AWS_REGION ?? 'us-east-1',
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        }
      : {}),
  });
  try {
    const urlOf = async (
      given: string | undefined,
      flag: string,
      envName: string,
      queueId: string,
    ): Promise<string> => {
      if (given) return given;
      if (!local) throw new UsageError(`give ${flag} or set ${envName}`);
      const out = await sqs.send(new GetQueueUrlCommand({ QueueName: localResourceName(queueId) }));
      if (!out.QueueUrl) throw new Error(`no local queue ${localResourceName(queueId)}`);
      return out.QueueUrl;
    };
    const deadLetterQueueUrl = await urlOf(dlqGiven, '--dlq', ENV.UPDATE_DLQ_URL, UPDATE_DLQ.id);
    const queueUrl = await urlOf(queueGiven, '--queue', ENV.UPDATE_QUEUE_URL, UPDATE_QUEUE.id);
    say(`${deadLetterQueueUrl} → ${queueUrl}${max !== undefined ? `, at most ${max}` : ''}…`);
    const report = await redriveDeadLetters({
      sqs,
      deadLetterQueueUrl,
      queueUrl,
      ...(max !== undefined ? { max } : {}),
      onProgress: (n) => say(`${n} replayed so far`),
    });
    // Held messages matter only when the redrive ran the queue dry, not when it stopped at --max.
    const leftInFlight = report.inFlight > 0 && (max === undefined || report.replayed < max);
    if (values.json) out(JSON.stringify(report, null, 2));
    else {
      const detail = Object.entries(report.reasons)
        .map(([reason, n]) => `${reason}: ${n}`)
        .join(', ');
      out(`Replayed ${report.replayed} message(s) from the dead-letter queue${detail ? ` (${detail})` : ''}.`);
    }
    if (report.kept > 0) {
      say(
        `${report.kept} dead letter(s) hold only the start of a message too large to wrap (\`truncated\`: its size and ` +
          'SHA-256) and were not replayed; they stay on the dead-letter queue: read them, have the sender send the ' +
          'message again, then delete them',
      );
    }
    if (!leftInFlight && report.kept === 0) return 0;
    if (!leftInFlight) return 1;
    say(
      `${report.inFlight} message(s) in the dead-letter queue were in flight (received by another reader, hidden until ` +
        'their visibility timeout ends) and were not replayed: run the redrive again once they are visible',
    );
    return 1;
  } finally {
    sqs.destroy();
  }
};

if (isEntryPoint(import.meta.url)) {
  process.exitCode = await runCli(CLI, process.argv.slice(2), (args) => main(args, process.env));
}
