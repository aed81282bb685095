/** In-memory UpdateQueue: records what was sent (validated like the SQS adapter) for tests. */
import type { UpdateQueue } from '#core/ports.js';
import { messageBodies } from '../sqs/messages.js';

export interface QueuedMessage {
  /** The JSON body, as SQS would carry it. */
  readonly body: string;
  readonly delaySeconds: number;
}

export class MemoryUpdateQueue implements UpdateQueue {
  readonly messages: QueuedMessage[] = [];

  async send(events: readonly unknown[], options: { readonly delaySeconds?: number } = {}): Promise<void> {
    for (const body of messageBodies(events, options.delaySeconds)) {
      this.messages.push({ body, delaySeconds: options.delaySeconds ?? 0 });
    }
  }

  /** The events sent so far, parsed back from JSON. */
  events<T = unknown>(): T[] {
    return this.messages.map((m) => JSON.parse(m.body) as T);
  }

  /** Removes and returns every message. */
  drain(): QueuedMessage[] {
    return this.messages.splice(0, this.messages.length);
  }
}
