/**
 * Messages on the update queue.
 *
 * - `change` (public, see docs/change-events.md): a resource changed.
 * - `flush` (internal): the end of a coalescing window for one resource; sent
 *   once per window with a delay, renders the first page of subscriptions.
 * - `page` (internal): one further page of a resource's subscriptions.
 * - `push` (internal): named subscriptions to push again later (rate limit,
 *   Retry-After, backoff after a transient failure, or time running out).
 *
 * Every internal message is bounded (at most one page of subscriptions), so
 * no invocation works on more than a page per record, however many
 * subscriptions a resource has.
 */

import { type ChangeMessage, parseChangeMessage } from '#core/changes/event.js';
import * as z from '#shared/zod.js';

export interface PushTarget {
  readonly connectionId: string;
  readonly uri: string;
  /** Transient failures so far (for backoff and the dead-letter decision). */
  readonly attempt?: number;
  /** 429 answers in a row so far (for backoff after the first and the dead-letter decision: docs/adr/0154). */
  readonly limited?: number;
}

export interface FlushMessage {
  readonly type: 'flush';
  readonly resource: string;
  /** Id of the window (the id of the event that opened it). */
  readonly window: string;
  /** Epoch ms at which the window closes; the flush never renders earlier. */
  readonly until: number;
}

export interface PageMessage {
  readonly type: 'page';
  readonly resource: string;
  readonly window: string;
  readonly cursor: string;
}

export interface PushMessage {
  readonly type: 'push';
  readonly resource: string;
  readonly window: string;
  readonly targets: readonly PushTarget[];
}

export type WorkMessage = ChangeMessage | FlushMessage | PageMessage | PushMessage;

/** Wrapper of a message moved to the dead-letter queue by the worker. */
export interface DeadLetter {
  readonly type: 'dead-letter';
  /** Stable reason code, e.g. `invalid_message`, `notion_unavailable`, `unmatched_uri`. */
  readonly reason: string;
  /** Human-readable detail (no secrets). */
  readonly detail: string;
  readonly failedAt: string;
  readonly receiveCount: number;
  /** The original message body: parsed JSON, or the raw text when it did not parse. */
  readonly message: unknown;
  /**
   * Present when the original was too large to wrap within SQS's limit: `message` is then only the start of
   * its text (the body as received), and this the whole text's size in UTF-8 bytes and SHA-256 (hex). Such a
   * letter is never replayed.
   */
  readonly truncated?: { readonly bytes: number; readonly sha256: string };
}

const str = z.string().check(z.minLength(1), z.maxLength(2000));
const target = z.strictObject({
  connectionId: str,
  uri: str,
  attempt: z.optional(z.int().check(z.minimum(0), z.maximum(1000))),
  limited: z.optional(z.int().check(z.minimum(0), z.maximum(1000))),
});

const internal = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('flush'), resource: str, window: str, until: z.int().check(z.minimum(0)) }),
  z.strictObject({
    type: z.literal('page'),
    resource: str,
    window: str,
    cursor: z.string().check(z.minLength(1), z.maxLength(4000)),
  }),
  z.strictObject({
    type: z.literal('push'),
    resource: str,
    window: str,
    targets: z.array(target).check(z.minLength(1), z.maxLength(1000)),
  }),
]);

export type ParsedMessage =
  | { readonly ok: true; readonly message: WorkMessage }
  | { readonly ok: false; readonly problem: string };

/** Parses a queue message body; never throws. */
export const parseWorkMessage = (body: string): ParsedMessage => {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, problem: 'the message body is not JSON' };
  }
  const type = (value as { type?: unknown } | null)?.type;
  if (type === 'change') {
    const change = parseChangeMessage(value);
    return change.ok
      ? { ok: true, message: change.value }
      : { ok: false, problem: `invalid change event: ${change.problem}` };
  }
  if (type === 'dead-letter')
    return { ok: false, problem: 'a dead-letter wrapper is not a work message (redrive unwraps it)' };
  const r = internal.safeParse(value);
  if (!r.success) {
    return { ok: false, problem: `unknown or invalid message (type ${JSON.stringify(type ?? null).slice(0, 40)})` };
  }
  const m = r.data;
  if (m.type === 'push') {
    return {
      ok: true,
      message: {
        ...m,
        targets: m.targets.map(({ connectionId, uri, attempt, limited }) => ({
          connectionId,
          uri,
          ...(attempt === undefined ? {} : { attempt }),
          ...(limited === undefined ? {} : { limited }),
        })),
      },
    };
  }
  return { ok: true, message: m };
};

/** The dead-letter wrapper `value` is, if it is one. */
const asDeadLetter = (value: unknown): Partial<DeadLetter> | undefined => {
  const letter = value as Partial<DeadLetter> | null;
  return letter !== null && typeof letter === 'object' && letter.type === 'dead-letter' && 'message' in letter
    ? letter
    : undefined;
};

/** How many wrappers deep `unwrapDeadLetter` looks (a letter moved back as it is and dead-lettered again). */
const MAX_WRAPPERS = 8;

/**
 * The original body inside a dead-letter wrapper (for redrive); other bodies as they are. A wrapper whose
 * message is itself one (SQS's own DLQ redrive moved a letter back to the update queue as it was, and the
 * worker dead-lettered the wrapper) is unwrapped down to the original, with the innermost reason; it is
 * `truncated` when any wrapper was.
 */
export const unwrapDeadLetter = (
  body: string,
): { readonly body: string; readonly reason?: string; readonly truncated?: true } => {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { body }; // not JSON: replay as is
  }
  let letter = asDeadLetter(value);
  if (!letter) return { body };
  let reason: string | undefined;
  let truncated = false;
  let inner = body;
  for (let depth = 0; letter && depth < MAX_WRAPPERS; depth++) {
    if (typeof letter.reason === 'string') reason = letter.reason;
    // Only the start of the original: not a message to replay.
    if (letter.truncated !== undefined && letter.truncated !== null) truncated = true;
    const message = letter.message;
    inner = typeof message === 'string' ? message : (JSON.stringify(message) ?? '');
    let next: unknown = message;
    if (typeof message === 'string') {
      try {
        next = JSON.parse(message);
      } catch {
        next = undefined;
      }
    }
    letter = asDeadLetter(next);
  }
  return { body: inner, ...(reason === undefined ? {} : { reason }), ...(truncated ? { truncated: true } : {}) };
};
