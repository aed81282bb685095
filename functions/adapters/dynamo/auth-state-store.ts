/**
 * AuthStateStore on DynamoDB (table AUTH_STATE_TABLE, key `pk`):
 *   code#<hash>     authorization codes; consumed with one conditional UpdateItem,
 *                   kept CODE_REPLAY_RETENTION_MS past expiry so a replay is recognised
 *   pending#<id>    login round-trips; taken with one conditional DeleteItem
 *   marker#<key>    small expiring facts and idempotency keys
 * Every item carries `expiresAtMs` (exact expiry, checked on every read and in
 * conditions) and `expiresAt` (epoch seconds, the DynamoDB TTL attribute).
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  AlreadyExistsError,
  type AuthorizationCode,
  type AuthStateStore,
  type CodeLookup,
  type CodeRedemption,
  type PendingAuthorization,
} from '#core/ports.js';
import { isConditionFailed } from './client.js';
import { CODE_REPLAY_RETENTION_MS, ttlPassed, ttlSeconds } from './rules.js';

type Item = Record<string, unknown>;

const codeKey = (hash: string) => ({ pk: `code#${hash}` });
const pendingKey = (id: string) => ({ pk: `pending#${id}` });
const markerKey = (k: string) => ({ pk: `marker#${k}` });

const codeFromItem = (item: Item): AuthorizationCode => {
  const data = item.data as Omit<AuthorizationCode, 'consumedAt'>;
  const consumedAt = item.consumedAt as number | undefined;
  return { ...data, ...(consumedAt !== undefined ? { consumedAt: Number(consumedAt) } : {}) };
};

/** The part of an authorization code that never changes (consumedAt lives beside it). */
const codeData = (code: AuthorizationCode): Omit<AuthorizationCode, 'consumedAt'> => {
  const { consumedAt: _consumed, ...data } = code;
  return data;
};

/** The stored form of a pending authorization. */
const pendingItem = (pending: PendingAuthorization) => ({
  ...pendingKey(pending.id),
  kind: 'pending',
  data: pending,
  expiresAtMs: pending.expiresAt,
  expiresAt: ttlSeconds(pending.expiresAt),
});

export class DynamoAuthStateStore implements AuthStateStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  private async read(key: { pk: string }, now: number): Promise<Item | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    const item = out.Item;
    if (!item || ttlPassed(item.expiresAt as number | undefined, now)) return undefined;
    return item;
  }

  // --- authorization codes -------------------------------------------------

  async putCode(code: AuthorizationCode): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...codeKey(code.codeHash),
            kind: 'code',
            data: codeData(code),
            consumedAt: code.consumedAt,
            expiresAtMs: code.expiresAt,
            expiresAt: ttlSeconds(code.expiresAt + CODE_REPLAY_RETENTION_MS),
          },
          // Never overwrite a code, consumed or not.
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (isConditionFailed(error)) throw new AlreadyExistsError('Authorization code already exists');
      throw error;
    }
  }

  async readCode(codeHash: string, now: number): Promise<CodeLookup> {
    const item = await this.read(codeKey(codeHash), now);
    if (!item) return { outcome: 'unknown' };
    const code = codeFromItem(item);
    if (code.consumedAt !== undefined) return { outcome: 'replayed', code };
    if ((item.expiresAtMs as number) <= now) return { outcome: 'expired' };
    return { outcome: 'usable', code };
  }

  async redeemCode(codeHash: string, now: number): Promise<CodeRedemption> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: codeKey(codeHash),
          UpdateExpression: 'SET consumedAt = :now',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(consumedAt) AND expiresAtMs > :now',
          ExpressionAttributeValues: { ':now': now },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { outcome: 'redeemed', code: codeFromItem(out.Attributes as Item) };
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
    // The write lost: say why, from a consistent read.
    const found = await this.readCode(codeHash, now);
    return found.outcome === 'usable' ? { outcome: 'expired' } : found;
  }

  // --- pending authorizations ----------------------------------------------

  async putPending(pending: PendingAuthorization): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: pendingItem(pending),
      }),
    );
  }

  async getPending(id: string, now: number): Promise<PendingAuthorization | undefined> {
    const item = await this.read(pendingKey(id), now);
    if (!item || (item.expiresAtMs as number) <= now) return undefined;
    return item.data as PendingAuthorization;
  }

  async updatePending(pending: PendingAuthorization): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: pendingItem(pending),
          ConditionExpression: 'attribute_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async takePending(id: string, now: number): Promise<PendingAuthorization | undefined> {
    try {
      const out = await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: pendingKey(id),
          ConditionExpression: 'attribute_exists(pk) AND expiresAtMs > :now',
          ExpressionAttributeValues: { ':now': now },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return (out.Attributes as Item).data as PendingAuthorization;
    } catch (error) {
      if (isConditionFailed(error)) return undefined;
      throw error;
    }
  }

  async takePendingForConsent(
    id: string,
    csrfHash: string,
    now: number,
  ): Promise<{ outcome: 'taken'; pending: PendingAuthorization } | { outcome: 'mismatch' | 'gone' }> {
    try {
      const out = await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: pendingKey(id),
          ConditionExpression:
            'attribute_exists(pk) AND expiresAtMs > :now AND attribute_exists(#data.#user) AND #data.#csrf = :csrf',
          ExpressionAttributeNames: { '#data': 'data', '#user': 'user', '#csrf': 'csrfHash' },
          ExpressionAttributeValues: { ':now': now, ':csrf': csrfHash },
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { outcome: 'taken', pending: (out.Attributes as Item).data as PendingAuthorization };
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      // Why it failed (a rare path): the item as it was, from the failure where the store returns it.
      const raw = (error as { Item?: Record<string, { N?: string }> }).Item;
      const live = raw ? Number(raw.expiresAtMs?.N) > now : (await this.getPending(id, now)) !== undefined;
      return { outcome: live ? 'mismatch' : 'gone' };
    }
  }

  // --- markers -------------------------------------------------------------

  async putMarker(key: string, value: string, expiresAt: number): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...markerKey(key), kind: 'marker', value, expiresAtMs: expiresAt, expiresAt: ttlSeconds(expiresAt) },
      }),
    );
  }

  async getMarker(key: string, now: number): Promise<string | undefined> {
    const item = await this.read(markerKey(key), now);
    if (!item || (item.expiresAtMs as number) <= now) return undefined;
    return item.value as string;
  }

  async putMarkerIfAbsent(key: string, value: string, expiresAt: number, now: number): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...markerKey(key), kind: 'marker', value, expiresAtMs: expiresAt, expiresAt: ttlSeconds(expiresAt) },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAtMs <= :now',
          ExpressionAttributeValues: { ':now': now },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }
}
