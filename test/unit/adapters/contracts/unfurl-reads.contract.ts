/**
 * The UnfurlReads contract (docs/adr/0065), run against the in-memory stores
 * read separately (unit tier) and the one BatchGetItem on dynalite
 * (integration tier).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { ConnectionStore, SubscriptionStore, UnfurlReads } from '#core/ports.js';
import { aConnection } from './connection-store.contract.js';

export interface UnfurlReadsWorld {
  readonly reads: UnfurlReads;
  readonly connections: ConnectionStore;
  readonly subscriptions: SubscriptionStore;
}

const URI = 'http://127.0.0.1:3000/demo/tasks/1';

export const unfurlReadsContract = (name: string, world: () => UnfurlReadsWorld): void => {
  describe(`${name} (UnfurlReads contract)`, () => {
    const seeded = async () => {
      const connection = aConnection({ id: randomUUID() });
      await world().connections.create(connection);
      const key = { resourceKey: `task:${randomUUID()}`, connectionId: connection.id, uri: URI };
      return { connection, key };
    };

    it('reads the connection and the stamp of its subscription: hash and snapshot time, not the snapshot', async () => {
      const { connection, key } = await seeded();
      await world().subscriptions.upsert({
        ...key,
        workspaceId: 'ws-1',
        contentHash: 'v1:abc',
        snapshot: '[{"id":"title"}]',
        snapshotAt: 1234,
        createdAt: 1000,
        updatedAt: 1234,
      });
      const read = await world().reads.read(connection.id, key);
      expect(read.connection).toEqual(connection);
      expect(read.stored).toEqual({ known: true, stamp: { contentHash: 'v1:abc', snapshotAt: 1234 } });
    });

    it('reports a subscription that does not exist as known to be absent', async () => {
      const { connection, key } = await seeded();
      const read = await world().reads.read(connection.id, key);
      expect(read.connection).toEqual(connection);
      expect(read.stored).toEqual({ known: true, stamp: undefined });
      // Another uri of the same resource and connection is another subscription.
      await world().subscriptions.upsert({ ...key, contentHash: 'h', snapshotAt: 1, createdAt: 1, updatedAt: 1 });
      expect((await world().reads.read(connection.id, { ...key, uri: `${URI}?view=2` })).stored).toEqual({
        known: true,
        stamp: undefined,
      });
    });

    it('without a subscription key reads the connection only; an unknown connection is undefined', async () => {
      const { connection } = await seeded();
      expect(await world().reads.read(connection.id)).toEqual({ connection, stored: { known: false } });
      const missing = await world().reads.read(randomUUID(), {
        resourceKey: 'task:1',
        connectionId: 'nobody',
        uri: URI,
      });
      expect(missing.connection).toBeUndefined();
    });

    it('sees the connection state as stored at the moment of the read (a revoked connection reads revoked)', async () => {
      const { connection, key } = await seeded();
      await world().connections.end(connection.id, { status: 'revoked', reason: 'test', now: 5 });
      expect((await world().reads.read(connection.id, key)).connection?.status).toBe('revoked');
    });
  });
};
