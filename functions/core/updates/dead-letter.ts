/**
 * Giving up: a message, or one subscription of a work item, goes to the
 * dead-letter queue wrapped with a stable reason code and a detail
 * (docs/adr/0073). `npm run redrive` unwraps and replays it.
 */
import { sha256Hex } from '#shared/crypto.js';
import type { BatchState } from './batch.js';
import type { StepDeps } from './deps.js';
import { deadLetteredMarkerKey, PUSHED_MARKER_TTL_MS } from './markers.js';
import type { DeadLetter, PushMessage } from './messages.js';
import { DEAD_LETTERS_PER_SEND } from './ports.js';

export type DeadLetterDeps = Pick<StepDeps, 'clock' | 'deadLetters' | 'emit'>;

/** An error as a dead-letter or log detail: name and message, at most 500 characters. */
export const describeError = (error: unknown): string =>
  (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 500);

/** SQS's largest message body (256 KiB): a dead letter must fit in it, wrapper and all. */
export const MAX_DEAD_LETTER_BYTES = 256 * 1024;
/** How much of a message too large to wrap a dead letter keeps (code units; at most 6 bytes each as SQS JSON). */
export const TRUNCATED_MESSAGE_UNITS = 16_000;

/**
 * An upper bound of the bytes a JSON text takes as an SQS message body: its UTF-8, where the SQS adapter writes
 * each surrogate and U+FFFE/U+FFFF as a 6-byte `\uXXXX` escape (adapters/sqs/messages.ts): at most 4 more each.
 */
const sqsBytesOf = (json: string): number =>
  Buffer.byteLength(json, 'utf8') + 4 * (json.match(/[\uD800-\uDFFF\uFFFE\uFFFF]/g)?.length ?? 0);

/**
 * The dead letter of `message`, or, when that would not fit in an SQS message (a poison body close to
 * 256 KiB), one whose `message` is the start of the original text with `truncated` saying so: the
 * original's size and SHA-256. `body` is that text as received, when `message` was parsed from it (the
 * hash must match what the sender sent, not the parsed value written again). The reason and its metric
 * survive; `npm run redrive` never replays it.
 */
export const deadLetterOf = (
  base: Omit<DeadLetter, 'message' | 'truncated'>,
  message: unknown,
  body?: string,
): DeadLetter => {
  const letter: DeadLetter = { ...base, message };
  if (sqsBytesOf(JSON.stringify(letter)) <= MAX_DEAD_LETTER_BYTES) return letter;
  const text = body ?? (typeof message === 'string' ? message : (JSON.stringify(message) ?? String(message)));
  let start = text.slice(0, TRUNCATED_MESSAGE_UNITS);
  if (/[\uD800-\uDBFF]$/.test(start)) start = start.slice(0, -1);
  return {
    ...base,
    message: start,
    truncated: {
      bytes: Buffer.byteLength(text, 'utf8'),
      sha256: sha256Hex(text),
    },
  };
};

export const deadLetter = async (
  deps: DeadLetterDeps,
  reason: string,
  detail: string,
  message: unknown,
  receiveCount: number,
  body?: string,
): Promise<void> => {
  const letter = deadLetterOf(
    { type: 'dead-letter', reason, detail, failedAt: new Date(deps.clock.now()).toISOString(), receiveCount },
    message,
    body,
  );
  await sendLetters(deps, [letter]);
};

/** Sends `letters` (at most DEAD_LETTERS_PER_SEND: one request) and tells of each. */
const sendLetters = async (deps: DeadLetterDeps, letters: readonly DeadLetter[]): Promise<void> => {
  await deps.deadLetters.send(letters);
  for (const { reason, detail } of letters) deps.emit('dead_lettered', { reason, detail });
};

/** Id of a given-up subscription in a delivery's dead-lettered marker: 16 hex digits of a SHA-256. */
const letterId = (resource: string, connectionId: string, uri: string): string =>
  sha256Hex(`${resource}\n${connectionId}\n${uri}`).slice(0, 16);

/** The ids an earlier delivery of the same message noted as dead-lettered; none when the note cannot be read. */
const sentBefore = async (
  deps: DeadLetterDeps & Pick<StepDeps, 'markers'>,
  key: string,
): Promise<ReadonlySet<string>> => {
  try {
    return new Set((await deps.markers.getMarker(key, deps.clock.now()))?.split(' ') ?? []);
  } catch (error) {
    deps.emit('dead_letter_marker_failed', { detail: describeError(error) });
    return new Set();
  }
};

/**
 * The subscriptions a work item gave up on, one dead letter each: a `push`
 * message naming only that subscription, with a fresh attempt count, so a
 * redrive retries it from the start. They go DEAD_LETTERS_PER_SEND to a
 * request. When a send fails, the ones already sent are noted
 * (`dead:<messageId>`) before the work item fails, and its redeliveries do not
 * send them again (a redrive would replay each copy); of the failed send's own
 * letters, any SQS took are sent again, as after a crash.
 */
export const deadLetterGivenUp = async (
  deps: DeadLetterDeps & Pick<StepDeps, 'markers'>,
  state: BatchState,
  item: { readonly resource: string; readonly window: string; readonly receiveCount: number },
): Promise<void> => {
  if (state.deadLettered.length === 0) return;
  const key = deadLetteredMarkerKey(state.owner.messageId);
  const sent = new Set(item.receiveCount > 1 ? await sentBefore(deps, key) : []);
  const noted = sent.size;
  const failedAt = new Date(deps.clock.now()).toISOString();
  const due = state.deadLettered
    .map(({ target, reason, detail }) => ({
      id: letterId(item.resource, target.connectionId, target.uri),
      letter: deadLetterOf({ type: 'dead-letter', reason, detail, failedAt, receiveCount: item.receiveCount }, {
        type: 'push',
        resource: item.resource,
        window: item.window,
        targets: [{ connectionId: target.connectionId, uri: target.uri }],
      } satisfies PushMessage),
    }))
    .filter(({ id }) => !sent.has(id));
  for (let i = 0; i < due.length; i += DEAD_LETTERS_PER_SEND) {
    const group = due.slice(i, i + DEAD_LETTERS_PER_SEND);
    try {
      await sendLetters(
        deps,
        group.map(({ letter }) => letter),
      );
    } catch (error) {
      // Best effort: without the note a redelivery sends those letters again, as it would after a crash.
      if (sent.size > noted)
        await deps.markers
          .putMarker(key, [...sent].join(' '), deps.clock.now() + PUSHED_MARKER_TTL_MS)
          .catch((e: unknown) => deps.emit('dead_letter_marker_failed', { detail: describeError(e) }));
      throw error;
    }
    for (const { id } of group) sent.add(id);
  }
};
