/**
 * The delivery log the worker writes: one entry per PATCH with Notion's answer
 * and what the worker did about it, newest first, never failing a push.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MemoryDeliveryLog } from '#adapters/memory/delivery-log.js';
import type { Delivery } from '#core/updates/ports.js';
import { DELIVERY_LOG_TTL_DAYS } from '#lib/data-model.js';
import { change, Harness } from './harness.js';

const URI = 'https://tasks.example.com/tasks/1';

const setup = async () => {
  const h = new Harness();
  h.product.set('task:1', 1);
  await h.connection('c0');
  await h.subscribe('task:1', 'c0', URI);
  return h;
};

describe('worker → delivery log', () => {
  it("records each push with Notion's status, the action taken and the time", async () => {
    const h = await setup();
    await h.publish(change('task:1'));
    await h.drain();
    const log = await h.deliveries.recent('c0', 50);
    expect(log).toEqual([
      { connectionId: 'c0', at: expect.any(Number), resource: 'task:1', uri: URI, status: 200, action: 'done' },
    ]);
    expect(log[0]?.at).toBe(h.calls[0]?.at);
  });

  it("records Notion's error code, message and request id for a rejected push, newest first", async () => {
    const h = await setup();
    await h.publish(change('task:1'));
    await h.drain();
    h.product.set('task:1', 2);
    h.answer = () => ({
      kind: 'response',
      status: 400,
      code: 'validation_error',
      message: 'body.attributes should be an array',
      requestId: 'req-123',
    });
    h.clock.advance(60_000);
    await h.publish(change('task:1'));
    await h.drain();
    const log = await h.deliveries.recent('c0', 50);
    expect(log.map((d) => d.status)).toEqual([400, 200]);
    expect(log[0]).toMatchObject({
      action: 'reject',
      code: 'validation_error',
      message: 'body.attributes should be an array',
      requestId: 'req-123',
    });
  });

  it('a failing delivery log does not fail or repeat the push', async () => {
    const h = await setup();
    h.deliveryLogFails = true;
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.calls).toHaveLength(1);
    expect(h.eventsNamed('pushed')).toHaveLength(1);
    expect(h.eventsNamed('delivery_log_failed')).toHaveLength(1);
    expect(h.deadLetters).toEqual([]);
  });
});

describe('MemoryDeliveryLog', () => {
  const delivery = (connectionId: string, at: number): Delivery => ({
    connectionId,
    at,
    resource: 'task:1',
    uri: URI,
    status: 200,
    action: 'done',
  });

  it('property: recent(n) is the n newest of that connection, newest first, within the retention', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('a', 'b'), fc.integer({ min: 0, max: 30 * 86_400_000 })), { maxLength: 60 }),
        fc.integer({ min: 1, max: 20 }),
        async (entries, limit) => {
          const now = 30 * 86_400_000;
          const log = new MemoryDeliveryLog(() => now);
          for (const [c, at] of entries) await log.record(delivery(c, at));
          const got = await log.recent('a', limit);
          const cutoff = now - DELIVERY_LOG_TTL_DAYS * 86_400_000;
          const expected = entries
            .filter(([c, at]) => c === 'a' && at > cutoff)
            .map(([, at]) => at)
            .sort((x, y) => y - x)
            .slice(0, limit);
          expect(got.map((d) => d.at)).toEqual(expected);
          expect(got.every((d) => d.connectionId === 'a')).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });
});
