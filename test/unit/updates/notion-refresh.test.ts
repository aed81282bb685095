/**
 * A 401 to a push when the connection holds a Notion refresh token (functions/core/updates/notion-token.ts,
 * docs/adr/0151): one refresh, the new tokens stored encrypted, one more push; only a refused refresh
 * disconnects; a refresh without an answer is retried later; the single-use refresh token is spent once
 * however many pushes (in one work item or in concurrent invocations) meet the 401.
 */
import { describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { notionRefreshTokenContext, notionTokenContext } from '#core/oauth/cipher-contexts.js';
import { NotionExchangeError, type NotionRefresh, type NotionTokenRefresher } from '#core/oauth/ports.js';
import type { NotionAnswer } from '#core/updates/classify.js';
import type { PushMessage } from '#core/updates/messages.js';
import { change, fakeCipher, Harness, type NotionCall, ok } from './harness.js';

const URI = (n: number) => `https://tasks.example.com/tasks/${n}`;
const unauthorized: NotionAnswer = { kind: 'response', status: 401, code: 'unauthorized' };

/** Notion's side: which access tokens it accepts, and single-use rotating refresh tokens. */
class FakeNotion implements NotionTokenRefresher {
  readonly accepted = new Set<string>();
  readonly refreshTokens = new Set<string>();
  readonly presented: string[] = [];
  private seq = 0;
  /** Answers the refresh grant without a usable answer while > 0. */
  failures = 0;
  /** Awaited before each refresh answer (to hold refreshes in flight). */
  gate: () => Promise<void> = async () => undefined;

  async refresh(refreshToken: string): Promise<NotionRefresh> {
    this.presented.push(refreshToken);
    await this.gate();
    if (this.failures > 0) {
      this.failures -= 1;
      throw new NotionExchangeError('unavailable', 'Notion answered 503 to the refresh', { status: 503 });
    }
    if (!this.refreshTokens.delete(refreshToken)) return { outcome: 'refused', status: 400, code: 'invalid_grant' };
    const n = ++this.seq;
    const next = { access: `access-${n}`, refresh: `refresh-${n}` };
    this.accepted.add(next.access);
    this.refreshTokens.add(next.refresh);
    return { outcome: 'refreshed', accessToken: next.access, refreshToken: next.refresh };
  }

  answer = (call: NotionCall): NotionAnswer => (this.accepted.has(call.token) ? ok : unauthorized);
}

const setup = async (subscriptions = 1, options: { claimMs?: number } = {}) => {
  const notion = new FakeNotion();
  const h = new Harness({
    notionRefresher: notion,
    ...(options.claimMs === undefined ? {} : { notionRefreshClaimMs: options.claimMs }),
  });
  h.answer = notion.answer;
  notion.refreshTokens.add('refresh-0');
  // The stored access token (`notion-token-c0`) is no longer accepted; the refresh token still is.
  await h.connection('c0', 'ws-1', 'active', 'refresh-0');
  for (let i = 1; i <= subscriptions; i++) {
    h.product.set(`task:${i}`, 1);
    await h.subscribe(`task:${i}`, 'c0', URI(i));
  }
  return { h, notion };
};

const stored = async (h: Harness) => {
  const c = await h.stores.connections.get('c0');
  return {
    connection: c,
    access: c?.notionTokenCiphertext && (await fakeCipher.decrypt(c.notionTokenCiphertext, notionTokenContext('c0'))),
    refresh:
      c?.notionRefreshTokenCiphertext &&
      (await fakeCipher.decrypt(c.notionRefreshTokenCiphertext, notionRefreshTokenContext('c0'))),
  };
};

const outcomes = (h: Harness) => h.eventsNamed('notion_token_refresh').map((e) => e.data.outcome);

describe('a 401 with a Notion refresh token held', () => {
  it('refreshes once, stores both new tokens encrypted, and delivers the push with the new token', async () => {
    const { h, notion } = await setup();
    await h.publish(change('task:1'));
    await h.drain();
    expect(notion.presented).toEqual(['refresh-0']);
    expect(h.calls.map((c) => c.token)).toEqual(['notion-token-c0', 'access-1']);
    const after = await stored(h);
    expect(after).toMatchObject({ access: 'access-1', refresh: 'refresh-1' });
    expect(after.connection).toMatchObject({ status: 'active', notionTokenVersion: 1 });
    expect(after.connection?.notionRefreshUntil).toBeUndefined();
    expect(h.eventsNamed('pushed')).toHaveLength(1);
    expect(outcomes(h)).toEqual(['refreshed']);
    expect(h.eventsNamed('notion_token_refresh')[0]?.data).toEqual({
      connectionId: 'c0',
      outcome: 'refreshed',
      rotated: true,
    });
    expect((await h.deliveries.recent('c0', 5)).map((d) => [d.status, d.action]).reverse()).toEqual([
      [401, 'token_refreshed'],
      [200, 'done'],
    ]);
    // No event or delivery carries a token.
    expect(JSON.stringify([h.events, await h.deliveries.recent('c0', 5)])).not.toMatch(/refresh-\d|access-\d/);
  });

  it('the pushes of one connection in a work item share one refresh; later ones use the new token at once', async () => {
    const { h, notion } = await setup();
    for (let i = 2; i <= 12; i++) await h.subscribe('task:1', 'c0', `${URI(1)}?copy=${i}`);
    await h.publish(change('task:1'));
    await h.drain();
    expect(notion.presented).toEqual(['refresh-0']);
    expect(h.eventsNamed('pushed')).toHaveLength(12);
    expect(h.calls.filter((c) => c.token === 'access-1')).toHaveLength(12);
    expect((await stored(h)).connection?.status).toBe('active');
  });

  it('a refused refresh disconnects as before: subscriptions removed, no second push', async () => {
    const { h, notion } = await setup(2);
    notion.refreshTokens.clear(); // revoked at Notion
    await h.publish(change('task:1'));
    await h.drain();
    expect(notion.presented).toEqual(['refresh-0']);
    const c = await h.stores.connections.get('c0');
    expect(c?.status).toBe('disconnected');
    expect(c?.notionTokenCiphertext).toBeUndefined();
    expect(c?.notionRefreshTokenCiphertext).toBeUndefined();
    expect(await h.stores.subscriptions.listByConnection('c0')).toEqual([]);
    expect(h.calls).toHaveLength(1);
    expect(outcomes(h)).toEqual(['refused']);
    expect(h.eventsNamed('notion_token_refresh')[0]?.data).toMatchObject({ status: 400, code: 'invalid_grant' });
    expect(h.eventsNamed('connection_disconnected')).toHaveLength(1);
  });

  it('a 401 to the push with the refreshed token disconnects: one refresh, never two', async () => {
    const { h, notion } = await setup();
    h.answer = () => unauthorized; // Notion refuses every token
    await h.publish(change('task:1'));
    await h.drain();
    expect(notion.presented).toEqual(['refresh-0']);
    expect(h.calls.map((c) => c.token)).toEqual(['notion-token-c0', 'access-1']);
    expect((await h.stores.connections.get('c0'))?.status).toBe('disconnected');
  });

  it('without a refresh token, a 401 disconnects without asking Notion', async () => {
    const notion = new FakeNotion();
    const h = new Harness({ notionRefresher: notion });
    h.answer = notion.answer;
    h.product.set('task:1', 1);
    await h.connection('c0');
    await h.subscribe('task:1', 'c0', URI(1));
    await h.publish(change('task:1'));
    await h.drain();
    expect(notion.presented).toEqual([]);
    expect((await h.stores.connections.get('c0'))?.status).toBe('disconnected');
  });

  it('a refresh without an answer never disconnects: the claim is released and the push retried with backoff', async () => {
    const { h, notion } = await setup();
    notion.failures = 2;
    await h.publish(change('task:1'));
    await h.drain();
    // Two refreshes got no answer (each push retried later), the third refreshed and delivered.
    expect(notion.presented).toEqual(['refresh-0', 'refresh-0', 'refresh-0']);
    expect(outcomes(h)).toEqual(['failed', 'failed', 'refreshed']);
    expect(h.eventsNamed('push_retry_scheduled').map((e) => e.data.reason)).toEqual([
      'notion_unavailable',
      'notion_unavailable',
    ]);
    expect(h.eventsNamed('pushed')).toHaveLength(1);
    expect(h.eventsNamed('connection_disconnected')).toHaveLength(0);
    expect(await stored(h)).toMatchObject({ access: 'access-1', refresh: 'refresh-1' });
    expect(h.deadLetters).toEqual([]);
  });

  it.each([
    [120, 120_000],
    [3_600, 900_000],
  ])(
    "a refresh answered 429 with Retry-After %i s waits for it (at most 15 min), not for the backoff's first seconds",
    async (seconds, waitMs) => {
      const { h, notion } = await setup();
      let refusals = 1;
      const refresh = notion.refresh.bind(notion);
      notion.refresh = async (token) => {
        if (refusals-- > 0)
          throw new NotionExchangeError('unavailable', 'Notion answered 429 to the refresh', {
            status: 429,
            retryAfterSeconds: seconds,
          });
        return refresh(token);
      };
      const flush = JSON.stringify({ type: 'flush', resource: 'task:1', window: 'w', until: h.clock.now() });
      const at = h.clock.now();
      expect(await h.worker.processRecord(flush, { messageId: 'f', receiveCount: 1 })).toBe('processed');
      const [retry] = h.pending();
      expect(retry?.body).toMatchObject({ type: 'push', targets: [{ connectionId: 'c0', uri: URI(1), attempt: 1 }] });
      expect(retry?.visibleAt).toBe(at + waitMs);
      await h.drain();
      expect(h.eventsNamed('pushed')).toHaveLength(1);
    },
  );

  it("a refresh answered 429 with Retry-After holds the connection's other work items too: no PATCH, no refresh before it", async () => {
    const { h, notion } = await setup(2);
    let asked = 0;
    const refresh = notion.refresh.bind(notion);
    notion.refresh = async (token) => {
      if (++asked === 1)
        throw new NotionExchangeError('unavailable', 'Notion answered 429 to the refresh', {
          status: 429,
          retryAfterSeconds: 120,
        });
      return refresh(token);
    };
    const at = h.clock.now();
    const flush = (n: number) => JSON.stringify({ type: 'flush', resource: `task:${n}`, window: 'w', until: at });
    expect(await h.worker.processRecord(flush(1), { messageId: 'f1', receiveCount: 1 })).toBe('processed');
    expect(h.calls).toHaveLength(1);
    // Another resource of the same connection, at once: it waits for the Retry-After without asking Notion.
    expect(await h.worker.processRecord(flush(2), { messageId: 'f2', receiveCount: 1 })).toBe('processed');
    expect(h.calls).toHaveLength(1);
    expect(asked).toBe(1);
    const waiting = h.pending().filter((m) => (m.body as PushMessage).resource === 'task:2');
    expect(waiting.map((m) => m.visibleAt)).toEqual([at + 120_000]);
    await h.drain();
    expect(h.eventsNamed('pushed')).toHaveLength(2);
    expect(asked).toBe(2);
  });

  it('a refresh that never gets an answer ends in the dead-letter queue, the connection still active', async () => {
    const { h, notion } = await setup();
    notion.failures = 100;
    await h.publish(change('task:1'));
    await h.drain();
    expect(h.deadLetters.map((d) => d.reason)).toEqual(['notion_unavailable']);
    expect(h.deadLetters[0]?.detail).toContain('token refresh');
    expect((await h.stores.connections.get('c0'))?.status).toBe('active');
    expect((await stored(h)).refresh).toBe('refresh-0');
  });

  it('a claim held elsewhere defers the push; the tokens the holder stores are then used without a refresh', async () => {
    const { h, notion } = await setup();
    const now = h.clock.now();
    expect(await h.notionTokenStore.claimNotionRefresh('c0', { version: 0, now, until: now + 60_000 })).toBe(true);
    await h.publish(change('task:1'));
    await h.runUntil(h.clock.now() + 4_000); // the window closes, the push meets the 401 and the held claim
    expect(outcomes(h)).toEqual(['busy']);
    expect(h.eventsNamed('push_busy').length + h.pending().length).toBeGreaterThan(0);
    // The holder (another invocation) finishes: Notion rotated, the new tokens are stored.
    notion.accepted.add('access-other');
    await h.notionTokenStore.saveNotionTokens('c0', {
      version: 0,
      until: now + 60_000,
      tokenCiphertext: await fakeCipher.encrypt('access-other', notionTokenContext('c0')),
      now: h.clock.now(),
    });
    await h.drain();
    expect(notion.presented).toEqual([]);
    expect(h.calls.map((c) => c.token)).toEqual(['notion-token-c0', 'access-other']);
    expect(h.eventsNamed('pushed')).toHaveLength(1);
  });

  it('a work item that read the connection before another stored new tokens takes those after its 401', async () => {
    const { h, notion } = await setup();
    notion.accepted.add('access-other');
    let first = true;
    h.answer = async (call) => {
      if (first) {
        first = false;
        // While this PATCH is in flight another invocation refreshes and stores (version 1).
        const claimed = { version: 0, now: h.clock.now(), until: h.clock.now() + 60_000 };
        await h.notionTokenStore.claimNotionRefresh('c0', claimed);
        await h.notionTokenStore.saveNotionTokens('c0', {
          version: 0,
          until: claimed.until,
          tokenCiphertext: await fakeCipher.encrypt('access-other', notionTokenContext('c0')),
          now: h.clock.now(),
        });
      }
      return notion.answer(call);
    };
    await h.publish(change('task:1'));
    await h.drain();
    expect(notion.presented).toEqual([]);
    expect(outcomes(h)).toEqual(['waited']);
    expect(h.calls.map((c) => c.token)).toEqual(['notion-token-c0', 'access-other']);
  });

  it('property: concurrent invocations meeting the 401 spend the refresh token once and deliver every push', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 6 }),
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 6, maxLength: 6 }),
        fc.integer({ min: 0, max: 4 }),
        async (invocations, patchDelays, refreshDelay) => {
          const { h, notion } = await setup(invocations);
          const tick = () => new Promise((r) => setTimeout(r, 0));
          const ticks = async (n: number) => {
            for (let i = 0; i < n; i++) await tick();
          };
          notion.gate = () => ticks(refreshDelay);
          let calls = 0;
          h.answer = async (call) => {
            await ticks(patchDelays[calls++ % patchDelays.length] ?? 0);
            return notion.answer(call);
          };
          // One `push` message per subscription, all processed at once, as by concurrent Lambda invocations.
          await Promise.all(
            Array.from({ length: invocations }, (_, i) => {
              const message: PushMessage = {
                type: 'push',
                resource: `task:${i + 1}`,
                window: 'w',
                targets: [{ connectionId: 'c0', uri: URI(i + 1) }],
              };
              return h.worker.processRecord(JSON.stringify(message), { messageId: `m${i}`, receiveCount: 1 });
            }),
          );
          await h.drain();
          expect(notion.presented).toEqual(['refresh-0']);
          expect(h.eventsNamed('connection_disconnected')).toHaveLength(0);
          expect(h.eventsNamed('pushed')).toHaveLength(invocations);
          expect(await stored(h)).toMatchObject({ access: 'access-1', refresh: 'refresh-1' });
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('a refresh Notion granted is not lost to a slow or failing save', () => {
  it('a failed save is tried again; the rotated tokens are stored and nothing disconnects', async () => {
    const { h, notion } = await setup();
    const store = h.notionTokenStore;
    const save = store.saveNotionTokens.bind(store);
    let failures = 2;
    store.saveNotionTokens = async (...args) => {
      if (failures-- > 0)
        throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
      return save(...args);
    };
    const encrypt = jest.spyOn(fakeCipher, 'encrypt');
    await h.publish(change('task:1'));
    await h.drain();
    expect(notion.presented).toEqual(['refresh-0']);
    expect(outcomes(h)).toEqual(['refreshed']);
    // Sealed once (the access and the refresh token); only the write was tried again.
    expect(encrypt).toHaveBeenCalledTimes(2);
    encrypt.mockRestore();
    expect(await stored(h)).toMatchObject({ access: 'access-1', refresh: 'refresh-1' });
    // The next change uses the stored token: no refresh, no disconnect.
    h.clock.advance(60_000);
    h.product.set('task:1', 2);
    await h.publish(change('task:1'));
    await h.drain();
    expect(notion.presented).toEqual(['refresh-0']);
    expect((await h.stores.connections.get('c0'))?.status).toBe('active');
  });

  it('a save that keeps failing keeps the claim: no worker spends the rotated-away token while it holds', async () => {
    const { h, notion } = await setup();
    const store = h.notionTokenStore;
    store.saveNotionTokens = async () => {
      throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
    };
    await h.publish(change('task:1'));
    await h.drain();
    expect(outcomes(h)).toEqual(['not_saved']);
    expect(h.eventsNamed('pushed')).toHaveLength(1); // this push went out with Notion's new token
    expect((await h.stores.connections.get('c0'))?.notionRefreshUntil).toBeGreaterThan(h.clock.now());
    // A change within the claim meets the 401 and waits; it never presents the spent refresh token.
    h.product.set('task:1', 2);
    await h.publish(change('task:1'));
    await h.runUntil(h.clock.now() + 4_000);
    expect(notion.presented).toEqual(['refresh-0']);
    expect(outcomes(h)).toEqual(['not_saved', 'busy']);
    expect((await h.stores.connections.get('c0'))?.status).toBe('active');
  });

  it('a save refused because the connection ended meanwhile pushes nothing more', async () => {
    const { h, notion } = await setup();
    const store = h.notionTokenStore;
    const save = store.saveNotionTokens.bind(store);
    store.saveNotionTokens = async (...args) => {
      // The user disconnects while Notion answers the refresh.
      await h.stores.connections.end('c0', { status: 'revoked', reason: 'deleted_token', now: h.clock.now() });
      return save(...args);
    };
    await h.publish(change('task:1'));
    await h.drain();
    expect(notion.presented).toEqual(['refresh-0']);
    expect(h.calls.map((c) => c.token)).toEqual(['notion-token-c0']);
    expect(h.eventsNamed('notion_token_refresh')[0]?.data).toMatchObject({
      outcome: 'not_saved',
      detail: 'connection ended',
    });
    expect(h.eventsNamed('pushed')).toHaveLength(0);
  });

  it('with too little of the invocation left, nothing is claimed or spent: the push goes to the next message', async () => {
    // Enough for a push (the source's 2 s and one Notion request of 10 s, and the reserve of 5 s), under two
    // Notion requests and the reserve.
    let left = 20_000;
    const notion = new FakeNotion();
    notion.refreshTokens.add('refresh-0');
    const h = new Harness({ notionRefresher: notion, remainingMs: () => left });
    h.answer = notion.answer;
    await h.connection('c0', 'ws-1', 'active', 'refresh-0');
    h.product.set('task:1', 1);
    await h.subscribe('task:1', 'c0', URI(1));
    await h.publish(change('task:1'));
    await h.runUntil(h.clock.now() + 4_000);
    expect(notion.presented).toEqual([]);
    expect(outcomes(h)).toContain('later');
    expect((await h.stores.connections.get('c0'))?.notionRefreshUntil).toBeUndefined();
    left = 30_000;
    await h.drain();
    expect(notion.presented).toEqual(['refresh-0']);
    expect(h.eventsNamed('pushed')).toHaveLength(1);
    expect((await h.stores.connections.get('c0'))?.status).toBe('active');
  });
});
