/**
 * Publishing change events from a team's product.
 *
 * Two ways, one event schema (docs/change-events.md):
 *
 *   // straight onto the update queue (the product runs in the same AWS account)
 *   const publisher = createQueuePublisher({ queueUrl: process.env.UPDATE_QUEUE_URL! });
 *   await publisher.publish({ resource: 'task:42', fields: ['status'] });
 *
 *   // or through the signed webhook POST /changes (anywhere)
 *   const webhook = createWebhookPublisher({ url: 'https://previews.example.com/changes', secret: 'whsec_…' });
 *   await webhook.publish({ uri: 'https://example.com/tasks/42' });
 *
 * Both validate the event before sending it, so a malformed event fails in
 * the product rather than in the worker's dead-letter queue.
 */
import { randomUUID } from 'node:crypto';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsUpdateQueue } from '#adapters/sqs/update-queue.js';
import { type ChangeBody, type ChangeMessage, parseChangeBody, toChangeMessage } from '#core/changes/event.js';
import { signWebhook } from '#core/changes/verify.js';

export type { ChangeMessage } from '#core/changes/event.js';

/** One change: name the resource by its key or by a previewed URL. */
export type ChangeInput = (
  | { readonly resource: string; readonly uri?: never }
  | { readonly uri: string; readonly resource?: never }
) & {
  /** When the change happened (default: now). */
  readonly changedAt?: Date | string;
  /** Names of the fields that changed (advisory). */
  readonly fields?: readonly string[];
  /** Idempotency id (default: a random UUID). A repeated id is ignored by the webhook. */
  readonly id?: string;
};

export class InvalidChangeError extends Error {
  override readonly name = 'InvalidChangeError';
}

/** Validates an input and returns the event body and id it becomes. */
export const toChangeEvent = (
  input: ChangeInput,
  now: () => Date = () => new Date(),
): { id: string; body: ChangeBody } => {
  const changedAt = input.changedAt ?? now();
  const candidate = {
    ...(input.resource !== undefined ? { resource: input.resource } : {}),
    ...(input.uri !== undefined ? { uri: input.uri } : {}),
    changed_at: typeof changedAt === 'string' ? changedAt : changedAt.toISOString(),
    ...(input.fields !== undefined ? { fields: [...input.fields] } : {}),
  };
  const parsed = parseChangeBody(candidate);
  if (!parsed.ok) throw new InvalidChangeError(`Invalid change event: ${parsed.problem}`);
  return { id: input.id ?? randomUUID(), body: parsed.value };
};

export interface QueuePublisherOptions {
  /** The update queue's URL (the stack output / UPDATE_QUEUE_URL). */
  readonly queueUrl: string;
  /** An SQS client to reuse; by default one for the ambient region and credentials. */
  readonly sqs?: Pick<SQSClient, 'send'>;
  /** For local emulators: the SQS endpoint. */
  readonly endpoint?: string;
}

export const createQueuePublisher = (options: QueuePublisherOptions) => {
  const sqs = options.sqs ?? new SQSClient(options.endpoint ? { endpoint: options.endpoint } : {});
  const queue = new SqsUpdateQueue(sqs, options.queueUrl);
  return {
    /** Sends one change event; resolves with its id. */
    async publish(input: ChangeInput): Promise<{ id: string }> {
      const [id] = (await this.publishMany([input])).ids;
      return { id: id as string };
    },
    /** Sends several change events (batched, 10 per request). */
    async publishMany(inputs: readonly ChangeInput[]): Promise<{ ids: string[] }> {
      const messages: ChangeMessage[] = inputs.map((input) => {
        const { id, body } = toChangeEvent(input);
        return toChangeMessage(id, body);
      });
      await queue.send(messages);
      return { ids: messages.map((m) => m.id) };
    },
  };
};

export interface WebhookPublisherOptions {
  /** The service's POST /changes URL. */
  readonly url: string;
  /** CHANGES_WEBHOOK_SECRET (`whsec_<base64>`). */
  readonly secret: string;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
}

export class WebhookRejectedError extends Error {
  override readonly name = 'WebhookRejectedError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const createWebhookPublisher = (options: WebhookPublisherOptions) => {
  const fetchFn = options.fetch ?? fetch;
  return {
    /** POSTs one signed change event; resolves with its id and whether it was new or a repeat. */
    async publish(input: ChangeInput): Promise<{ id: string; status: 'queued' | 'duplicate' }> {
      const { id, body } = toChangeEvent(input);
      const raw = JSON.stringify(body);
      const response = await fetchFn(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signWebhook(options.secret, id, raw, Date.now()) },
        body: raw,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      const text = await response.text();
      if (!response.ok)
        throw new WebhookRejectedError(
          response.status,
          `POST /changes answered ${response.status}: ${text.slice(0, 300)}`,
        );
      return { id, status: response.status === 202 ? 'queued' : 'duplicate' };
    },
  };
};
