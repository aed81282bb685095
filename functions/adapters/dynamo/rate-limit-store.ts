/**
 * RateLimitStore on DynamoDB (table RATE_LIMITS_TABLE, key `pk`):
 *   bucket#<key>  a token bucket: tokens, at (ms of last refill), version
 *   pause#<key>   a pause: untilMs
 *
 * take() is optimistic concurrency: read, refill, decide, then one conditional
 * write on the version that was read; a lost race re-reads and decides again.
 * A denial writes nothing. Under contention that does not settle, take() denies
 * rather than risk over-granting.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { BucketPolicy, RateLimitStore, TakeResult } from '#core/ports.js';
import { isConditionFailed } from './client.js';
import { type BucketState, bucketFullAt, decideTake, refill, ttlSeconds, validatePolicy } from './rules.js';

const MAX_ATTEMPTS = 64;
/** retryAfterMs answered when contention never settled. */
const CONTENDED_RETRY_MS = 50;

const bucketKey = (k: string) => ({ pk: `bucket#${k}` });
const pauseKey = (k: string) => ({ pk: `pause#${k}` });

const jitter = (attempt: number) =>
  new Promise((r) => setTimeout(r, Math.floor(Math.random() * Math.min(20, 1 + attempt * 2))));

export class DynamoRateLimitStore implements RateLimitStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async take(key: string, policy: BucketPolicy, now: number, cost = 1): Promise<TakeResult> {
    validatePolicy(policy, cost);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (attempt > 0) await jitter(attempt);
      const out = await this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: bucketKey(key), ConsistentRead: true }),
      );
      const stored = out.Item;
      const version = stored ? Number(stored.version) : undefined;
      const state: BucketState | undefined = stored
        ? { tokens: Number(stored.tokens), at: Number(stored.at) }
        : undefined;
      const decision = decideTake(refill(state, policy, now), policy, cost);
      if (!decision.allowed) return { allowed: false, retryAfterMs: decision.retryAfterMs };
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              ...bucketKey(key),
              tokens: decision.next.tokens,
              at: decision.next.at,
              version: (version ?? 0) + 1,
              expiresAt: ttlSeconds(bucketFullAt(decision.next, policy)) + 60,
            },
            ConditionExpression: version === undefined ? 'attribute_not_exists(pk)' : 'version = :v',
            ...(version === undefined ? {} : { ExpressionAttributeValues: { ':v': version } }),
          }),
        );
        return { allowed: true, remaining: decision.remaining };
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
    }
    return { allowed: false, retryAfterMs: CONTENDED_RETRY_MS };
  }

  async pause(key: string, untilMs: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: pauseKey(key),
          UpdateExpression: 'SET untilMs = :until, expiresAt = :ttl',
          ConditionExpression: 'attribute_not_exists(untilMs) OR untilMs < :until',
          ExpressionAttributeValues: { ':until': untilMs, ':ttl': ttlSeconds(untilMs) + 60 },
        }),
      );
    } catch (error) {
      // A longer pause is already in place: it stays.
      if (!isConditionFailed(error)) throw error;
    }
  }

  async pausedUntil(key: string, now: number): Promise<number | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: pauseKey(key), ConsistentRead: true }),
    );
    const until = out.Item ? Number(out.Item.untilMs) : undefined;
    return until !== undefined && until > now ? until : undefined;
  }
}
