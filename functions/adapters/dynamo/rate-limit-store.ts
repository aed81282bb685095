/**
 * RateLimitStore on DynamoDB (table RATE_LIMITS_TABLE, key `pk`):
 *   bucket#<key>  a token bucket kept as its theoretical arrival time `tat` (rules.ts, decideGcra)
 *   pause#<key>   a pause: untilMs
 *
 * take() is one conditional UpdateItem (docs/adr/0118): an idle bucket (`tat` in the past, or
 * none yet) is set to `now + T`; a busy one is moved on by `T` while it stays within the
 * burst. Which of the two applies is guessed from the last `tat` this process saw; a wrong
 * guess fails its condition, and the stored `tat` (from the failure, or one consistent read
 * where the store does not return it) decides: a denial, or the other update. `tat` only
 * ever grows, so a `tat` seen before is a lower bound: when it already denies the take, no
 * request is made. A denial writes nothing. Items of the earlier layout (tokens, at, version)
 * have no `tat` and count as a full bucket once.
 */
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { BucketPolicy, RateLimitStore, TakeResult } from '#core/ports.js';
import { batchGetItems, isConditionFailed } from './client.js';
import { decideGcra, emissionMs, remainingAfter, ttlSeconds, validatePolicy } from './rules.js';

const MAX_ATTEMPTS = 16;
/** retryAfterMs answered when contention never settled. */
const CONTENDED_RETRY_MS = 50;
/** Buckets whose last `tat` this process remembers (a guess, forgotten wholesale when full). */
const KNOWN_MAX = 10_000;

const bucketKey = (k: string) => ({ pk: `bucket#${k}` });
const pauseKey = (k: string) => ({ pk: `pause#${k}` });

const storedTat = (error: unknown): number | undefined => {
  const raw = (error as { Item?: { tat?: { N?: string } } }).Item?.tat?.N;
  return raw === undefined ? undefined : Number(raw);
};

export class DynamoRateLimitStore implements RateLimitStore {
  private readonly known = new Map<string, number>();

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  private remember(key: string, tat: number): void {
    if (this.known.size >= KNOWN_MAX) this.known.clear();
    if ((this.known.get(key) ?? -1) < tat) this.known.set(key, tat);
  }

  async take(key: string, policy: BucketPolicy, now: number, cost = 1): Promise<TakeResult> {
    validatePolicy(policy, cost);
    let seen = this.known.get(key);
    const step = emissionMs(policy, cost);
    const ttl = ttlSeconds(now + policy.periodMs) + 60;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const decision = decideGcra(seen, policy, now, cost);
      if (!decision.allowed) return decision;
      const idle = seen === undefined || seen <= now;
      try {
        const out = await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: bucketKey(key),
            UpdateExpression: idle ? 'SET tat = :next, expiresAt = :ttl' : 'SET tat = tat + :step, expiresAt = :ttl',
            ConditionExpression: idle ? 'attribute_not_exists(tat) OR tat <= :now' : 'tat > :now AND tat <= :limit',
            ExpressionAttributeValues: idle
              ? { ':next': decision.tat, ':ttl': ttl, ':now': now }
              : { ':step': step, ':ttl': ttl, ':now': now, ':limit': now + policy.periodMs - step },
            ReturnValues: 'UPDATED_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        const tat = Number(out.Attributes?.tat ?? decision.tat);
        this.remember(key, tat);
        return { allowed: true, remaining: remainingAfter(tat, policy, now) };
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
        seen = storedTat(error) ?? (await this.readTat(key));
        if (seen !== undefined) this.remember(key, seen);
      }
    }
    return { allowed: false, retryAfterMs: CONTENDED_RETRY_MS };
  }

  private async readTat(key: string): Promise<number | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: bucketKey(key), ConsistentRead: true }),
    );
    const tat = out.Item?.tat;
    return tat === undefined ? undefined : Number(tat);
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

  async pausedUntilMany(keys: readonly string[], now: number): Promise<ReadonlyMap<string, number>> {
    const unique = [...new Set(keys)];
    const items = await batchGetItems(this.doc, this.tableName, unique.map(pauseKey));
    const found = new Map<string, number>();
    for (const item of items) {
      const until = Number(item.untilMs);
      if (until > now) found.set(String(item.pk).slice('pause#'.length), until);
    }
    return found;
  }
}
