import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { messageBodies } from '#adapters/sqs/messages.js';
import { contentHash } from '#core/unfurl/attributes.js';
import { LEASE_CLOCK_SKEW_MS } from '#core/updates/deps.js';
import { type DeadLetter, type PushMessage, unwrapDeadLetter } from '#core/updates/messages.js';
import { connectionPauseKey, workspacePauseKey } from '#core/updates/policy.js';
import { change, firstThenOk, Harness, ok } from './harness.js';
import { unfinishedClaimScenarios } from './unfinished-claims.js';

const URI = (n: number) => `https://tasks.example.com/tasks/${n}`;

const setup = async (subscribers: number, options: ConstructorParameters<typeof Harness>[0] = {}) => {
  const h = new Harness(options);
  h.product.set('task:1', 1);
  for (let i = 0; i < subscribers; i++) {
    await h.connection(`c${i}`);
    await h.subscribe('task:1', `c${i}`, URI(1));
  }
  return h;
};

/** One connection with two subscriptions of task:1, pushed one at a time, each push answered 401. */
const twoSubscriptionsAnswered401 = async () => {
  const h = new Harness({ settings: { concurrency: 1 } });
  h.product.set('task:1', 1);
  await h.connection('c0');
  await h.subscribe('task:1', 'c0', URI(1));
  await h.subscribe('task:1', 'c0', URI(2));
  h.answer = () => ({ kind: 'response', status: 401, code: 'unauthorized' });
  return h;
};

describe('coalescing', () => {
  it('a burst of events for one resource within the window gives one push per subscription', async () => {
    const h = await setup(3);
    for (let i = 0; i < 100; i++) {
      await h.publish(change('task:1'));
      await h.step();
      h.clock.advance(10);
    }
    await h.drain();
    expect(h.calls).toHaveLength(3);
    expect(new Set(h.calls.map((c) => c.token))).toEqual(
      new Set(['notion-token-c0', 'notion-token-c1', 'notion-token-c2']),
    );
    expect(h.eventsNamed('window_opened')).toHaveLength(1);
    expect(h.eventsNamed('coalesced')).toHaveLength(99);
  });

  it('renders at the end of the window, so the last change inside it is what Notion gets', async () => {
    const h = await setup(1);
    await h.publish(change('task:1'));
    await h.step();
    h.product.set('task:1', 7);
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.calls).toHaveLength(1);
    expect(JSON.stringify(h.calls[0]?.update)).toContain('task:1 v7');
  });

  it('an event after the window closed opens a new window and pushes the new state', async () => {
    const h = await setup(1);
    await h.publish(change('task:1'));
    await h.drain();
    h.product.set('task:1', 2);
    h.clock.advance(5_000);
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.calls).toHaveLength(2);
  });

  it('the flush is delayed by the configured window', async () => {
    const h = await setup(1, { settings: { coalesceWindowSeconds: 7 } });
    const start = h.clock.now();
    await h.publish(change('task:1'));
    await h.step();
    const flush = h.pending().find((m) => (m.body as { type: string }).type === 'flush');
    expect(flush?.visibleAt).toBe(start + 7_000);
  });

  it('a redelivered opener re-sends its flush, so a stop between marker and flush loses nothing', async () => {
    const h = await setup(1);
    const event = change('task:1');
    await h.worker.processRecord(JSON.stringify(event), { messageId: 'm', receiveCount: 1 });
    h.stores.updateQueue.drain(); // the flush "was never sent"
    await h.worker.processRecord(JSON.stringify(event), { messageId: 'm', receiveCount: 2 });
    await h.drain();
    expect(h.calls).toHaveLength(1);
  });

  it('resolves a uri event through the rules, and dead-letters a uri no rule matches', async () => {
    const h = await setup(1);
    await h.publish({ type: 'change', id: 'u1', uri: URI(1), changed_at: '2026-01-15T12:00:00Z' });
    await h.publish({
      type: 'change',
      id: 'u2',
      uri: 'https://elsewhere.example.com/x',
      changed_at: '2026-01-15T12:00:00Z',
    });
    await h.drain();
    expect(h.calls).toHaveLength(1);
    expect(h.deadLetters.map((d) => d.reason)).toEqual(['unmatched_uri']);
  });
});

describe('idempotency', () => {
  it('the same flush processed twice pushes each state once', async () => {
    const h = await setup(2);
    const flush = JSON.stringify({ type: 'flush', resource: 'task:1', window: 'w', until: h.clock.now() });
    await h.worker.processRecord(flush, { messageId: 'a', receiveCount: 1 });
    await h.worker.processRecord(flush, { messageId: 'a', receiveCount: 2 });
    expect(h.calls).toHaveLength(2);
    expect(h.eventsNamed('push_unchanged')).toHaveLength(2);
  });

  it('two concurrent deliveries of one flush push each state once (push lease)', async () => {
    const h = await setup(4);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    h.answer = async () => {
      await gate;
      return ok;
    };
    const flush = JSON.stringify({ type: 'flush', resource: 'task:1', window: 'w', until: h.clock.now() });
    const a = h.worker.processRecord(flush, { messageId: 'a', receiveCount: 1 });
    const b = h.worker.processRecord(flush, { messageId: 'a', receiveCount: 1 });
    await new Promise((r) => setTimeout(r, 20));
    release();
    await Promise.all([a, b]);
    await h.drain();
    expect(h.calls).toHaveLength(4);
  });

  it('a redelivery of a message whose invocation died takes over its lease; a concurrent duplicate does not', async () => {
    const h = await setup(1);
    h.answer = firstThenOk(new Promise(() => undefined)); // the first delivery hangs in the PATCH (its invocation died)
    const flush = JSON.stringify({ type: 'flush', resource: 'task:1', window: 'w', until: h.clock.now() });
    void h.worker.processRecord(flush, { messageId: 'm1', receiveCount: 1 });
    await new Promise((r) => setTimeout(r, 10));
    await h.worker.processRecord(flush, { messageId: 'm1', receiveCount: 1 }); // concurrent duplicate
    expect(h.eventsNamed('push_busy')).toHaveLength(1);
    h.stores.updateQueue.drain();
    h.clock.advance(10_000); // well before the lease would lapse on its own
    await h.worker.processRecord(flush, { messageId: 'm1', receiveCount: 2 }); // redelivery
    expect(h.eventsNamed('push_lease_taken_over')).toHaveLength(1);
    expect(h.calls).toHaveLength(2);
    expect((await h.stores.subscriptions.get('task:1', 'c0', URI(1)))?.contentHash).toMatch(/^v1:/);
  });

  it("a failed read of an earlier delivery's pushed marker costs one subscription, not every one that delivery claimed", async () => {
    const h = await setup(3, { settings: { concurrency: 8 } });
    h.answer = firstThenOk(new Promise(() => undefined)); // the first delivery dies in one PATCH, its marker never written
    const flush = JSON.stringify({ type: 'flush', resource: 'task:1', window: 'w', until: h.clock.now() });
    void h.worker.processRecord(flush, { messageId: 'm1', receiveCount: 1 });
    await new Promise((r) => setTimeout(r, 10));
    const leases = await Promise.all([0, 1, 2].map((i) => h.stores.subscriptions.get('task:1', `c${i}`, URI(1))));
    expect(leases.map((s) => s?.pushLease?.holder)).toEqual(['m1#1', 'm1#1', 'm1#1']);
    h.stores.updateQueue.drain();
    h.clock.advance(10_000);
    const getMarker = h.stores.authState.getMarker.bind(h.stores.authState);
    let throttled = 1;
    h.stores.authState.getMarker = async (key, now) => {
      if (key.startsWith('pushed:') && throttled-- > 0) throw new Error('ProvisionedThroughputExceededException');
      return getMarker(key, now);
    };
    const before = h.calls.length;
    expect(await h.worker.processRecord(flush, { messageId: 'm1', receiveCount: 2 })).toBe('processed');
    // The pushes that waited for the throttled read read it again: one subscription backs off, two are taken over.
    expect(h.eventsNamed('push_retry_scheduled')).toHaveLength(1);
    expect(h.eventsNamed('push_lease_taken_over')).toHaveLength(2);
    expect(h.calls.length - before).toBe(2);
  });

  it('skips the push when the content hash is unchanged', async () => {
    const h = await setup(1);
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.calls).toHaveLength(1);
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.calls).toHaveLength(1);
    expect(h.eventsNamed('push_unchanged')).toHaveLength(1);
  });

  it('skips the push when the unfurl callback already recorded the same content', async () => {
    const h = new Harness();
    h.product.set('task:1', 3);
    await h.connection('c0');
    const attributes = [
      { id: 'title', name: 'Title', type: 'inline', inline: { title: { value: 'task:1 v3', section: 'title' } } },
      {
        id: 'dev',
        name: 'Developer Name',
        type: 'inline',
        inline: { plain_text: { value: 'Test', section: 'secondary' } },
      },
    ];
    await h.subscribe('task:1', 'c0', URI(1), { contentHash: contentHash(attributes) });
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.calls).toHaveLength(0);
    h.product.set('task:1', 4);
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.calls).toHaveLength(1);
  });

  it('property: however events and redeliveries interleave, every subscription ends with the last state, pushed once per state', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ gapMs: fc.integer({ min: 0, max: 5_000 }), bump: fc.boolean(), redeliver: fc.boolean() }),
          {
            minLength: 1,
            maxLength: 25,
          },
        ),
        async (script) => {
          const h = await setup(2);
          for (const step of script) {
            if (step.bump) h.product.set('task:1', (h.product.get('task:1') ?? 0) + 1);
            const event = change('task:1');
            await h.publish(event);
            if (step.redeliver) await h.publish(event);
            await h.runUntil(h.clock.now() + step.gapMs);
          }
          await h.drain();
          const last = `task:1 v${h.product.get('task:1')}`;
          for (const token of ['notion-token-c0', 'notion-token-c1']) {
            const mine = h.calls.filter((c) => c.token === token).map((c) => JSON.stringify(c.update));
            expect(mine.at(-1)).toContain(last);
            expect(new Set(mine).size).toBe(mine.length);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

unfinishedClaimScenarios('in-memory stores', () => new Harness());

describe('fan-out', () => {
  it('splits a large resource into work items of at most one page and pushes every subscription once', async () => {
    const h = new Harness({ settings: { pageSize: 50, ratePerMinute: 100_000 } });
    h.product.set('task:1', 1);
    for (let c = 0; c < 10; c++) await h.connection(`c${c}`);
    for (let i = 0; i < 1_234; i++) await h.subscribe('task:1', `c${i % 10}`, `${URI(1)}?v=${i}`);
    await h.publish(change('task:1'));
    let maxTargets = 0;
    let messages = 0;
    while (await h.step()) {
      messages++;
      for (const m of h.pending()) {
        const body = m.body as PushMessage | { type: string };
        if (body.type === 'push') maxTargets = Math.max(maxTargets, (body as PushMessage).targets.length);
      }
    }
    expect(h.calls).toHaveLength(1_234);
    expect(new Set(h.calls.map((c) => c.update.uri)).size).toBe(1_234);
    expect(maxTargets).toBeLessThanOrEqual(50);
    expect(messages).toBeGreaterThanOrEqual(Math.ceil(1_234 / 50));
  });

  it('a page whose work fails and is delivered again sends the next page once, not once per delivery', async () => {
    const h = new Harness({ settings: { pageSize: 2, maxReceiveCount: 5, ratePerMinute: 100_000 } });
    h.product.set('task:1', 1);
    // The first page holds a subscription whose pushes Notion answers 429 and whose pause cannot be stored (its
    // table throttled past the SDK's retries): without the pause nothing is released or deferred, and its work item
    // fails every time (docs/adr/0137).
    await h.connection('a-broken');
    await h.subscribe('task:1', 'a-broken', URI(1));
    h.answer = (call) =>
      call.token === 'notion-token-a-broken'
        ? { kind: 'response', status: 429, code: 'rate_limited', retryAfterSeconds: 1 }
        : ok;
    const pause = h.stores.rateLimits.pause.bind(h.stores.rateLimits);
    h.stores.rateLimits.pause = async (key, until) => {
      if (key === connectionPauseKey('a-broken')) throw new Error('ProvisionedThroughputExceededException');
      return pause(key, until);
    };
    for (let i = 0; i < 5; i++) {
      await h.connection(`c${i}`);
      await h.subscribe('task:1', `c${i}`, URI(1));
    }
    const pagesSent: string[] = [];
    const send = h.stores.updateQueue.send.bind(h.stores.updateQueue);
    h.stores.updateQueue.send = async (events, options) => {
      for (const e of events as Array<{ type?: string; cursor?: string }>)
        if (e.type === 'page') pagesSent.push(String(e.cursor));
      return send(events, options);
    };
    await h.publish({ type: 'flush', resource: 'task:1', window: 'w', until: h.clock.now() });
    const rendersBefore = h.renders;
    await h.drain();
    // The flush failed five times and was dead-lettered with its reason; the pages after it went out once each.
    expect(h.deadLetters.map((d) => d.reason)).toEqual(['failed_repeatedly']);
    expect(pagesSent.length).toBe(new Set(pagesSent).size);
    expect(new Set(h.calls.map((c) => c.token)).size).toBe(6);
    // The first page's two subscribers are rendered on each of its five deliveries; every later one once.
    expect(h.renders - rendersBefore).toBe(2 * 5 + 4);
  });

  it('defers the rest of a page when the invocation runs short of time', async () => {
    let remaining = 60_000;
    const h = await setup(20, { remainingMs: () => remaining, settings: { reserveMs: 5_000 } });
    h.answer = () => {
      remaining -= 5_000;
      return ok;
    };
    await h.publish({ type: 'flush', resource: 'task:1', window: 'w', until: h.clock.now() });
    await h.step();
    expect(h.calls.length).toBeLessThan(20);
    const deferred = h.pending().filter((m) => (m.body as { type: string }).type === 'push');
    expect(deferred.length).toBeGreaterThan(0);
    remaining = Number.POSITIVE_INFINITY;
    await h.drain();
    expect(new Set(h.calls.map((c) => c.token)).size).toBe(20);
  });

  it('a Notion token that cannot be decrypted holds up only its own subscription, which alone is dead-lettered', async () => {
    const h = new Harness({ settings: { maxAttempts: 3, backoffBaseMs: 1_000 } });
    h.product.set('task:1', 1);
    const now = h.clock.now();
    await h.stores.connections.create({
      ...(await h.connection('zz-template')),
      id: 'a-broken',
      notionTokenCiphertext: 'not-a-ciphertext',
      createdAt: now,
    });
    await h.subscribe('task:1', 'a-broken', URI(1));
    for (let i = 0; i < 3; i++) {
      await h.connection(`c${i}`);
      await h.subscribe('task:1', `c${i}`, URI(1));
    }
    const flush = JSON.stringify({ type: 'flush', resource: 'task:1', window: 'w', until: h.clock.now() });
    // The work item itself succeeds: the others are pushed at once, the broken one waits with backoff.
    expect(await h.worker.processRecord(flush, { messageId: 'f', receiveCount: 1 })).toBe('processed');
    expect(h.calls.map((c) => c.token).sort()).toEqual(['notion-token-c0', 'notion-token-c1', 'notion-token-c2']);
    await h.drain();
    expect(h.calls).toHaveLength(3);
    expect(h.deadLetters).toHaveLength(1);
    expect(h.deadLetters[0]).toMatchObject({
      reason: 'notion_token_unreadable',
      message: { type: 'push', resource: 'task:1', targets: [{ connectionId: 'a-broken', uri: URI(1) }] },
    });
    expect(h.deadLetters[0]?.detail).toContain('wrong encryption context');
    // Its claim was put back: the next change pushes it once its token is readable.
    expect((await h.stores.subscriptions.get('task:1', 'a-broken', URI(1)))?.contentHash).toBeUndefined();
  });

  it.each([
    ['its connection read', 'connections', 'get'],
    ['its subscription read', 'subscriptions', 'get'],
    ['its pause read', 'rateLimits', 'pausedUntil'],
    ["the bucket's token", 'rateLimits', 'take'],
    ['its claim', 'subscriptions', 'claimPush'],
  ] as const)(
    'a store failure before the push (%s) holds up only that subscription, which alone is dead-lettered',
    async (_, store, method) => {
      const h = new Harness({ settings: { maxAttempts: 3, backoffBaseMs: 1_000 } });
      h.product.set('task:1', 1);
      for (const id of ['a-broken', 'c0', 'c1', 'c2']) {
        await h.connection(id);
        await h.subscribe('task:1', id, URI(1));
      }
      // Item by item, as without batch reads (or after a failed read-ahead, docs/adr/0136).
      const stores = h.stores as unknown as Record<string, Record<string, unknown>>;
      const target = stores[store] as Record<string, (...args: unknown[]) => Promise<unknown>>;
      Object.assign(h.stores.connections, { getMany: undefined });
      Object.assign(h.stores.subscriptions, { getMany: undefined });
      Object.assign(h.stores.rateLimits, { pausedUntilMany: undefined });
      const original = (target[method] as (...args: unknown[]) => Promise<unknown>).bind(target);
      target[method] = async (...args: unknown[]) => {
        if (JSON.stringify(args).includes('a-broken')) throw new Error('ProvisionedThroughputExceededException');
        return original(...args);
      };
      // A `push` message naming them: each push reads its own subscription.
      const targets = ['a-broken', 'c0', 'c1', 'c2'].map((connectionId) => ({ connectionId, uri: URI(1) }));
      const push = JSON.stringify({ type: 'push', resource: 'task:1', window: 'w', targets });
      expect(await h.worker.processRecord(push, { messageId: 'p', receiveCount: 1 })).toBe('processed');
      expect(h.calls.map((c) => c.token).sort()).toEqual(['notion-token-c0', 'notion-token-c1', 'notion-token-c2']);
      await h.drain();
      expect(h.calls).toHaveLength(3);
      expect(h.deadLetters).toHaveLength(1);
      expect(h.deadLetters[0]).toMatchObject({
        reason: 'store_unavailable',
        message: { type: 'push', resource: 'task:1', targets: [{ connectionId: 'a-broken', uri: URI(1) }] },
      });
      expect(h.deadLetters[0]?.detail).toContain('ProvisionedThroughputExceededException');
    },
  );

  it('pushes that waited for a failed connection read share one read again, not one each', async () => {
    const h = new Harness({ settings: { maxAttempts: 3, backoffBaseMs: 1_000 } });
    h.product.set('task:1', 1);
    await h.connection('c0');
    const uris = [1, 2, 3, 4].map((n) => `${URI(1)}?view=${n}`);
    for (const uri of uris) await h.subscribe('task:1', 'c0', uri);
    Object.assign(h.stores.connections, { getMany: undefined });
    const original = h.stores.connections.get.bind(h.stores.connections);
    let reads = 0;
    h.stores.connections.get = async (id: string) => {
      reads += 1;
      // All four pushes reach the read before it answers; the first answer is a throttle.
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (reads === 1) throw new Error('ProvisionedThroughputExceededException');
      return original(id);
    };
    const targets = uris.map((uri) => ({ connectionId: 'c0', uri }));
    const push = JSON.stringify({ type: 'push', resource: 'task:1', window: 'w', targets });
    expect(await h.worker.processRecord(push, { messageId: 'p', receiveCount: 1 })).toBe('processed');
    // The failed read cost the push that made it; the three that waited for it read once more, together.
    expect(reads).toBe(2);
    expect(h.calls).toHaveLength(3);
  });

  it('a 401 whose connection cannot be ended yet (throttled) retries that subscription alone, and ends it then', async () => {
    const h = await setup(2);
    h.answer = (call) =>
      call.token === 'notion-token-c0' ? { kind: 'response', status: 401, code: 'unauthorized' } : ok;
    const end = h.stores.connections.end.bind(h.stores.connections);
    let failed = 0;
    h.stores.connections.end = async (...args) => {
      if (failed++ === 0) throw new Error('ProvisionedThroughputExceededException');
      return end(...args);
    };
    const flush = JSON.stringify({ type: 'flush', resource: 'task:1', window: 'w', until: h.clock.now() });
    // The work item itself succeeds; c0 alone comes back.
    expect(await h.worker.processRecord(flush, { messageId: 'f', receiveCount: 1 })).toBe('processed');
    await h.drain();
    expect(h.calls.map((c) => c.token)).toEqual(['notion-token-c0', 'notion-token-c1', 'notion-token-c0']);
    expect((await h.stores.connections.get('c0'))?.status).toBe('disconnected');
    expect(h.deadLetters).toEqual([]);
  });

  it.each([
    [401, 'connections' as const, 'end' as const],
    [404, 'subscriptions' as const, 'delete' as const],
  ])(
    'a %i whose store write fails puts the claim back: the retry pushes at once, not busy until the lease ends',
    async (status, store, method) => {
      const h = await setup(1);
      h.answer = () =>
        h.calls.length === 1
          ? { kind: 'response', status, code: status === 401 ? 'unauthorized' : 'object_not_found' }
          : ok;
      const target = h.stores[store] as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      const original = target[method]?.bind(target);
      let failed = 0;
      target[method] = async (...args: unknown[]) => {
        if (failed++ === 0) throw new Error('ProvisionedThroughputExceededException');
        return original?.(...args);
      };
      const flush = JSON.stringify({ type: 'flush', resource: 'task:1', window: 'w', until: h.clock.now() });
      expect(await h.worker.processRecord(flush, { messageId: 'f', receiveCount: 1 })).toBe('processed');
      // Notion did not take the push: the subscription holds no claim of this delivery and no hash it was refused.
      const held = await h.stores.subscriptions.get('task:1', 'c0', URI(1));
      expect(held?.pushLease?.holder).not.toBe('f#1');
      expect(held?.contentHash).toBeUndefined();
      await h.drain();
      expect(h.eventsNamed('push_busy')).toEqual([]);
      expect(h.calls).toHaveLength(2);
    },
  );

  it.each([1, 8])(
    'a failed connection read costs that one subscription: the next push of the same connection reads it again (concurrency %i)',
    async (concurrency) => {
      const h = new Harness({ settings: { maxAttempts: 3, concurrency } });
      await h.connection('c0');
      for (const n of [1, 2, 3]) {
        h.product.set(`task:${n}`, 1);
        await h.subscribe('task:1', 'c0', URI(n));
      }
      Object.assign(h.stores.connections, { getMany: undefined });
      const get = h.stores.connections.get.bind(h.stores.connections);
      let reads = 0;
      h.stores.connections.get = async (id) => {
        if (++reads === 1) throw new Error('ProvisionedThroughputExceededException');
        return get(id);
      };
      const targets = [1, 2, 3].map((n) => ({ connectionId: 'c0', uri: URI(n) }));
      const push = JSON.stringify({ type: 'push', resource: 'task:1', window: 'w', targets });
      expect(await h.worker.processRecord(push, { messageId: 'p', receiveCount: 1 })).toBe('processed');
      // One throttled read, one subscription backed off; the other two were pushed at once.
      expect(h.calls).toHaveLength(2);
      expect(h.eventsNamed('push_retry_scheduled')).toHaveLength(1);
      await h.drain();
      expect(h.calls).toHaveLength(3);
      expect(h.deadLetters).toEqual([]);
    },
  );

  it('a 401 whose connection end fails drops none of its other subscriptions while the connection stays active', async () => {
    const h = await twoSubscriptionsAnswered401();
    const end = h.stores.connections.end.bind(h.stores.connections);
    let throttled = true;
    h.stores.connections.end = async (...args) => {
      if (throttled) throw new Error('ProvisionedThroughputExceededException');
      return end(...args);
    };
    const flush = JSON.stringify({ type: 'flush', resource: 'task:1', window: 'w', until: h.clock.now() });
    expect(await h.worker.processRecord(flush, { messageId: 'f', receiveCount: 1 })).toBe('processed');
    // The connection is still active, so is every subscription of it: both come back later.
    expect((await h.stores.connections.get('c0'))?.status).toBe('active');
    expect(h.eventsNamed('subscription_dropped')).toEqual([]);
    expect(await h.stores.subscriptions.get('task:1', 'c0', URI(2))).toBeDefined();
    expect(h.eventsNamed('push_retry_scheduled')).toHaveLength(2);
    throttled = false;
    await h.drain();
    expect((await h.stores.connections.get('c0'))?.status).toBe('disconnected');
    expect(await h.stores.subscriptions.get('task:1', 'c0', URI(2))).toBeUndefined();
    expect(h.deadLetters).toEqual([]);
  });

  it('a 401 whose end removed the connection but not all its subscriptions: the others find it ended and go', async () => {
    const h = await twoSubscriptionsAnswered401();
    const removeAll = h.stores.subscriptions.deleteAllForConnection.bind(h.stores.subscriptions);
    let failed = 0;
    h.stores.subscriptions.deleteAllForConnection = async (id) => {
      if (failed++ === 0) throw new Error('ProvisionedThroughputExceededException');
      return removeAll(id);
    };
    const flush = JSON.stringify({ type: 'flush', resource: 'task:1', window: 'w', until: h.clock.now() });
    expect(await h.worker.processRecord(flush, { messageId: 'f', receiveCount: 1 })).toBe('processed');
    // One PATCH only: the second subscription read its connection again, found it ended and was removed.
    expect(h.calls).toHaveLength(1);
    expect((await h.stores.connections.get('c0'))?.status).toBe('disconnected');
    expect(await h.stores.subscriptions.get('task:1', 'c0', URI(2))).toBeUndefined();
    await h.drain();
    expect(h.calls).toHaveLength(1);
    expect(h.deadLetters).toEqual([]);
  });
  it('a release that fails leaves a claim to take over: the retry after a 5xx still delivers the edit, and nothing else waits', async () => {
    const h = await setup(2);
    let n = 0;
    h.answer = (call) => (call.token === 'notion-token-c0' && ++n === 1 ? { kind: 'response', status: 503 } : ok);
    const release = h.stores.subscriptions.releasePush.bind(h.stores.subscriptions);
    let failed = 0;
    h.stores.subscriptions.releasePush = async (key, restore) => {
      if (failed++ === 0) throw new Error('ProvisionedThroughputExceededException');
      return release(key, restore);
    };
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.eventsNamed('push_release_failed')).toHaveLength(1);
    // c0's second push took its own unfinished claim over once the lease had ended, and was accepted.
    expect(h.calls.map((c) => c.token)).toEqual(['notion-token-c0', 'notion-token-c1', 'notion-token-c0']);
    expect(h.eventsNamed('push_lease_taken_over')).toHaveLength(1);
    expect(h.deadLetters).toEqual([]);
  });

  it('starts no push that could outlast the invocation: a Notion that times out never runs a record past its deadline', async () => {
    // The defaults of a deployment: a 30 s invocation, Notion requests cut at 10 s, the source at 2 s.
    const timeoutMs = 10_000;
    const h = await setup(6, { settings: { concurrency: 1 } });
    const deadline = h.clock.now() + 30_000;
    h.answer = () => {
      h.clock.advance(timeoutMs);
      return { kind: 'timeout' };
    };
    const flush = JSON.stringify({ type: 'flush', resource: 'task:1', window: 'w', until: h.clock.now() });
    const outcome = await h.worker.processRecord(flush, {
      messageId: 'f',
      receiveCount: 1,
      remainingMs: () => deadline - h.clock.now(),
    });
    expect(outcome).toBe('processed');
    expect(h.calls.length).toBeGreaterThan(0);
    // Every push ended with the worker's reserve still left for what follows it (deferrals, delivery log).
    for (const call of h.calls) expect(deadline - (call.at + timeoutMs)).toBeGreaterThanOrEqual(5_000);
    // What was not started is deferred at once, not lost, and no failed attempt is counted for it.
    const deferred = h
      .pending()
      .map((m) => m.body as PushMessage)
      .filter((m) => m.type === 'push')
      .flatMap((m) => m.targets);
    expect(deferred).toHaveLength(6);
    expect(deferred.filter((t) => t.attempt === undefined)).toHaveLength(6 - h.calls.length);
  });

  it('a batch read that fails only reads ahead: the pushes read item by item, pauses hold, the work item completes', async () => {
    const h = await setup(3);
    const throttled = async (): Promise<never> => {
      const error = new Error('throughput exceeded');
      error.name = 'ProvisionedThroughputExceededException';
      throw error;
    };
    h.stores.rateLimits.pausedUntilMany = throttled;
    h.stores.subscriptions.getMany = throttled;
    await h.stores.rateLimits.pause(connectionPauseKey('c1'), h.clock.now() + 60_000);
    const flush = JSON.stringify({ type: 'flush', resource: 'task:1', window: 'w', until: h.clock.now() });
    expect(await h.worker.processRecord(flush, { messageId: 'f', receiveCount: 1 })).toBe('processed');
    expect(h.calls.map((c) => c.token).sort()).toEqual(['notion-token-c0', 'notion-token-c2']);
    expect(h.eventsNamed('read_ahead_failed').map((e) => e.data.what)).toEqual(['pauses']);
    // The paused connection waits in a push message, whose connection and subscription are read on their own.
    h.stores.connections.getMany = throttled;
    h.clock.advance(60_000);
    await h.drain();
    expect(h.calls.map((c) => c.token).sort()).toEqual(['notion-token-c0', 'notion-token-c1', 'notion-token-c2']);
    expect(h.eventsNamed('read_ahead_failed').map((e) => e.data.what)).toEqual([
      'pauses',
      'connections',
      'subscriptions',
    ]);
    expect(h.deadLetters).toEqual([]);
  });
});

describe('rate limits', () => {
  it('never sends more than the per-connection limit in any 60 s span, and delivers everything', async () => {
    const h = new Harness({ settings: { ratePerMinute: 180, pageSize: 50 } });
    h.product.set('task:1', 1);
    await h.connection('c0');
    for (let i = 0; i < 600; i++) await h.subscribe('task:1', 'c0', `${URI(1)}?v=${i}`);
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.calls).toHaveLength(600);
    const times = h.calls.map((c) => c.at).sort((a, b) => a - b);
    let j = 0;
    let worst = 0;
    for (let i = 0; i < times.length; i++) {
      while ((times[i] as number) - (times[j] as number) >= 60_000) j++;
      worst = Math.max(worst, i - j + 1);
    }
    expect(worst).toBeLessThanOrEqual(180);
    // and it uses the budget: 600 pushes need (600 - burst) / 172 per minute ≈ 208 s; allow 5 % over 600 / 3 s.
    expect((times.at(-1) as number) - (times[0] as number)).toBeLessThanOrEqual(1.05 * 200_000);
    expect(h.calls.every((c) => c.token === 'notion-token-c0')).toBe(true);
  });

  it('1,000 subscribers of one connection: within 1.05 × the rate-limit floor of simulated time, renders ≈ pushes', async () => {
    const h = new Harness({ settings: { ratePerMinute: 180 } });
    h.product.set('task:1', 1);
    await h.connection('c0');
    for (let i = 0; i < 1_000; i++) await h.subscribe('task:1', 'c0', `${URI(1)}?v=${i}`);
    await h.publish(change('task:1'));
    await h.step();
    const start = h.clock.now();
    await h.drain();
    expect(h.calls).toHaveLength(1_000);
    const last = Math.max(...h.calls.map((c) => c.at));
    expect(last - start).toBeLessThanOrEqual(1.05 * (1_000 / 180) * 60_000);
    // Deferred work takes its token before rendering, so waiting costs no renders.
    expect(h.renders).toBeLessThan(1_000 * 1.25);
  });

  it('a 429 is retried after Retry-After through a delayed message, never earlier', async () => {
    const h = await setup(1);
    h.answer = firstThenOk({
      kind: 'response',
      status: 429,
      code: 'rate_limited',
      rateLimitReason: 'public_api_request_rate_limit',
      retryAfterSeconds: 17,
    });
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.calls).toHaveLength(2);
    expect((h.calls[1]?.at ?? 0) - (h.calls[0]?.at ?? 0)).toBeGreaterThanOrEqual(17_000);
    expect(h.deadLetters).toHaveLength(0);
  });

  it('a Retry-After of 0 waits a second, not nothing', async () => {
    const h = await setup(1);
    h.answer = firstThenOk({ kind: 'response', status: 429, code: 'rate_limited', retryAfterSeconds: 0 });
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.calls).toHaveLength(2);
    expect((h.calls[1]?.at ?? 0) - (h.calls[0]?.at ?? 0)).toBeGreaterThanOrEqual(1_000);
  });

  it.each([
    ['a 429 for the workspace', 429, 'public_api_space_request_rate_limit'],
    ['a 529', 529, undefined],
  ])(
    "%s with an absurd Retry-After pauses for SQS's 15 min at most, not for as long as the header says",
    async (_, status, rateLimitReason) => {
      const h = await setup(2);
      h.answer = firstThenOk({
        kind: 'response',
        status,
        code: status === 429 ? 'rate_limited' : 'service_overload',
        ...(rateLimitReason ? { rateLimitReason } : {}),
        // A year (or an HTTP date that far ahead): a value from the network, not a wait to store.
        retryAfterSeconds: 365 * 86_400,
      });
      const start = h.clock.now();
      await h.publish(change('task:1'));
      await h.runUntil(start + 60_000);
      const paused = await Promise.all([
        h.stores.rateLimits.pausedUntil(workspacePauseKey('ws-1'), h.clock.now()),
        h.stores.rateLimits.pausedUntil(connectionPauseKey('c0'), h.clock.now()),
        h.stores.rateLimits.pausedUntil(connectionPauseKey('c1'), h.clock.now()),
      ]);
      for (const until of paused) if (until !== undefined) expect(until - start).toBeLessThanOrEqual(900_000 + 60_000);
      await h.drain(500);
      // Both subscriptions are pushed once the wait is over: within minutes, not a year of redeliveries.
      expect(h.calls.length).toBe(3);
      expect(Math.max(...h.calls.map((c) => c.at)) - start).toBeLessThanOrEqual(2 * 900_000);
      expect(h.deadLetters).toEqual([]);
    },
  );

  it('429s in a row to one push wait longer each time, and a success ends the run', async () => {
    const h = await setup(1, { settings: { backoffBaseMs: 5_000 } });
    let refusals = 4;
    h.answer = () =>
      refusals-- > 0
        ? {
            kind: 'response',
            status: 429,
            code: 'rate_limited',
            rateLimitReason: 'public_api_endpoint_rate_limit',
            retryAfterSeconds: 1,
          }
        : ok;
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.calls).toHaveLength(5);
    const gaps = h.calls.slice(1).map((c, i) => c.at - (h.calls[i]?.at ?? 0));
    // The first waits Retry-After; the n-th in a row at least half of 5 s × 2^(n − 2) (equal jitter).
    expect(gaps[0]).toBeGreaterThanOrEqual(1_000);
    expect(gaps[0]).toBeLessThan(2_500);
    expect(gaps[1]).toBeGreaterThanOrEqual(2_500);
    expect(gaps[2]).toBeGreaterThanOrEqual(5_000);
    expect(gaps[3]).toBeGreaterThanOrEqual(10_000);
    expect(h.deadLetters).toHaveLength(0);
  });

  it('a push Notion keeps answering 429 goes to the dead-letter queue after maxRateLimited in a row', async () => {
    const h = await setup(1, { settings: { maxRateLimited: 4, maxAttempts: 2 } });
    h.answer = () => ({ kind: 'response', status: 429, code: 'rate_limited', retryAfterSeconds: 1 });
    await h.publish(change('task:1'));
    await h.drain();
    // Four 429s are waited out (a 429 is no failed attempt: maxAttempts 2 does not end it); the fifth ends it.
    expect(h.calls).toHaveLength(5);
    expect(h.deadLetters.map((d) => d.reason)).toEqual(['notion_rate_limited']);
  });

  it('a workspace-wide 429 pauses every connection of that workspace', async () => {
    const h = new Harness();
    h.product.set('task:1', 1);
    await h.connection('a', 'ws-shared');
    await h.connection('b', 'ws-shared');
    await h.connection('c', 'ws-other');
    for (const id of ['a', 'b', 'c']) await h.subscribe('task:1', id, URI(1));
    let first = true;
    h.answer = (call) => {
      if (first && call.token === 'notion-token-a') {
        first = false;
        return {
          kind: 'response',
          status: 429,
          code: 'rate_limited',
          rateLimitReason: 'public_api_space_request_rate_limit',
          retryAfterSeconds: 120,
        };
      }
      return ok;
    };
    const t0 = h.clock.now();
    await h.worker.processRecord(JSON.stringify({ type: 'flush', resource: 'task:1', window: 'w', until: t0 }), {
      messageId: 'x',
      receiveCount: 1,
    });
    h.stores.updateQueue.drain();
    expect(await h.stores.rateLimits.pausedUntil('notion:workspace:ws-shared', t0)).toBe(t0 + 120_000);
    await h.drain();
    const bCalls = h.calls.filter((c) => c.token === 'notion-token-b');
    const aCalls = h.calls.filter((c) => c.token === 'notion-token-a');
    // b was either pushed before the 429 or only after the pause.
    for (const call of [...bCalls, ...aCalls.slice(1)]) expect(call.at === t0 || call.at >= t0 + 120_000).toBe(true);
  });

  it('529 is retried after Retry-After and counts towards the attempts', async () => {
    const h = await setup(1, { settings: { maxAttempts: 3 } });
    h.answer = () => ({ kind: 'response', status: 529, code: 'service_overload', retryAfterSeconds: 3 });
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.calls).toHaveLength(3);
    expect(h.deadLetters.map((d) => d.reason)).toEqual(['notion_overloaded']);
  });
});

describe("Notion's answers", () => {
  it('401: the connection is disconnected and all its subscriptions removed', async () => {
    const h = await setup(1);
    await h.subscribe('task:2', 'c0', URI(2));
    h.answer = () => ({ kind: 'response', status: 401, code: 'unauthorized' });
    await h.publish(change('task:1'));
    await h.drain();
    const c = await h.stores.connections.get('c0');
    expect(c?.status).toBe('disconnected');
    expect(c?.notionTokenCiphertext).toBeUndefined();
    expect(await h.stores.subscriptions.listByConnection('c0')).toEqual([]);
    expect(h.calls).toHaveLength(1);
  });

  it('404: that subscription is removed, others stay', async () => {
    const h = await setup(2);
    h.answer = (call) =>
      call.token === 'notion-token-c0' ? { kind: 'response', status: 404, code: 'object_not_found' } : ok;
    await h.publish(change('task:1'));
    await h.drain();
    expect(await h.stores.subscriptions.get('task:1', 'c0', URI(1))).toBeUndefined();
    expect(await h.stores.subscriptions.get('task:1', 'c1', URI(1))).toBeDefined();
  });

  it.each([
    [{ kind: 'response', status: 400, code: 'validation_error', message: 'bad' }, 'push_rejected'],
    [{ kind: 'response', status: 403, code: 'restricted_resource' }, 'push_rejected'],
    [
      { kind: 'response', status: 429, code: 'rate_limited', rateLimitReason: 'public_api_request_blocked' },
      'push_blocked',
    ],
  ] as const)('%j is recorded and not retried', async (answer, event) => {
    const h = await setup(1);
    h.answer = () => answer;
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.calls).toHaveLength(1);
    expect(h.eventsNamed(event)).toHaveLength(1);
    expect(h.deadLetters).toHaveLength(0);
    expect((await h.stores.subscriptions.get('task:1', 'c0', URI(1)))?.contentHash).toBeUndefined();
  });

  it.each([
    [{ kind: 'response', status: 500, code: 'internal_server_error' }],
    [{ kind: 'response', status: 503, code: 'service_unavailable' }],
    [{ kind: 'timeout' }],
    [{ kind: 'network', message: 'ECONNRESET' }],
  ] as const)('%j is retried with growing backoff, then dead-lettered with its reason', async (answer) => {
    const h = await setup(1, { settings: { maxAttempts: 4, backoffBaseMs: 1000 } });
    h.answer = () => answer;
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.calls).toHaveLength(4);
    const gaps = h.calls.slice(1).map((c, i) => c.at - (h.calls[i]?.at ?? 0));
    expect(gaps[0]).toBeGreaterThanOrEqual(500);
    expect(gaps[2]).toBeGreaterThan(gaps[0] as number);
    expect(h.deadLetters).toHaveLength(1);
    expect(h.deadLetters[0]?.reason).toBe('notion_unavailable');
    expect(h.deadLetters[0]?.message).toMatchObject({ type: 'push', targets: [{ connectionId: 'c0', uri: URI(1) }] });
  });

  it('a 503 with Retry-After is pushed again no sooner than Retry-After, nor sooner than the backoff', async () => {
    const h = await setup(1, { settings: { maxAttempts: 4, backoffBaseMs: 1000 } });
    h.answer = () => ({ kind: 'response', status: 503, code: 'service_unavailable', retryAfterSeconds: 120 });
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.calls).toHaveLength(4);
    const gaps = h.calls.slice(1).map((c, i) => c.at - (h.calls[i]?.at ?? 0));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(120_000);
    expect(h.deadLetters.map((d) => d.reason)).toEqual(['notion_unavailable']);
  });

  it('a push claim leases the subscription for longer than the invocation holding it can run, plus a clock-skew margin', async () => {
    const h = await setup(1, { settings: { invocationMs: 40_000 } });
    const leases: number[] = [];
    h.answer = async (call) => {
      const held = (await h.stores.subscriptions.get('task:1', 'c0', URI(1)))?.pushLease;
      leases.push((held?.until ?? 0) - call.at);
      return ok;
    };
    await h.publish(change('task:1'));
    await h.drain();
    expect(leases).toEqual([40_000 + LEASE_CLOCK_SKEW_MS]);
    expect(LEASE_CLOCK_SKEW_MS).toBeGreaterThan(0);
  });

  it('a 5xx that clears up is delivered without a dead letter', async () => {
    const h = await setup(1);
    let n = 0;
    h.answer = () => (++n < 3 ? { kind: 'response', status: 502 } : ok);
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.calls).toHaveLength(3);
    expect((await h.stores.subscriptions.get('task:1', 'c0', URI(1)))?.contentHash).toMatch(/^v1:/);
    expect(h.deadLetters).toHaveLength(0);
  });

  it('sends the full attribute list, or an error operation when the subscriber lost access', async () => {
    const h = await setup(2);
    h.forbidden.set('c1', new Set(['task:1']));
    await h.publish(change('task:1'));
    await h.drain();
    const byToken = new Map(h.calls.map((c) => [c.token, c.update]));
    expect(byToken.get('notion-token-c0')?.operations[0]?.path).toEqual(['attributes']);
    expect(byToken.get('notion-token-c1')?.operations).toEqual([
      { path: ['error'], set: { status: 403, message: 'forbidden' } },
    ]);
  });

  it('pushes nothing for a connection whose upstream login must be renewed, and the delivery log says why', async () => {
    const h = await setup(2);
    h.needsLogin.add('c1');
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.calls.map((c) => c.token)).toEqual(['notion-token-c0']);
    expect(h.eventsNamed('push_skipped').map((e) => e.data.reason)).toEqual(['upstream_login_required']);
    expect(await h.deliveries.recent('c1', 10)).toEqual([
      expect.objectContaining({ status: 'skipped', action: 'needs_reauth', code: 'upstream_login_required' }),
    ]);
  });

  it('removes the subscription of an ended connection a change reaches, without calling Notion', async () => {
    const h = new Harness();
    h.product.set('task:1', 1);
    await h.connection('gone', 'ws-1', 'revoked');
    await h.connection('live');
    await h.subscribe('task:1', 'gone', URI(1));
    await h.subscribe('task:1', 'live', URI(2));
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.calls).toHaveLength(1);
    expect(h.pushesTo(URI(2))).toHaveLength(1);
    expect(await h.stores.subscriptions.get('task:1', 'gone', URI(1))).toBeUndefined();
    expect(await h.stores.subscriptions.get('task:1', 'live', URI(2))).toBeDefined();
    expect(h.eventsNamed('subscription_dropped').map((e) => e.data)).toEqual([
      { resource: 'task:1', connectionId: 'gone', code: 'connection_ended' },
    ]);
  });
});

describe('poison messages', () => {
  it('the dead letters of a work item go ten to a request', async () => {
    const h = await setup(12, { settings: { maxAttempts: 1 } });
    h.renderFails = true;
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.deadLetters).toHaveLength(12);
    expect(h.deadLetterSends).toBe(2);
    expect(h.eventsNamed('dead_lettered')).toHaveLength(12);
  });

  it('a work item whose dead letters fail partway does not dead-letter the ones already sent again on its redelivery', async () => {
    const h = await setup(12, { settings: { maxAttempts: 1 } });
    h.renderFails = true;
    const push = h.deadLetters.push.bind(h.deadLetters);
    let sends = 0;
    h.deadLetters.push = (...letters) => {
      if (++sends === 2) throw new Error('SQS unavailable');
      return push(...letters);
    };
    await h.publish(change('task:1'));
    await h.drain();
    // Each subscription given up is dead-lettered once, although the first delivery failed after its first ten letters.
    expect(h.deadLetters.map((l) => (l.message as PushMessage).targets[0]?.connectionId).sort()).toEqual(
      Array.from({ length: 12 }, (_, i) => `c${i}`).sort(),
    );
    expect(h.eventsNamed('dead_lettered')).toHaveLength(12);
    expect(sends).toBe(3);
  });
  it.each([['not json'], [JSON.stringify({ type: 'nope' })], [JSON.stringify({ type: 'change', id: 'x' })]])(
    '%s goes straight to the DLQ with its reason',
    async (body) => {
      const h = new Harness();
      await h.worker.processRecord(body, { messageId: 'm', receiveCount: 1 });
      expect(h.deadLetters).toHaveLength(1);
      expect(h.deadLetters[0]?.reason).toBe('invalid_message');
      expect(h.deadLetters[0]?.detail.length).toBeGreaterThan(0);
    },
  );

  it.each([
    ['ASCII', 'a'],
    ['emoji', '\u{1F600}'],
  ])(
    'a poison message close to 256 KiB (%s) is dead-lettered within SQS limit, truncated, with its size and hash',
    async (_, unit) => {
      const h = new Harness();
      // Under SQS's 256 KiB as sent, but the wrapper (and its escapes) would take it over.
      const body = JSON.stringify({ type: 'nope', filler: unit.repeat(Math.floor(262_000 / (unit === 'a' ? 1 : 12))) });
      expect(() => messageBodies([JSON.parse(body)], 0)).not.toThrow();
      expect(await h.worker.processRecord(body, { messageId: 'm', receiveCount: 1 })).toBe('dead-lettered');
      const letter = h.deadLetters[0] as DeadLetter;
      expect(letter.reason).toBe('invalid_message');
      expect(h.eventsNamed('dead_lettered').map((e) => e.data.reason)).toEqual(['invalid_message']);
      // The SQS adapter's own check (256 KiB as SQS-safe JSON) passes.
      expect(() => messageBodies([letter], 0)).not.toThrow();
      expect(letter.truncated).toEqual({
        bytes: Buffer.byteLength(body, 'utf8'),
        sha256: createHash('sha256').update(body).digest('hex'),
      });
      expect(body.startsWith(letter.message as string)).toBe(true);
      // A redrive does not take it for the whole message.
      expect(unwrapDeadLetter(messageBodies([letter], 0)[0] as string).truncated).toBe(true);
    },
  );

  it('a truncated dead letter keeps the start, size and SHA-256 of the body as received, not of it parsed and written again', async () => {
    const h = new Harness();
    // Pretty-printed JSON, as a sender may write it, just under SQS's limit: parsing and writing it again changes
    // its text, so a size and hash of that text would match nothing the sender has.
    const body = `{\n  "type": "nope",\n  "filler": "${'a'.repeat(256 * 1024 - 100)}"\n}`;
    expect(Buffer.byteLength(body, 'utf8')).toBeLessThanOrEqual(256 * 1024);
    expect(JSON.stringify(JSON.parse(body))).not.toBe(body);
    expect(await h.worker.processRecord(body, { messageId: 'm', receiveCount: 1 })).toBe('dead-lettered');
    const letter = h.deadLetters[0] as DeadLetter;
    expect(() => messageBodies([letter], 0)).not.toThrow();
    expect(letter.truncated).toEqual({
      bytes: Buffer.byteLength(body, 'utf8'),
      sha256: createHash('sha256').update(body, 'utf8').digest('hex'),
    });
    expect(typeof letter.message).toBe('string');
    expect(body.startsWith(letter.message as string)).toBe(true);
  });

  it("a dead letter moved back to the update queue as it is (the console's DLQ redrive) is unwrapped to its original by the next redrive", async () => {
    const h = await setup(1);
    // A change the worker gave up on: its dead letter, as the dead-letter queue holds it.
    const original = change('task:1');
    const letter = (reason: string, message: unknown, extra = {}) =>
      messageBodies(
        [{ type: 'dead-letter', reason, detail: 'd', failedAt: 'f', receiveCount: 5, message, ...extra }],
        0,
      )[0] as string;
    const moved = letter('failed_repeatedly', original);
    // SQS's own redrive sends the wrapper to the update queue; the worker refuses it and dead-letters it again.
    expect(await h.worker.processRecord(moved, { messageId: 'm', receiveCount: 1 })).toBe('dead-lettered');
    const again = messageBodies([h.deadLetters[0]], 0)[0] as string;
    // npm run redrive replays the original change, not the inner wrapper the worker would refuse for ever.
    const unwrapped = unwrapDeadLetter(again);
    expect(JSON.parse(unwrapped.body)).toEqual(original);
    expect(unwrapped.reason).toBe('failed_repeatedly');
    expect(unwrapped.truncated).toBeUndefined();
    expect(await h.worker.processRecord(unwrapped.body, { messageId: 'r', receiveCount: 1 })).toBe('processed');
    // A truncated letter stays one however deep it is wrapped: never replayed as if whole.
    const truncated = letter('invalid_message', '{"type":"nope","fil', { truncated: { bytes: 1, sha256: 'ab' } });
    expect(unwrapDeadLetter(letter('invalid_message', JSON.parse(truncated))).truncated).toBe(true);
  });

  it('a dead letter that fits is not truncated', async () => {
    const h = new Harness();
    await h.worker.processRecord(JSON.stringify({ type: 'nope', filler: 'a'.repeat(100_000) }), {
      messageId: 'm',
      receiveCount: 1,
    });
    expect(h.deadLetters[0]?.truncated).toBeUndefined();
    expect(unwrapDeadLetter(JSON.stringify(h.deadLetters[0])).truncated).toBeUndefined();
  });

  it('a message that keeps failing is dead-lettered with the error on its last receive', async () => {
    const h = await setup(1, { settings: { maxReceiveCount: 3 } });
    const broken = h.stores.subscriptions.listByResource.bind(h.stores.subscriptions);
    h.stores.subscriptions.listByResource = async () => {
      throw new Error('table unavailable');
    };
    await h.publish({ type: 'flush', resource: 'task:1', window: 'w', until: h.clock.now() });
    await h.drain();
    expect(h.processed).toBe(3);
    expect(h.deadLetters[0]?.reason).toBe('failed_repeatedly');
    expect(h.deadLetters[0]?.detail).toContain('table unavailable');
    h.stores.subscriptions.listByResource = broken;
  });

  it('a source that keeps failing dead-letters the subscription after the attempts', async () => {
    const h = await setup(1, { settings: { maxAttempts: 2 } });
    h.renderFails = true;
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.calls).toHaveLength(0);
    expect(h.deadLetters.map((d) => d.reason)).toEqual(['source_unavailable']);
  });
});
