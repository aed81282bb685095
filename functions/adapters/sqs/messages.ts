/**
 * Serialising and batching of update-queue messages within SQS's limits; pure,
 * shared by the SQS adapter and the in-memory queue.
 */
import { chunksWithin } from '#shared/chunks.js';

export const MAX_BATCH_ENTRIES = 10;
export const MAX_BATCH_BYTES = 256 * 1024;
export const MAX_DELAY_SECONDS = 900;

/**
 * Code units SQS refuses in a message body, or that an emulator refuses: SQS accepts only #x9, #xA, #xD,
 * #x20–#xD7FF, #xE000–#xFFFD and #x10000–#x10FFFF, so U+FFFE and U+FFFF (which JSON.stringify leaves as they
 * are) make SendMessage fail; fauxqs also refuses every surrogate, emoji included. JSON.stringify already
 * escapes control characters and lone surrogates.
 */
const UNSAFE_FOR_SQS = /[\uD800-\uDFFF\uFFFE\uFFFF]/g;

/**
 * A JSON text SQS accepts whatever its strings hold: each unsafe code unit written as a `\uXXXX` escape, which
 * parses back to the same string. Those code units only ever occur inside JSON strings.
 */
export const sqsSafeJson = (json: string): string =>
  json.replace(UNSAFE_FOR_SQS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Validates and serialises events as SQS message bodies (shared with the in-memory queue). */
export const messageBodies = (events: readonly unknown[], delaySeconds: number | undefined): string[] => {
  if (
    delaySeconds !== undefined &&
    (!Number.isInteger(delaySeconds) || delaySeconds < 0 || delaySeconds > MAX_DELAY_SECONDS)
  ) {
    throw new RangeError(`delaySeconds must be an integer from 0 to ${MAX_DELAY_SECONDS}`);
  }
  return events.map((event, i) => {
    const json = JSON.stringify(event);
    if (json === undefined) throw new TypeError(`Event ${i} cannot be serialised as JSON`);
    const body = sqsSafeJson(json);
    if (Buffer.byteLength(body, 'utf8') > MAX_BATCH_BYTES)
      throw new RangeError(`Event ${i} exceeds ${MAX_BATCH_BYTES} bytes`);
    return body;
  });
};

/** Groups bodies into batches within SQS's entry and size limits, keeping their order. */
export const batches = (bodies: readonly string[]): string[][] =>
  chunksWithin(bodies, { maxCount: MAX_BATCH_ENTRIES, maxSize: MAX_BATCH_BYTES }, (body) =>
    Buffer.byteLength(body, 'utf8'),
  );
