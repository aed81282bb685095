/**
 * The SubscriptionStore contract, run against the in-memory adapter (unit tier)
 * and the DynamoDB adapter on dynalite (integration tier).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { Subscription, SubscriptionStore } from '#core/ports.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

const aSubscription = (overrides: Partial<Subscription> = {}): Subscription => ({
  resourceKey: `task:${randomUUID()}`,
  connectionId: randomUUID(),
  uri: 'http://127.0.0.1:3000/demo/tasks/1',
  workspaceId: 'ws-1',
  createdAt: T0,
  updatedAt: T0,
  ...overrides,
});

export const subscriptionStoreContract = (name: string, store: () => SubscriptionStore): void => {
  describe(`${name} (SubscriptionStore contract)`, () => {
    it('stores and reads a subscription by (resource, connection, uri); deletes it', async () => {
      const s = aSubscription({ contentHash: 'c1', snapshot: { attributes: [{ id: 'title', value: 'A' }] } });
      await store().upsert(s);
      expect(await store().get(s.resourceKey, s.connectionId, s.uri)).toEqual(s);
      expect(await store().get(s.resourceKey, s.connectionId, `${s.uri}?other`)).toBeUndefined();
      await store().delete(s.resourceKey, s.connectionId, s.uri);
      expect(await store().get(s.resourceKey, s.connectionId, s.uri)).toBeUndefined();
      await expect(store().delete(s.resourceKey, s.connectionId, s.uri)).resolves.toBeUndefined();
    });

    it('refreshes on a repeated upsert: keeps createdAt and fields not given, updates the rest', async () => {
      const s = aSubscription({ contentHash: 'c1' });
      await store().upsert(s);
      const { contentHash: _omit, ...withoutHash } = s;
      await store().upsert({ ...withoutHash, workspaceId: 'ws-2', createdAt: T0 + 500, updatedAt: T0 + 500 });
      expect(await store().get(s.resourceKey, s.connectionId, s.uri)).toEqual({
        ...s,
        workspaceId: 'ws-2',
        updatedAt: T0 + 500,
      });
    });

    it('keeps uris with "#", query strings and non-ASCII characters apart', async () => {
      const base = aSubscription();
      const uris = [`${base.uri}#a`, `${base.uri}#b`, `${base.uri}?q=1#x`, `${base.uri}/é/😀`];
      for (const uri of uris) await store().upsert({ ...base, uri });
      const listed = await store().listByResource(base.resourceKey);
      expect(listed.items.map((s) => s.uri).sort()).toEqual([...uris].sort());
    });

    it('pages through the subscriptions of a resource with an opaque cursor, each exactly once', async () => {
      const resourceKey = `task:${randomUUID()}`;
      const created: string[] = [];
      for (let i = 0; i < 25; i++) {
        const s = aSubscription({ resourceKey, uri: `http://127.0.0.1:3000/demo/tasks/${i}` });
        created.push(`${s.connectionId} ${s.uri}`);
        await store().upsert(s);
      }
      await store().upsert(aSubscription());
      const seen: string[] = [];
      const sizes: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await store().listByResource(resourceKey, { limit: 10, ...(cursor ? { cursor } : {}) });
        sizes.push(page.items.length);
        seen.push(...page.items.map((s) => `${s.connectionId} ${s.uri}`));
        cursor = page.cursor;
      } while (cursor);
      expect(sizes).toEqual([10, 10, 5]);
      expect(seen.sort()).toEqual(created.sort());
    });

    it('fills a page even when large items exceed what one DynamoDB query returns (1 MB)', async () => {
      const resourceKey = `task:${randomUUID()}`;
      const snapshot = { attributes: [{ id: 'description', value: 'x'.repeat(120_000) }] };
      for (let i = 0; i < 12; i++) await store().upsert(aSubscription({ resourceKey, snapshot }));
      const first = await store().listByResource(resourceKey, { limit: 10 });
      expect(first.items).toHaveLength(10);
      const second = await store().listByResource(resourceKey, { limit: 10, cursor: first.cursor as string });
      expect(second.items).toHaveLength(2);
      expect(second.cursor).toBeUndefined();
    });

    it('gives no cursor on a last page that is exactly full', async () => {
      const resourceKey = `task:${randomUUID()}`;
      for (let i = 0; i < 4; i++) await store().upsert(aSubscription({ resourceKey }));
      const first = await store().listByResource(resourceKey, { limit: 2 });
      expect(first.items).toHaveLength(2);
      expect(first.cursor).toEqual(expect.any(String));
      const second = await store().listByResource(resourceKey, { limit: 2, cursor: first.cursor as string });
      expect(second.items).toHaveLength(2);
      expect(second.cursor).toBeUndefined();
      const empty = await store().listByResource(`task:${randomUUID()}`);
      expect(empty).toEqual({ items: [] });
    });

    it('rejects a cursor it did not make', async () => {
      await expect(store().listByResource('task:1', { cursor: 'not-a-cursor' })).rejects.toThrow(/cursor/);
      await expect(store().listByResource('task:1', { limit: 0 })).rejects.toThrow(/limit/);
    });

    it('lists the subscriptions of one connection across resources, and only those', async () => {
      const connectionId = randomUUID();
      const mine = [
        aSubscription({ connectionId }),
        aSubscription({ connectionId }),
        aSubscription({ connectionId, uri: 'http://127.0.0.1:3000/demo/tasks/2' }),
      ];
      for (const s of mine) await store().upsert(s);
      await store().upsert(aSubscription({ resourceKey: mine[0]?.resourceKey as string }));
      const listed = await store().listByConnection(connectionId);
      expect(listed.map((s) => s.resourceKey).sort()).toEqual(mine.map((s) => s.resourceKey).sort());
      expect(listed.every((s) => s.connectionId === connectionId)).toBe(true);
    });

    it('deletes every subscription of a connection (more than one batch), and is safe to repeat', async () => {
      const connectionId = randomUUID();
      const other = aSubscription();
      const shared = `task:${randomUUID()}`;
      await store().upsert({ ...other, resourceKey: shared });
      for (let i = 0; i < 60; i++) {
        const resourceKey = i % 3 === 0 ? shared : `task:${randomUUID()}`;
        await store().upsert(
          aSubscription({ connectionId, resourceKey, uri: `http://127.0.0.1:3000/demo/tasks/${i}` }),
        );
      }
      expect(await store().deleteAllForConnection(connectionId)).toBe(60);
      expect(await store().listByConnection(connectionId)).toEqual([]);
      expect((await store().listByResource(shared)).items.map((s) => s.connectionId)).toEqual([other.connectionId]);
      expect(await store().deleteAllForConnection(connectionId)).toBe(0);
    });

    describe('claimPush and releasePush (the lease in the item, docs/adr/0118)', () => {
      const lease = (holder: string) => ({ holder, until: T0 + 30_000 });

      it('claims a new hash with its snapshot and lease in one write; the same hash is not claimed again', async () => {
        const s = aSubscription({ contentHash: 'c1' });
        await store().upsert(s);
        const k = { resourceKey: s.resourceKey, connectionId: s.connectionId, uri: s.uri };
        const claim = { contentHash: 'c2', snapshot: { v: 2 }, now: T0 + 1, lease: lease('m#1') };
        expect(await store().claimPush(k, claim)).toBe(true);
        expect(await store().claimPush(k, { ...claim, lease: lease('m2#1') })).toBe(false);
        expect(await store().get(s.resourceKey, s.connectionId, s.uri)).toEqual({
          ...s,
          contentHash: 'c2',
          snapshot: { v: 2 },
          snapshotAt: T0 + 1,
          lastPushedAt: T0 + 1,
          updatedAt: T0 + 1,
          pushLease: lease('m#1'),
        });
        expect(await store().claimPush({ ...k, connectionId: randomUUID() }, claim)).toBe(false);
      });

      it('takes over only the claim of the holder named, on the same hash; exactly one of 10 concurrent claims wins', async () => {
        const s = aSubscription();
        await store().upsert(s);
        const k = { resourceKey: s.resourceKey, connectionId: s.connectionId, uri: s.uri };
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            store().claimPush(k, { contentHash: 'h', snapshot: null, now: T0, lease: lease(`m${i}#1`) }),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = `m${results.indexOf(true)}#1`;
        const again = { contentHash: 'h', snapshot: null, now: T0 + 5, lease: lease('x#2') };
        expect(await store().claimPush(k, { ...again, takeOverFrom: 'someone-else#1' })).toBe(false);
        expect(await store().claimPush(k, { ...again, takeOverFrom: winner })).toBe(true);
        expect((await store().get(s.resourceKey, s.connectionId, s.uri))?.pushLease).toEqual(lease('x#2'));
      });

      it('puts back what was there when the claim is still its own, and leaves a later write alone', async () => {
        const s = aSubscription({ contentHash: 'c1', snapshot: { v: 1 }, snapshotAt: T0, lastPushedAt: T0 });
        await store().upsert(s);
        const k = { resourceKey: s.resourceKey, connectionId: s.connectionId, uri: s.uri };
        await store().claimPush(k, { contentHash: 'c2', snapshot: { v: 2 }, now: T0 + 1, lease: lease('m#1') });
        await store().releasePush(k, { holder: 'other#1', contentHash: 'c2', restore: { contentHash: 'zz' } });
        expect((await store().get(s.resourceKey, s.connectionId, s.uri))?.contentHash).toBe('c2');
        await store().releasePush(k, {
          holder: 'm#1',
          contentHash: 'c2',
          restore: { contentHash: 'c1', snapshot: { v: 1 }, snapshotAt: T0, lastPushedAt: T0 },
        });
        expect(await store().get(s.resourceKey, s.connectionId, s.uri)).toEqual({ ...s, updatedAt: T0 + 1 });
        // An unfurl writing its own hash drops the worker's lease.
        await store().claimPush(k, { contentHash: 'c3', snapshot: null, now: T0 + 2, lease: lease('m#2') });
        await store().upsert({ ...s, contentHash: 'c4', updatedAt: T0 + 3 });
        expect((await store().get(s.resourceKey, s.connectionId, s.uri))?.pushLease).toBeUndefined();
      });

      it('puts back the lease it read: a released take-over leaves the unfinished claim it took over (docs/adr/0137)', async () => {
        const s = aSubscription();
        await store().upsert(s);
        const k = { resourceKey: s.resourceKey, connectionId: s.connectionId, uri: s.uri };
        expect(await store().claimPush(k, { contentHash: 'h', snapshot: { v: 1 }, now: T0, lease: lease('m#1') })).toBe(
          true,
        );
        const unfinished = await store().get(s.resourceKey, s.connectionId, s.uri);
        const again = { contentHash: 'h', snapshot: { v: 1 }, now: T0 + 5, lease: lease('m#2'), takeOverFrom: 'm#1' };
        expect(await store().claimPush(k, again)).toBe(true);
        await store().releasePush(k, {
          holder: 'm#2',
          contentHash: 'h',
          restore: { contentHash: 'h', snapshot: { v: 1 }, snapshotAt: T0, lastPushedAt: T0, pushLease: lease('m#1') },
        });
        expect(await store().get(s.resourceKey, s.connectionId, s.uri)).toEqual({ ...unfinished, updatedAt: T0 + 5 });
      });
    });

    it('reads several subscriptions at once, leaving out missing ones', async () => {
      const a = aSubscription();
      const b = aSubscription({ resourceKey: a.resourceKey });
      await store().upsert(a);
      await store().upsert(b);
      const keyOf = (s: Subscription) => ({ resourceKey: s.resourceKey, connectionId: s.connectionId, uri: s.uri });
      const got = await store().getMany?.([keyOf(a), keyOf(b), keyOf(a), { ...keyOf(a), uri: 'http://x/none' }]);
      expect(got?.map((s) => s.connectionId).sort()).toEqual([a.connectionId, b.connectionId].sort());
    });

    it("removes a connection's subscriptions to one uri under any resource key, and only those", async () => {
      const connectionId = randomUUID();
      const a = aSubscription({ connectionId });
      const older = aSubscription({ connectionId, uri: a.uri }); // the same uri filed under another resource key
      const other = aSubscription({ connectionId, uri: `${a.uri}?other` });
      const stranger = aSubscription({ resourceKey: a.resourceKey, uri: a.uri });
      for (const s of [a, older, other, stranger]) await store().upsert(s);
      expect(await store().deleteForConnectionUri(connectionId, a.uri)).toBe(2);
      expect((await store().listByConnection(connectionId)).map((s) => s.uri)).toEqual([other.uri]);
      expect(await store().get(stranger.resourceKey, stranger.connectionId, stranger.uri)).toBeDefined();
      expect(await store().deleteForConnectionUri(connectionId, a.uri)).toBe(0);
    });
  });
};
