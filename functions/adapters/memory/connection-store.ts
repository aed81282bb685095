/** In-memory ConnectionStore with the semantics of the DynamoDB adapter. */
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
import {
  atTokenVersion,
  type KeptTokens,
  NOTION_TOKENS,
  PREVIOUS_REFRESH_HASHES_KEPT,
  PREVIOUS_REFRESH_HASHES_TRIM_AT,
  UPSTREAM_TOKENS,
} from '../dynamo/rules.js';
import { stored } from './clone.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class MemoryConnectionStore implements ConnectionStore, UpstreamTokenStore, NotionTokenStore {
  private readonly items = new Map<string, Connection>();
  /** Storage-only, as in the DynamoDB adapter: the code each first refresh token was issued for. */
  private readonly issuedForCode = new Map<string, string>();

  async create(connection: Connection): Promise<void> {
    if (this.items.has(connection.id)) throw new AlreadyExistsError(`Connection ${connection.id} already exists`);
    this.items.set(connection.id, stored(connection));
  }

  async get(id: string): Promise<Connection | undefined> {
    const c = this.items.get(id);
    return c ? stored(c) : undefined;
  }

  async getMany(ids: readonly string[]): Promise<ReadonlyMap<string, Connection>> {
    const found = new Map<string, Connection>();
    for (const id of ids) {
      const c = this.items.get(id);
      if (c) found.set(id, stored(c));
    }
    return found;
  }

  async listBySubject(subject: string, now: number): Promise<Connection[]> {
    return [...this.items.values()]
      .filter((c) => c.subject === subject && !isLapsed(c, now))
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((c) => stored(c));
  }

  async swapRefreshToken(id: string, swap: RefreshTokenSwapRequest): Promise<RefreshTokenSwap> {
    const current = this.items.get(id);
    const firstForCode = swap.forCode !== undefined && this.issuedForCode.get(id) === swap.forCode;
    const matches =
      current !== undefined &&
      current.status === 'active' &&
      !isLapsed(current, swap.now) &&
      (swap.expectedHash === null
        ? current.refreshTokenHash === undefined || firstForCode
        : current.refreshTokenHash === swap.expectedHash);
    if (!current || !matches) return { outcome: 'conflict', connection: current ? stored(current) : undefined };
    let previous =
      swap.expectedHash === null
        ? [...current.previousRefreshTokenHashes]
        : [...current.previousRefreshTokenHashes, swap.expectedHash];
    if (previous.length > PREVIOUS_REFRESH_HASHES_TRIM_AT) previous = previous.slice(-PREVIOUS_REFRESH_HASHES_KEPT);
    const next: Mutable<Connection> = {
      ...current,
      refreshTokenHash: swap.newHash,
      previousRefreshTokenHashes: previous,
      updatedAt: swap.now,
    };
    // Redeemed: the connection no longer lapses.
    delete next.expiresAt;
    this.items.set(id, next);
    if (swap.expectedHash !== null) this.issuedForCode.delete(id);
    else if (swap.forCode !== undefined) this.issuedForCode.set(id, swap.forCode);
    return { outcome: 'swapped', connection: stored(next) };
  }

  async end(
    id: string,
    change: { readonly status: Exclude<ConnectionStatus, 'active'>; readonly reason: string; readonly now: number },
  ): Promise<Connection | undefined> {
    const current = this.items.get(id);
    if (!current) return undefined;
    if (current.status !== 'active') return stored(current);
    const next: Mutable<Connection> = {
      ...current,
      status: change.status,
      revokedAt: change.now,
      revokedReason: change.reason,
      updatedAt: change.now,
      tokenGeneration: current.tokenGeneration + 1,
    };
    delete next.notionTokenCiphertext;
    delete next.notionRefreshTokenCiphertext;
    delete next.upstreamTokenCiphertext;
    delete next.refreshTokenHash;
    this.items.set(id, next);
    return stored(current);
  }

  /** The connection when it is active, holds the kind of token and its tokens are at `version`. */
  private atVersion(tokens: KeptTokens, id: string, version: number): Connection | undefined {
    const c = this.items.get(id);
    return atTokenVersion(tokens, c, version) ? c : undefined;
  }

  /** Claims the refresh of a kind of kept token at a version, unless another unexpired claim holds. */
  private claimRefresh(
    tokens: KeptTokens,
    id: string,
    claim: { readonly version: number; readonly now: number; readonly until: number },
  ): boolean {
    const c = this.atVersion(tokens, id, claim.version);
    const held = c?.[tokens.until];
    if (!c || (held !== undefined && held >= claim.now)) return false;
    this.items.set(id, { ...c, [tokens.until]: claim.until });
    return true;
  }

  /** Drops a claim iff it is still the one taken until `until`. */
  private releaseRefresh(
    tokens: KeptTokens,
    id: string,
    release: { readonly version: number; readonly until: number },
  ): void {
    const c = this.atVersion(tokens, id, release.version);
    if (!c || c[tokens.until] !== release.until) return;
    const next: Mutable<Connection> = { ...c };
    delete next[tokens.until];
    this.items.set(id, next);
  }

  async claimUpstreamRefresh(
    id: string,
    claim: { readonly version: number; readonly now: number; readonly until: number },
  ): Promise<boolean> {
    return this.claimRefresh(UPSTREAM_TOKENS, id, claim);
  }

  async saveUpstreamTokens(
    id: string,
    save: { readonly version: number; readonly ciphertext: string; readonly now: number },
  ): Promise<boolean> {
    const c = this.atVersion(UPSTREAM_TOKENS, id, save.version);
    if (!c) return false;
    const next: Mutable<Connection> = {
      ...c,
      upstreamTokenCiphertext: save.ciphertext,
      upstreamTokenVersion: save.version + 1,
      updatedAt: save.now,
    };
    delete next.upstreamRefreshUntil;
    this.items.set(id, next);
    return true;
  }

  async releaseUpstreamRefresh(
    id: string,
    release: { readonly version: number; readonly until: number },
  ): Promise<void> {
    this.releaseRefresh(UPSTREAM_TOKENS, id, release);
  }

  async requireUpstreamLogin(id: string, mark: { readonly version: number; readonly now: number }): Promise<boolean> {
    const c = this.atVersion(UPSTREAM_TOKENS, id, mark.version);
    if (!c) return false;
    const next: Mutable<Connection> = { ...c, upstreamLoginRequiredAt: mark.now, updatedAt: mark.now };
    delete next.upstreamTokenCiphertext;
    delete next.upstreamRefreshUntil;
    this.items.set(id, next);
    return true;
  }

  async claimNotionRefresh(
    id: string,
    claim: { readonly version: number; readonly now: number; readonly until: number },
  ): Promise<boolean> {
    return this.claimRefresh(NOTION_TOKENS, id, claim);
  }

  async saveNotionTokens(
    id: string,
    save: {
      readonly version: number;
      readonly until: number;
      readonly tokenCiphertext: string;
      readonly refreshTokenCiphertext?: string;
      readonly now: number;
    },
  ): Promise<boolean> {
    const c = this.atVersion(NOTION_TOKENS, id, save.version);
    if (!c || c.notionRefreshUntil !== save.until) return false;
    const next: Mutable<Connection> = {
      ...c,
      notionTokenCiphertext: save.tokenCiphertext,
      ...(save.refreshTokenCiphertext === undefined
        ? {}
        : { notionRefreshTokenCiphertext: save.refreshTokenCiphertext }),
      notionTokenVersion: save.version + 1,
      updatedAt: save.now,
    };
    delete next.notionRefreshUntil;
    this.items.set(id, next);
    return true;
  }

  async releaseNotionRefresh(id: string, release: { readonly version: number; readonly until: number }): Promise<void> {
    this.releaseRefresh(NOTION_TOKENS, id, release);
  }
}
