/** The rule deciding whether a found unfurl writes its subscription again (docs/adr/0065). */
import { describe, expect, it } from '@jest/globals';
import * as fc from 'fast-check';
import { MemoryConnectionStore, MemorySubscriptionStore } from '#adapters/memory/index.js';
import type { StampRead } from '#core/ports.js';
import { isAbsent, isRecorded, separateReads, UNKNOWN_STAMP } from '#core/unfurl/reads.js';

const known = (contentHash?: string, snapshotAt?: number): StampRead => ({
  known: true,
  stamp: {
    ...(contentHash !== undefined ? { contentHash } : {}),
    ...(snapshotAt !== undefined ? { snapshotAt } : {}),
  },
});

describe('isRecorded', () => {
  it('holds only for the same hash confirmed within the window', () => {
    expect(isRecorded(known('h', 1000), 'h', 1000 + 59_999, 60_000)).toBe(true);
    expect(isRecorded(known('h', 1000), 'h', 1000 + 60_000, 60_000)).toBe(false);
    expect(isRecorded(known('h', 1000), 'other', 1001, 60_000)).toBe(false);
    expect(isRecorded(known(undefined, 1000), 'h', 1001, 60_000)).toBe(false);
    expect(isRecorded(known('h'), 'h', 1001, 60_000)).toBe(false);
    expect(isRecorded({ known: true, stamp: undefined }, 'h', 1001, 60_000)).toBe(false);
    expect(isRecorded(UNKNOWN_STAMP, 'h', 1001, 60_000)).toBe(false);
    // A snapshot time in the future (clock skew between writers) is no confirmation.
    expect(isRecorded(known('h', 5000), 'h', 1000, 60_000)).toBe(false);
  });

  it('never skips a write with a window of 0 or less, whatever is stored', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer(), fc.integer(), fc.integer({ max: 0 }), (hash, at, now, window) => {
        expect(isRecorded(known(hash, at), hash, now, window)).toBe(false);
      }),
    );
  });

  it('never skips a write when the content differs', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.nat(), fc.nat(), (stored, fresh, at, window) => {
        fc.pre(stored !== fresh);
        expect(isRecorded(known(stored, at), fresh, at, window)).toBe(false);
      }),
    );
  });
});

describe('isAbsent', () => {
  it('is true only when the read showed no subscription', () => {
    expect(isAbsent({ known: true, stamp: undefined })).toBe(true);
    expect(isAbsent(known('h', 1))).toBe(false);
    expect(isAbsent(UNKNOWN_STAMP)).toBe(false);
  });
});

describe('separateReads', () => {
  it('reads the connection, and the stamp only when a subscription is named', async () => {
    const connections = new MemoryConnectionStore();
    const subscriptions = new MemorySubscriptionStore();
    await subscriptions.upsert({
      resourceKey: 'task:1',
      connectionId: 'c-1',
      uri: 'u',
      contentHash: 'h',
      snapshot: '[]',
      snapshotAt: 7,
      createdAt: 1,
      updatedAt: 7,
    });
    const reads = separateReads(connections, subscriptions);
    expect(await reads.read('c-1')).toEqual({ connection: undefined, stored: UNKNOWN_STAMP });
    expect((await reads.read('c-1', { resourceKey: 'task:1', connectionId: 'c-1', uri: 'u' })).stored).toEqual(
      known('h', 7),
    );
    expect((await reads.read('c-1', { resourceKey: 'task:1', connectionId: 'c-1', uri: 'v' })).stored).toEqual({
      known: true,
      stamp: undefined,
    });
  });
});
