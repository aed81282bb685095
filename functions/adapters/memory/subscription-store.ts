/** In-memory SubscriptionStore with the semantics of the DynamoDB adapter (ordering and paging included). */
import type { Page, PushClaim, PushRestore, Subscription, SubscriptionKey, SubscriptionStore } from '#core/ports.js';
import { compareKeys, decodeCursor, encodeCursor, pageSize, subscriptionSortKey } from '../dynamo/rules.js';
import { stored } from './clone.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const OPTIONAL_FIELDS = ['workspaceId', 'contentHash', 'snapshot', 'snapshotAt', 'lastPushedAt'] as const;

export class MemorySubscriptionStore implements SubscriptionStore {
  /** resourceKey → sort key → subscription */
  private readonly byResource = new Map<string, Map<string, Subscription>>();

  private sorted(resourceKey: string): Array<[string, Subscription]> {
    return [...(this.byResource.get(resourceKey)?.entries() ?? [])].sort(([a], [b]) => compareKeys(a, b));
  }

  async upsert(subscription: Subscription): Promise<void> {
    const sk = subscriptionSortKey(subscription.connectionId, subscription.uri);
    let items = this.byResource.get(subscription.resourceKey);
    if (!items) {
      items = new Map();
      this.byResource.set(subscription.resourceKey, items);
    }
    const existing = items.get(sk);
    const next: Record<string, unknown> = {
      ...(existing ?? {}),
      resourceKey: subscription.resourceKey,
      connectionId: subscription.connectionId,
      uri: subscription.uri,
      createdAt: existing?.createdAt ?? subscription.createdAt,
      updatedAt: subscription.updatedAt,
    };
    for (const f of OPTIONAL_FIELDS) if (subscription[f] !== undefined) next[f] = subscription[f];
    if (subscription.contentHash !== undefined) delete next.pushLease;
    items.set(sk, stored(next as unknown as Subscription));
  }

  async get(resourceKey: string, connectionId: string, uri: string): Promise<Subscription | undefined> {
    const s = this.byResource.get(resourceKey)?.get(subscriptionSortKey(connectionId, uri));
    return s ? stored(s) : undefined;
  }

  async getMany(keys: readonly SubscriptionKey[]): Promise<Subscription[]> {
    const found = new Map<string, Subscription>();
    for (const k of keys) {
      const sk = subscriptionSortKey(k.connectionId, k.uri);
      const s = this.byResource.get(k.resourceKey)?.get(sk);
      if (s) found.set(`${k.resourceKey}\n${sk}`, stored(s));
    }
    return [...found.values()];
  }

  async deleteForConnectionUri(connectionId: string, uri: string): Promise<number> {
    const sk = subscriptionSortKey(connectionId, uri);
    let deleted = 0;
    for (const [resourceKey, items] of this.byResource) {
      if (items.delete(sk)) deleted++;
      if (items.size === 0) this.byResource.delete(resourceKey);
    }
    return deleted;
  }

  async delete(resourceKey: string, connectionId: string, uri: string): Promise<void> {
    const items = this.byResource.get(resourceKey);
    items?.delete(subscriptionSortKey(connectionId, uri));
    if (items?.size === 0) this.byResource.delete(resourceKey);
  }

  async listByResource(
    resourceKey: string,
    page: { readonly limit?: number; readonly cursor?: string } = {},
  ): Promise<Page<Subscription>> {
    const limit = pageSize(page.limit);
    const after = page.cursor !== undefined ? decodeCursor(page.cursor) : undefined;
    const rest = this.sorted(resourceKey).filter(([sk]) => after === undefined || compareKeys(sk, after) > 0);
    const items = rest.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items: items.map(([, s]) => stored(s)),
      ...(rest.length > limit && last ? { cursor: encodeCursor(last[0]) } : {}),
    };
  }

  async listByConnection(connectionId: string): Promise<Subscription[]> {
    const found: Array<[string, Subscription]> = [];
    for (const items of this.byResource.values()) {
      for (const [sk, s] of items) if (s.connectionId === connectionId) found.push([sk, s]);
    }
    return found
      .sort(([a, x], [b, y]) => compareKeys(a, b) || compareKeys(x.resourceKey, y.resourceKey))
      .map(([, s]) => stored(s));
  }

  async deleteAllForConnection(connectionId: string): Promise<number> {
    let deleted = 0;
    for (const [resourceKey, items] of this.byResource) {
      for (const [sk, s] of items) {
        if (s.connectionId === connectionId) {
          items.delete(sk);
          deleted++;
        }
      }
      if (items.size === 0) this.byResource.delete(resourceKey);
    }
    return deleted;
  }

  async claimPush(k: SubscriptionKey, claim: PushClaim): Promise<boolean> {
    const items = this.byResource.get(k.resourceKey);
    const sk = subscriptionSortKey(k.connectionId, k.uri);
    const current = items?.get(sk);
    if (!items || !current) return false;
    const allowed =
      claim.takeOverFrom === undefined
        ? current.contentHash !== claim.contentHash
        : current.contentHash === claim.contentHash && current.pushLease?.holder === claim.takeOverFrom;
    if (!allowed) return false;
    const next: Mutable<Subscription> = {
      ...current,
      contentHash: claim.contentHash,
      lastPushedAt: claim.now,
      updatedAt: claim.now,
      pushLease: { holder: claim.lease.holder, until: claim.lease.until },
    };
    if (claim.snapshot === null || claim.snapshot === undefined) {
      delete next.snapshot;
      delete next.snapshotAt;
    } else {
      next.snapshot = claim.snapshot;
      next.snapshotAt = claim.now;
    }
    items.set(sk, stored(next));
    return true;
  }

  async releasePush(
    k: SubscriptionKey,
    release: { readonly holder: string; readonly contentHash: string; readonly restore: PushRestore },
  ): Promise<void> {
    const items = this.byResource.get(k.resourceKey);
    const sk = subscriptionSortKey(k.connectionId, k.uri);
    const current = items?.get(sk);
    if (!items || !current) return;
    if (current.contentHash !== release.contentHash || current.pushLease?.holder !== release.holder) return;
    const next: Mutable<Subscription> = { ...current };
    for (const f of ['contentHash', 'snapshot', 'snapshotAt', 'lastPushedAt', 'pushLease'] as const) {
      const v = release.restore[f];
      if (v === undefined) delete next[f];
      else (next as Record<string, unknown>)[f] = v;
    }
    items.set(sk, stored(next));
  }
}
