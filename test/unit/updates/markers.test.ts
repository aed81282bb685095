import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  decodeLeaseHolder,
  decodeWindowMarker,
  encodeLeaseHolder,
  encodeWindowMarker,
  RELEASED_LEASE,
} from '#core/updates/markers.js';
import { change, firstThenOk, Harness } from './harness.js';

/** Ids as they come: change-event ids and SQS message ids, including the separators themselves. */
const id = fc.oneof(fc.string({ minLength: 1, maxLength: 60 }), fc.uuid(), fc.constantFrom('@', '#', 'a@b#1', '1@2'));
const count = fc.oneof(fc.nat(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER), fc.maxSafeNat());

/** Values no encoder writes: no separator, an empty id, or a number not in plain decimal or beyond 2^53. */
const malformed = (separator: string): string[] => [
  '',
  'released',
  'evt-1',
  `${separator}123`,
  `evt-1${separator}`,
  `evt-1${separator}-1`,
  `evt-1${separator}01`,
  `evt-1${separator}1.5`,
  `evt-1${separator}1e3`,
  `evt-1${separator}0x10`,
  `evt-1${separator} 12`,
  `evt-1${separator}12 `,
  `evt-1${separator}+12`,
  `evt-1${separator}NaN`,
  `evt-1${separator}Infinity`,
  `evt-1${separator}${Number.MAX_SAFE_INTEGER + 1}`,
  `evt-1${separator}12${separator === '@' ? '#' : '@'}`,
];

describe('coalescing window marker', () => {
  it('is stored as <owner>@<until>, the format markers written by earlier versions have', () => {
    expect(encodeWindowMarker({ owner: 'evt-1', until: 1_768_478_402_000 })).toBe('evt-1@1768478402000');
    expect(decodeWindowMarker('evt-1@1768478402000')).toEqual({ owner: 'evt-1', until: 1_768_478_402_000 });
  });

  it('round-trips any owner (also one containing @) and any non-negative safe integer', () => {
    fc.assert(
      fc.property(id, count, (owner, until) => {
        expect(decodeWindowMarker(encodeWindowMarker({ owner, until }))).toEqual({ owner, until });
      }),
    );
  });

  it('decodes only what it encodes: any string is malformed or re-encodes to itself', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.tuple(fc.string(), fc.string()).map(([a, b]) => `${a}@${b}`),
        ),
        (value) => {
          const marker = decodeWindowMarker(value);
          if (marker !== undefined) expect(encodeWindowMarker(marker)).toBe(value);
        },
      ),
    );
  });

  it.each(malformed('@'))('rejects %j', (value) => {
    expect(decodeWindowMarker(value)).toBeUndefined();
  });

  it('reads no marker as no window', () => {
    expect(decodeWindowMarker(undefined)).toBeUndefined();
  });

  it.each([
    [{ owner: '', until: 1 }],
    [{ owner: 'evt-1', until: -1 }],
    [{ owner: 'evt-1', until: 1.5 }],
    [{ owner: 'evt-1', until: Number.NaN }],
    [{ owner: 'evt-1', until: Number.MAX_SAFE_INTEGER + 1 }],
  ])('refuses to encode %j', (marker) => {
    expect(() => encodeWindowMarker(marker)).toThrow(RangeError);
  });
});

describe('push lease holder', () => {
  it('is stored as <messageId>#<receiveCount>, the format leases written by earlier versions have', () => {
    expect(encodeLeaseHolder({ messageId: 'm-1', receiveCount: 2 })).toBe('m-1#2');
    expect(decodeLeaseHolder('m-1#2')).toEqual({ messageId: 'm-1', receiveCount: 2 });
  });

  it('round-trips any message id (also one containing #) and any non-negative safe integer', () => {
    fc.assert(
      fc.property(id, count, (messageId, receiveCount) => {
        expect(decodeLeaseHolder(encodeLeaseHolder({ messageId, receiveCount }))).toEqual({ messageId, receiveCount });
      }),
    );
  });

  it('decodes only what it encodes: any string is malformed or re-encodes to itself', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.tuple(fc.string(), fc.string()).map(([a, b]) => `${a}#${b}`),
        ),
        (value) => {
          const holder = decodeLeaseHolder(value);
          if (holder !== undefined) expect(encodeLeaseHolder(holder)).toBe(value);
        },
      ),
    );
  });

  it.each([...malformed('#'), RELEASED_LEASE])('rejects %j', (value) => {
    expect(decodeLeaseHolder(value)).toBeUndefined();
  });

  it.each([
    [{ messageId: '', receiveCount: 1 }],
    [{ messageId: 'm', receiveCount: -1 }],
    [{ messageId: 'm', receiveCount: 2.5 }],
    [{ messageId: 'm', receiveCount: Number.POSITIVE_INFINITY }],
  ])('refuses to encode %j', (holder) => {
    expect(() => encodeLeaseHolder(holder)).toThrow(RangeError);
  });
});

describe('the worker with these markers', () => {
  it('a redelivered opener whose event id contains "@" still re-sends its flush', async () => {
    const h = new Harness();
    h.product.set('task:1', 1);
    await h.connection('c0');
    await h.subscribe('task:1', 'c0', 'https://tasks.example.com/tasks/1');
    const event = change('task:1', { id: 'release@2026-01-15' });
    await h.worker.processRecord(JSON.stringify(event), { messageId: 'm', receiveCount: 1 });
    h.stores.updateQueue.drain(); // the flush "was never sent"
    await h.worker.processRecord(JSON.stringify(event), { messageId: 'm', receiveCount: 2 });
    expect(h.eventsNamed('window_reopened')).toHaveLength(1);
    await h.drain();
    expect(h.calls).toHaveLength(1);
  });

  it('a lease held under a message id containing "#" is taken over by that message\'s redelivery', async () => {
    const h = new Harness();
    h.product.set('task:1', 1);
    await h.connection('c0');
    await h.subscribe('task:1', 'c0', 'https://tasks.example.com/tasks/1');
    h.answer = firstThenOk(new Promise(() => undefined)); // the first delivery hangs in the PATCH
    const flush = JSON.stringify({ type: 'flush', resource: 'task:1', window: 'w', until: h.clock.now() });
    void h.worker.processRecord(flush, { messageId: 'a#b', receiveCount: 1 });
    await new Promise((r) => setTimeout(r, 10));
    await h.worker.processRecord(flush, { messageId: 'a#b', receiveCount: 2 });
    expect(h.eventsNamed('push_lease_taken_over').map((e) => e.data)).toEqual([{ previous: 1, receiveCount: 2 }]);
    expect(h.calls).toHaveLength(2);
  });
});
