/**
 * Serialising and batching of update-queue messages within SQS's limits; pure,
 * shared by the SQS adapter and the in-memory queue.
 */
export const MAX_BATCH_ENTRIES = 10;
export const MAX_BATCH_BYTES = 256 * 1024;
export const MAX_DELAY_SECONDS = 900;

/** Validates and serialises events as SQS message bodies (shared with the in-memory queue). */
export const messageBodies = (events: readonly unknown[], delaySeconds: number | undefined): string[] => {
  if (
    delaySeconds !== undefined &&
    (!Number.isInteger(delaySeconds) || delaySeconds < 0 || delaySeconds > MAX_DELAY_SECONDS)
  ) {
    throw new RangeError(`delaySeconds must be an integer from 0 to ${MAX_DELAY_SECONDS}`);
  }
  return events.map((event, i) => {
    const body = JSON.stringify(event);
    if (body === undefined) throw new TypeError(`Event ${i} cannot be serialised as JSON`);
    if (Buffer.byteLength(body, 'utf8') > MAX_BATCH_BYTES)
      throw new RangeError(`Event ${i} exceeds ${MAX_BATCH_BYTES} bytes`);
    return body;
  });
};

/** Groups bodies into batches within SQS's entry and size limits, keeping their order. */
export const batches = (bodies: readonly string[]): string[][] => {
  const out: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const body of bodies) {
    const size = Buffer.byteLength(body, 'utf8');
    if (current.length === MAX_BATCH_ENTRIES || (current.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(body);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
};
