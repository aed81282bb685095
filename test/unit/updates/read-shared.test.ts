/**
 * `readShared` (functions/core/updates/batch.ts): the reads a work item shares between its pushes, the
 * connections and an earlier delivery's pushed marker (docs/adr/0176, 0178).
 */
import { describe, expect, it } from '@jest/globals';
import { readShared } from '#core/updates/batch.js';

const later = <T>(value: T | Error, ms = 5): Promise<T> =>
  new Promise((resolve, reject) => setTimeout(() => (value instanceof Error ? reject(value) : resolve(value)), ms));

/** A read that answers `answer(n)` 5 ms after its n-th call (an Error rejects), and counts its calls. */
const counted = <T>(answer: (n: number) => T | Error) => {
  let reads = 0;
  return { read: (): Promise<T> => later(answer(++reads)), count: () => reads };
};

describe('readShared', () => {
  it('reads once for the callers that ask while the read runs, and for those that ask after', async () => {
    const cache = new Map<string, Promise<number>>();
    const { read, count } = counted(() => 7);
    expect(await Promise.all([1, 2, 3].map(() => readShared(cache, 'c', read)))).toEqual([7, 7, 7]);
    expect(await readShared(cache, 'c', read)).toBe(7);
    expect(count()).toBe(1);
  });

  it('costs a failed read to the caller that made it; those that waited share one read again', async () => {
    const cache = new Map<string, Promise<number>>();
    const { read, count } = counted((n) => (n === 1 ? new Error('throttled') : 7));
    const first = readShared(cache, 'c', read);
    const waiting = [1, 2, 3].map(() => readShared(cache, 'c', read));
    await expect(first).rejects.toThrow('throttled');
    expect(await Promise.all(waiting)).toEqual([7, 7, 7]);
    expect(count()).toBe(2);
  });

  it('costs each waiting caller when the read made again fails too, and forgets both failures', async () => {
    const cache = new Map<string, Promise<number>>();
    const { read, count } = counted((n) => (n <= 2 ? new Error(`throttled ${n}`) : 7));
    const first = readShared(cache, 'c', read);
    const waiting = [1, 2, 3].map((n) => readShared(cache, 'c', read).catch((e: Error) => `${n}: ${e.message}`));
    await expect(first).rejects.toThrow('throttled 1');
    expect(await Promise.all(waiting)).toEqual(['1: throttled 2', '2: throttled 2', '3: throttled 2']);
    expect(cache.size).toBe(0);
    expect(await readShared(cache, 'c', read)).toBe(7);
    expect(count()).toBe(3);
  });

  it('keeps keys apart', async () => {
    const cache = new Map<string, Promise<string>>();
    const [a, b] = await Promise.all([
      readShared(cache, 'a', () => later('A')),
      readShared(cache, 'b', () => later('B')),
    ]);
    expect([a, b]).toEqual(['A', 'B']);
  });
});
