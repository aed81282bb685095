/**
 * UpdateQueue on SQS: change events and work items as JSON messages, sent with
 * SendMessageBatch in chunks of at most 10 entries and 256 KiB, with an optional
 * delay (how waiting for rate limits happens without sleeping in a function).
 *
 * SQS_ENDPOINT points the client at the embedded emulator locally; fauxqs'
 * queue URLs name a host that does not resolve, so the endpoint is always
 * explicit there.
 */
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import type { UpdateQueue } from '#core/ports.js';
import { ENV } from '#lib/env-names.js';
import { type Config, getConfig, need } from '#shared/config.js';
import { batches, messageBodies } from './messages.js';

export { MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, MAX_DELAY_SECONDS } from './messages.js';

const SEND_ATTEMPTS = 3;

export class SqsUpdateQueue implements UpdateQueue {
  constructor(
    private readonly sqs: Pick<SQSClient, 'send'>,
    private readonly queueUrl: string,
  ) {}

  async send(events: readonly unknown[], options: { readonly delaySeconds?: number } = {}): Promise<void> {
    const bodies = messageBodies(events, options.delaySeconds);
    for (const batch of batches(bodies)) {
      let entries: SendMessageBatchRequestEntry[] = batch.map((MessageBody, i) => ({
        Id: String(i),
        MessageBody,
        ...(options.delaySeconds !== undefined ? { DelaySeconds: options.delaySeconds } : {}),
      }));
      for (let attempt = 1; entries.length > 0; attempt++) {
        const out = await this.sqs.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }));
        const failed = out.Failed ?? [];
        if (failed.length === 0) break;
        const fatal = failed.filter((f) => f.SenderFault);
        if (fatal.length > 0 || attempt >= SEND_ATTEMPTS) {
          const codes = [...new Set(failed.map((f) => f.Code ?? 'unknown'))].join(', ');
          throw new Error(`SQS rejected ${failed.length} of ${batch.length} messages (${codes})`);
        }
        const retry = new Set(failed.map((f) => f.Id));
        entries = entries.filter((e) => retry.has(e.Id));
      }
    }
  }
}

export const createSqsClient = (config: Pick<Config, 'endpoints'>): SQSClient =>
  new SQSClient(config.endpoints.sqs ? { endpoint: config.endpoints.sqs } : {});

const built = new WeakMap<Config, UpdateQueue>();

/** The update queue of this configuration (built once; fails by name when UPDATE_QUEUE_URL is missing). */
export const updateQueueFromConfig = (config: Config = getConfig()): UpdateQueue => {
  let queue = built.get(config);
  if (!queue) {
    const url = need(config.queues.updates, ENV.UPDATE_QUEUE_URL);
    queue = new SqsUpdateQueue(createSqsClient(config), url);
    built.set(config, queue);
  }
  return queue;
};
