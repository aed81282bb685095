/**
 * Giving up: a message, or one subscription of a work item, goes to the
 * dead-letter queue wrapped with a stable reason code and a detail
 * (docs/adr/0073). `npm run redrive` unwraps and replays it.
 */
import type { BatchState } from './batch.js';
import type { StepDeps } from './deps.js';
import type { DeadLetter, PushMessage } from './messages.js';

export type DeadLetterDeps = Pick<StepDeps, 'clock' | 'deadLetters' | 'emit'>;

/** An error as a dead-letter or log detail: name and message, at most 500 characters. */
export const describeError = (error: unknown): string =>
  (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 500);

export const deadLetter = async (
  deps: DeadLetterDeps,
  reason: string,
  detail: string,
  message: unknown,
  receiveCount: number,
): Promise<void> => {
  const letter: DeadLetter = {
    type: 'dead-letter',
    reason,
    detail,
    failedAt: new Date(deps.clock.now()).toISOString(),
    receiveCount,
    message,
  };
  await deps.deadLetters.send(letter);
  deps.emit('dead_lettered', { reason, detail });
};

/**
 * The subscriptions a work item gave up on, one dead letter each: a `push`
 * message naming only that subscription, with a fresh attempt count, so a
 * redrive retries it from the start.
 */
export const deadLetterGivenUp = async (
  deps: DeadLetterDeps,
  state: BatchState,
  item: { readonly resource: string; readonly window: string; readonly receiveCount: number },
): Promise<void> => {
  for (const { target, reason, detail } of state.deadLettered) {
    const message: PushMessage = {
      type: 'push',
      resource: item.resource,
      window: item.window,
      targets: [{ connectionId: target.connectionId, uri: target.uri }],
    };
    await deadLetter(deps, reason, detail, message, item.receiveCount);
  }
};
