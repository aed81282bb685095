/**
 * A claim its delivery never finished (docs/adr/0137), as scenarios run on the
 * in-memory stores (unit tier) and on the DynamoDB stores (integration tier):
 * a delivery claims a push in the subscription item and dies in the PATCH
 * (nothing records the push); its redelivery cannot push at once and defers it
 * to a `push` message, which must still deliver it, however long the deferral.
 * And a 429 whose release is throttled still pauses the connection.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { NotionAnswer } from '#core/updates/classify.js';
import { connectionBucketKey, connectionPauseKey, notionBucketPolicy } from '#core/updates/policy.js';
import { DEFAULT_WORKER_SETTINGS } from '#core/updates/worker.js';
import { change, firstThenOk, type Harness, ok } from './harness.js';

const rateLimited = (retryAfterSeconds: number): NotionAnswer => ({
  kind: 'response',
  status: 429,
  code: 'rate_limited',
  rateLimitReason: 'public_api_request_rate_limit',
  retryAfterSeconds,
});

/** `harness()` gives a fresh harness; its stores may be shared between scenarios (ids are unique). */
export const unfinishedClaimScenarios = (stores: string, harness: () => Harness): void => {
  describe(`a claim its delivery never finished, on ${stores} (docs/adr/0137)`, () => {
    const setup = async () => {
      const h = harness();
      const id = randomUUID();
      const resource = `task:${id}`;
      const connectionId = `c-${id}`;
      h.product.set(resource, 1);
      await h.connection(connectionId);
      await h.subscribe(resource, connectionId, `https://tasks.example.com/tasks/${id}`);
      const flush = JSON.stringify({ type: 'flush', resource, window: 'w', until: h.clock.now() });
      return { h, resource, connectionId, flush, messageId: `m-${id}` };
    };

    /** The first PATCH hangs: that delivery's invocation died with its claim written and no record of the push. */
    const firstHangs = (h: Harness, then: (call: number) => NotionAnswer = () => ok): void => {
      let calls = 0;
      h.answer = () => {
        calls++;
        return calls === 1 ? new Promise(() => undefined) : then(calls);
      };
    };

    const startDying = async (h: Harness, flush: string, messageId: string): Promise<void> => {
      void h.worker.processRecord(flush, { messageId, receiveCount: 1 });
      for (let i = 0; i < 200 && h.calls.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect(h.calls).toHaveLength(1);
    };

    const expectDeliveredOnceMore = (h: Harness, calls: number): void => {
      expect(h.calls).toHaveLength(calls);
      // The same full replace as the claim the dead delivery wrote: at most one repeat (docs/adr/0073).
      expect(JSON.stringify(h.calls.at(-1)?.update)).toBe(JSON.stringify(h.calls[0]?.update));
      expect(JSON.stringify(h.calls[0]?.update)).toContain(' v1');
      expect(h.deadLetters).toEqual([]);
    };

    it('a redelivery that finds the connection paused defers the push, and the deferred push still delivers it', async () => {
      const { h, resource, connectionId, flush, messageId } = await setup();
      firstHangs(h);
      await startDying(h, flush, messageId);
      h.clock.advance(10_000);
      const pausedUntil = h.clock.now() + 40_000;
      await h.stores.rateLimits.pause(connectionPauseKey(connectionId), pausedUntil);
      await h.worker.processRecord(flush, { messageId, receiveCount: 2 });
      expect(h.calls).toHaveLength(1);
      await h.drain();
      expectDeliveredOnceMore(h, 2);
      expect(h.calls[1]?.at).toBeGreaterThanOrEqual(pausedUntil);
      expect(h.eventsNamed('push_lease_taken_over').map((e) => e.data)).toEqual([
        { previous: 1, receiveCount: 1, holder: `${messageId}#1` },
      ]);
      // Recorded now: the next change with the same content pushes nothing.
      await h.publish(change(resource));
      await h.drain();
      expect(h.calls).toHaveLength(2);
    });

    it('a redelivery denied its token after deciding to take over defers the push, and the deferred push still delivers it', async () => {
      const { h, connectionId, flush, messageId } = await setup();
      firstHangs(h);
      await startDying(h, flush, messageId);
      h.clock.advance(10_000);
      const bucket = notionBucketPolicy(DEFAULT_WORKER_SETTINGS.ratePerMinute);
      while ((await h.stores.rateLimits.take(connectionBucketKey(connectionId), bucket, h.clock.now())).allowed);
      await h.worker.processRecord(flush, { messageId, receiveCount: 2 });
      expect(h.eventsNamed('push_lease_taken_over')).toHaveLength(1);
      expect(h.eventsNamed('push_throttled')).toHaveLength(1);
      await h.drain();
      expectDeliveredOnceMore(h, 2);
    });

    it('a take-over answered 429 puts the unfinished claim back, and the push after Retry-After delivers it', async () => {
      const { h, flush, messageId } = await setup();
      firstHangs(h, (call) => (call === 2 ? rateLimited(5) : ok));
      await startDying(h, flush, messageId);
      h.clock.advance(10_000);
      await h.worker.processRecord(flush, { messageId, receiveCount: 2 });
      expect(h.eventsNamed('push_rate_limited')).toHaveLength(1);
      await h.drain();
      expectDeliveredOnceMore(h, 3);
      expect((h.calls[2]?.at ?? 0) - (h.calls[1]?.at ?? 0)).toBeGreaterThanOrEqual(5_000);
    });

    it('a claim left unrecorded for longer than the horizon counts as pushed', async () => {
      const { h, resource, flush, messageId } = await setup();
      firstHangs(h);
      await startDying(h, flush, messageId);
      h.clock.advance(13 * 60 * 60 * 1000);
      await h.publish(change(resource));
      await h.drain();
      expect(h.calls).toHaveLength(1);
      expect(h.eventsNamed('push_unchanged')).toHaveLength(1);
    });

    it('a 429 whose claim cannot be released (throttled) still pauses: the redelivery waits for Retry-After', async () => {
      const { h, resource } = await setup();
      h.answer = firstThenOk(rateLimited(120));
      // This harness's own store object (its methods may come from a shared store's prototype chain).
      const subscriptions = h.stores.subscriptions;
      const release = subscriptions.releasePush.bind(subscriptions);
      let releases = 0;
      subscriptions.releasePush = async (...args) => {
        if (releases++ === 0) {
          const error = new Error('throughput exceeded');
          error.name = 'ProvisionedThroughputExceededException';
          throw error;
        }
        return release(...args);
      };
      await h.publish(change(resource));
      await h.drain();
      expect(releases).toBeGreaterThanOrEqual(1);
      expect(h.calls).toHaveLength(2);
      expect((h.calls[1]?.at ?? 0) - (h.calls[0]?.at ?? 0)).toBeGreaterThanOrEqual(120_000);
      expect(JSON.stringify(h.calls[1]?.update)).toBe(JSON.stringify(h.calls[0]?.update));
      expect(h.deadLetters).toHaveLength(0);
    });
  });
};
