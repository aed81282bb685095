/**
 * Rate-limit policy for pushes to Notion (docs/protocol.md §6.3 and docs/protocol.md#decisions).
 *
 * Notion grants each connection a fixed budget of N requests per 60 s window.
 * A token bucket of capacity C refilled at r per minute admits at most C + r
 * requests in any 60 s span, so C + r must stay below N. We run the bucket at
 * 97 % of N with a burst of 3 % (at least one, leaving one request of slack):
 * any 60 s span then holds at most N - 1 requests, while a long fan-out still
 * uses 97 % of what Notion allows.
 */
import type { BucketPolicy } from '#core/ports.js';

export const SUSTAINED_SHARE = 0.97;
export const BURST_SHARE = 0.03;

export interface NotionBucket extends BucketPolicy {
  /** Requests per minute the bucket sustains. */
  readonly sustainedPerMinute: number;
}

export const notionBucketPolicy = (perMinute: number): NotionBucket => {
  if (!Number.isInteger(perMinute) || perMinute < 1)
    throw new RangeError('The rate must be a positive integer per minute');
  // Tiny limits: one request, then one per 120 / N seconds.
  if (perMinute < 3) return { capacity: 1, periodMs: 120_000 / perMinute, sustainedPerMinute: perMinute / 2 };
  const sustained = Math.max(1, Math.floor(perMinute * SUSTAINED_SHARE));
  const capacity = Math.max(1, Math.min(Math.floor(perMinute * BURST_SHARE), perMinute - sustained - 1));
  // `capacity` tokens per `periodMs` = `sustained` per minute.
  return { capacity, periodMs: (60_000 * capacity) / sustained, sustainedPerMinute: sustained };
};

/** Bucket of one connection. */
export const connectionBucketKey = (connectionId: string): string => `notion:connection:${connectionId}`;
/** Pause shared by every connection of one Notion workspace. */
export const workspacePauseKey = (workspaceId: string): string => `notion:workspace:${workspaceId}`;
/** Pause of one connection (after Notion's own per-connection 429). */
export const connectionPauseKey = (connectionId: string): string => `notion:connection-pause:${connectionId}`;

/** SQS accepts delays of 0..900 whole seconds. */
export const MAX_DELAY_SECONDS = 900;
export const delaySecondsFor = (ms: number): number => Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(ms / 1000)));
