/**
 * ConnectionStore on DynamoDB (table CONNECTIONS_TABLE, key `pk` = "connection#<id>",
 * index bySubject). Single use and rotation rest on conditional writes only.
 *
 * A connection not yet redeemed carries its expiry twice, as every expiring item
 * does (ADR 0021): `expiresAtMs` (exact, what readers and conditions check; the
 * domain's `expiresAt`) and `expiresAt` (epoch seconds, the table's TTL
 * attribute). The first refresh-token swap removes both (ADR 0160).
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  AlreadyExistsError,
  type Connection,
  type ConnectionStatus,
  type ConnectionStore,
  isLapsed,
  type NotionTokenStore,
  type RefreshTokenSwap,
  type RefreshTokenSwapRequest,
  type UpstreamTokenStore,
} from '#core/ports.js';
import { CONNECTIONS_TABLE } from '#lib/data-model.js';
import { batchGetItems, isConditionFailed } from './client.js';
import {
  type KeptTokens,
  NOTION_TOKENS,
  PREVIOUS_REFRESH_HASHES_KEPT,
  PREVIOUS_REFRESH_HASHES_TRIM_AT,
  ttlSeconds,
  UPSTREAM_TOKENS,
} from './rules.js';

/** Storage-only: the hash of the authorization code the first refresh token was issued for. */
const FOR_CODE = 'refreshIssuedForCode';
const SUBJECT_INDEX = CONNECTIONS_TABLE.globalIndexes[0]?.indexName ?? 'bySubject';
/** The item key of a connection. */
export const connectionKey = (id: string) => ({ pk: `connection#${id}` });
const key = connectionKey;

type Item = Record<string, unknown>;

/** Rebuilds a Connection from an item, dropping storage-only attributes. */
export const connectionFromItem = (item: Item): Connection => {
  const c = item as unknown as Connection;
  return {
    id: c.id,
    subject: c.subject,
    displayName: c.displayName,
    clientId: c.clientId,
    scope: c.scope,
    notion: {
      workspaceId: c.notion.workspaceId,
      workspaceName: c.notion.workspaceName ?? null,
      workspaceIcon: c.notion.workspaceIcon ?? null,
      botId: c.notion.botId,
    },
    ...(c.notionTokenCiphertext !== undefined ? { notionTokenCiphertext: c.notionTokenCiphertext } : {}),
    ...(c.notionRefreshTokenCiphertext !== undefined
      ? { notionRefreshTokenCiphertext: c.notionRefreshTokenCiphertext }
      : {}),
    ...(c.notionTokenVersion !== undefined ? { notionTokenVersion: Number(c.notionTokenVersion) } : {}),
    ...(c.notionRefreshUntil !== undefined ? { notionRefreshUntil: Number(c.notionRefreshUntil) } : {}),
    ...(c.upstreamTokenCiphertext !== undefined ? { upstreamTokenCiphertext: c.upstreamTokenCiphertext } : {}),
    ...(c.upstreamTokenVersion !== undefined ? { upstreamTokenVersion: Number(c.upstreamTokenVersion) } : {}),
    ...(c.upstreamRefreshUntil !== undefined ? { upstreamRefreshUntil: Number(c.upstreamRefreshUntil) } : {}),
    ...(c.upstreamLoginRequiredAt !== undefined ? { upstreamLoginRequiredAt: Number(c.upstreamLoginRequiredAt) } : {}),
    status: c.status,
    tokenGeneration: Number(c.tokenGeneration),
    ...(c.refreshTokenHash !== undefined ? { refreshTokenHash: c.refreshTokenHash } : {}),
    previousRefreshTokenHashes: [...(c.previousRefreshTokenHashes ?? [])],
    createdAt: Number(c.createdAt),
    updatedAt: Number(c.updatedAt),
    ...(c.revokedAt !== undefined ? { revokedAt: Number(c.revokedAt) } : {}),
    ...(c.revokedReason !== undefined ? { revokedReason: c.revokedReason } : {}),
    // `expiresAt` in the item is the TTL attribute (epoch seconds); the exact expiry is `expiresAtMs`.
    ...(item.expiresAtMs !== undefined ? { expiresAt: Number(item.expiresAtMs) } : {}),
  };
};

/** The item of a new connection: the domain's `expiresAt` (ms) becomes `expiresAtMs` and the TTL attribute. */
const itemOf = (connection: Connection): Item => {
  const { expiresAt, ...rest } = connection;
  return {
    ...key(connection.id),
    ...rest,
    previousRefreshTokenHashes: [...connection.previousRefreshTokenHashes],
    ...(expiresAt === undefined ? {} : { expiresAtMs: expiresAt, expiresAt: ttlSeconds(expiresAt) }),
  };
};

/** Not lapsed at :now (the connection was redeemed, or its expiry has not passed). */
const NOT_LAPSED = '(attribute_not_exists(#expiresAtMs) OR #expiresAtMs > :now)';

export class DynamoConnectionStore implements ConnectionStore, UpstreamTokenStore, NotionTokenStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(connection: Connection): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: itemOf(connection),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (isConditionFailed(error)) throw new AlreadyExistsError(`Connection ${connection.id} already exists`);
      throw error;
    }
  }

  async get(id: string): Promise<Connection | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key(id), ConsistentRead: true }));
    return out.Item ? connectionFromItem(out.Item) : undefined;
  }

  async getMany(ids: readonly string[]): Promise<ReadonlyMap<string, Connection>> {
    const unique = [...new Set(ids)];
    const items = await batchGetItems(this.doc, this.tableName, unique.map(key));
    return new Map(
      items.map((item) => {
        const c = connectionFromItem(item);
        return [c.id, c] as const;
      }),
    );
  }

  async listBySubject(subject: string, now: number): Promise<Connection[]> {
    const result: Connection[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: SUBJECT_INDEX,
          KeyConditionExpression: '#subject = :subject',
          ExpressionAttributeNames: { '#subject': 'subject' },
          ExpressionAttributeValues: { ':subject': subject },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const c = connectionFromItem(item);
        if (!isLapsed(c, now)) result.push(c);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return result;
  }

  async swapRefreshToken(id: string, swap: RefreshTokenSwapRequest): Promise<RefreshTokenSwap> {
    const names: Record<string, string> = {
      '#status': 'status',
      '#hash': 'refreshTokenHash',
      '#updatedAt': 'updatedAt',
      '#expiresAtMs': 'expiresAtMs',
    };
    const values: Record<string, unknown> = { ':active': 'active', ':new': swap.newHash, ':now': swap.now };
    let set = '#hash = :new, #updatedAt = :now';
    let remove = '';
    let condition = `attribute_exists(pk) AND #status = :active AND ${NOT_LAPSED} AND `;
    if (swap.expectedHash === null) {
      // The first token: the connection is redeemed and no longer lapses (ADR 0160).
      names['#ttl'] = 'expiresAt';
      remove = ' REMOVE #expiresAtMs, #ttl';
    }
    if (swap.expectedHash === null && swap.forCode !== undefined) {
      // The first token for this code: also replaces one an unfinished exchange of the same code set (ADR 0087).
      condition += '(attribute_not_exists(#hash) OR #forCode = :forCode)';
      names['#forCode'] = FOR_CODE;
      values[':forCode'] = swap.forCode;
      set += ', #forCode = :forCode';
    } else if (swap.expectedHash === null) {
      condition += 'attribute_not_exists(#hash)';
    } else {
      condition += '#hash = :expected';
      values[':expected'] = swap.expectedHash;
      values[':rotated'] = [swap.expectedHash];
      values[':empty'] = [];
      names['#prev'] = 'previousRefreshTokenHashes';
      set += ', #prev = list_append(if_not_exists(#prev, :empty), :rotated)';
      // Once rotated, the first token's code can no longer replace anything.
      names['#forCode'] = FOR_CODE;
      remove = ' REMOVE #forCode';
    }
    let updated: Connection;
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key(id),
          UpdateExpression: `SET ${set}${remove}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      updated = connectionFromItem(out.Attributes as Item);
    } catch (error) {
      if (isConditionFailed(error)) return { outcome: 'conflict', connection: await this.get(id) };
      throw error;
    }
    return { outcome: 'swapped', connection: await this.trimPrevious(updated) };
  }

  /** Trims the rotated-hash list once it passed the threshold (a second, rare, conditional write). */
  private async trimPrevious(connection: Connection): Promise<Connection> {
    const prev = connection.previousRefreshTokenHashes;
    if (prev.length <= PREVIOUS_REFRESH_HASHES_TRIM_AT) return connection;
    const kept = prev.slice(prev.length - PREVIOUS_REFRESH_HASHES_KEPT);
    try {
      // The whole list is written (not REMOVE of list indexes, which emulators apply inconsistently),
      // guarded so that it only replaces the list just read.
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key(connection.id),
          UpdateExpression: 'SET #prev = :kept',
          ConditionExpression: '#hash = :current AND size(#prev) = :size',
          ExpressionAttributeNames: { '#prev': 'previousRefreshTokenHashes', '#hash': 'refreshTokenHash' },
          ExpressionAttributeValues: { ':kept': kept, ':current': connection.refreshTokenHash, ':size': prev.length },
        }),
      );
    } catch (error) {
      // A concurrent rotation or revocation won: the next rotation trims.
      if (isConditionFailed(error)) return connection;
      throw error;
    }
    return { ...connection, previousRefreshTokenHashes: kept };
  }

  async end(
    id: string,
    change: { readonly status: Exclude<ConnectionStatus, 'active'>; readonly reason: string; readonly now: number },
  ): Promise<Connection | undefined> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key(id),
          UpdateExpression:
            'SET #status = :status, revokedAt = :now, revokedReason = :reason, updatedAt = :now ' +
            'ADD tokenGeneration :one ' +
            'REMOVE notionTokenCiphertext, notionRefreshTokenCiphertext, upstreamTokenCiphertext, refreshTokenHash',
          ConditionExpression: 'attribute_exists(pk) AND #status = :active',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':status': change.status,
            ':active': 'active',
            ':now': change.now,
            ':reason': change.reason,
            ':one': 1,
          },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return connectionFromItem(out.Attributes as Item);
    } catch (error) {
      // Missing, or already ended: nothing changes (idempotent).
      if (isConditionFailed(error)) return this.get(id);
      throw error;
    }
  }

  /**
   * One conditional update on a kind of kept token (`tokens`): applied iff the connection is active, holds
   * that token (`#held`), its tokens are at `version` (absent version: 0) and `extra` holds; false when
   * the condition failed.
   */
  private async versionedUpdate(
    tokens: KeptTokens,
    id: string,
    version: number,
    update: string,
    values: Record<string, unknown>,
    extra = '',
  ): Promise<boolean> {
    const versionCondition =
      version === 0 ? '(attribute_not_exists(#version) OR #version = :version)' : '#version = :version';
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key(id),
          UpdateExpression: update,
          ConditionExpression: `attribute_exists(pk) AND #status = :active AND attribute_exists(#held) AND ${versionCondition}${extra}`,
          ExpressionAttributeNames: {
            '#status': 'status',
            '#held': tokens.held,
            '#version': tokens.version,
            '#until': tokens.until,
          },
          ExpressionAttributeValues: { ':active': 'active', ':version': version, ...values },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /** Claims the refresh of a kind of kept token at a version, unless another unexpired claim holds. */
  private claimRefresh(
    tokens: KeptTokens,
    id: string,
    claim: { readonly version: number; readonly now: number; readonly until: number },
  ): Promise<boolean> {
    return this.versionedUpdate(
      tokens,
      id,
      claim.version,
      'SET #until = :until',
      { ':until': claim.until, ':now': claim.now },
      ' AND (attribute_not_exists(#until) OR #until < :now)',
    );
  }

  /** Drops a claim iff it is still the one taken until `until`. */
  private async releaseRefresh(
    tokens: KeptTokens,
    id: string,
    release: { readonly version: number; readonly until: number },
  ): Promise<void> {
    await this.versionedUpdate(
      tokens,
      id,
      release.version,
      'REMOVE #until',
      { ':until': release.until },
      ' AND #until = :until',
    );
  }

  claimUpstreamRefresh(
    id: string,
    claim: { readonly version: number; readonly now: number; readonly until: number },
  ): Promise<boolean> {
    return this.claimRefresh(UPSTREAM_TOKENS, id, claim);
  }

  saveUpstreamTokens(
    id: string,
    save: { readonly version: number; readonly ciphertext: string; readonly now: number },
  ): Promise<boolean> {
    return this.versionedUpdate(
      UPSTREAM_TOKENS,
      id,
      save.version,
      'SET #held = :tokens, #version = :next, updatedAt = :now REMOVE #until',
      { ':tokens': save.ciphertext, ':next': save.version + 1, ':now': save.now },
    );
  }

  async releaseUpstreamRefresh(
    id: string,
    release: { readonly version: number; readonly until: number },
  ): Promise<void> {
    await this.releaseRefresh(UPSTREAM_TOKENS, id, release);
  }

  requireUpstreamLogin(id: string, mark: { readonly version: number; readonly now: number }): Promise<boolean> {
    return this.versionedUpdate(
      UPSTREAM_TOKENS,
      id,
      mark.version,
      'SET upstreamLoginRequiredAt = :now, updatedAt = :now REMOVE #held, #until',
      { ':now': mark.now },
    );
  }

  claimNotionRefresh(
    id: string,
    claim: { readonly version: number; readonly now: number; readonly until: number },
  ): Promise<boolean> {
    return this.claimRefresh(NOTION_TOKENS, id, claim);
  }

  saveNotionTokens(
    id: string,
    save: {
      readonly version: number;
      readonly until: number;
      readonly tokenCiphertext: string;
      readonly refreshTokenCiphertext?: string;
      readonly now: number;
    },
  ): Promise<boolean> {
    const rotated = save.refreshTokenCiphertext !== undefined;
    return this.versionedUpdate(
      NOTION_TOKENS,
      id,
      save.version,
      `SET notionTokenCiphertext = :token, ${rotated ? '#held = :refresh, ' : ''}#version = :next, updatedAt = :now REMOVE #until`,
      {
        ':token': save.tokenCiphertext,
        ...(rotated ? { ':refresh': save.refreshTokenCiphertext } : {}),
        ':next': save.version + 1,
        ':now': save.now,
        ':until': save.until,
      },
      ' AND #until = :until',
    );
  }

  async releaseNotionRefresh(id: string, release: { readonly version: number; readonly until: number }): Promise<void> {
    await this.releaseRefresh(NOTION_TOKENS, id, release);
  }
}
