/**
 * The update pipeline end to end on real local parts: demo product edit →
 * signed POST /changes → fauxqs → worker (Powertools batch) → dynalite stores
 * → PATCH to the Notion simulator.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { authStateStore, connectionStore, subscriptionStore } from '#adapters/dynamo/factory.js';
import { updateQueueFromConfig } from '#adapters/sqs/update-queue.js';
import { demoRules, matchUri } from '#core/unfurl/rules.js';
import { httpEvent, lambdaContext } from '#test/helpers/factories.js';
import { createChangesHandler } from '../../../functions/handlers/changes.js';
import { demoChangeListener } from '../../../functions/publish/demo-hook.js';
import { createQueuePublisher } from '../../../functions/publish/index.js';
import { publishChange, type Rig, runUntil, startRig } from './rig.js';

let rig: Rig;

/** fetch → the changes Lambda handler (the local server's job, done in-process here). */
const changesFetch = (): typeof fetch => {
  const handler = createChangesHandler(() => ({
    clock: { now: () => Date.now() },
    secret: async () => rig.env.CHANGES_WEBHOOK_SECRET as string,
    markers: authStateStore(rig.config),
    queue: updateQueueFromConfig(rig.config),
    uriIsPreviewed: (uri) => matchUri(demoRules(rig.productBase), uri) !== undefined,
  }));
  return (async (url: string, init: RequestInit) => {
    const res = await handler(
      httpEvent({
        method: 'POST',
        path: new URL(url).pathname,
        headers: init.headers as Record<string, string>,
        body: String(init.body),
      }),
      lambdaContext(),
    );
    return new Response(res.body ?? '', { status: res.statusCode });
  }) as unknown as typeof fetch;
};

beforeAll(async () => {
  rig = await startRig({ env: { COALESCE_WINDOW_SECONDS: '1' } });
}, 20_000);

afterAll(async () => {
  await rig?.stop();
});

describe('update pipeline (dynalite + fauxqs + Notion simulator + demo product)', () => {
  it('a burst of edits gives one render and one push per subscription, with the final state', async () => {
    const uri = rig.taskUrl('1');
    const alice = await rig.connect('conn-alice', 'u-alice', [uri]);
    const bob = await rig.connect('conn-bob', 'u-bob', [uri]);
    await rig.subscribe('task:1', 'conn-alice', uri);
    await rig.subscribe('task:1', 'conn-bob', uri);
    const unsubscribe = rig.product.onTaskChange(
      demoChangeListener({ baseUrl: rig.productBase, env: rig.env }, changesFetch()),
    );
    for (let i = 1; i <= 12; i++) await rig.product.editTask('1', 'u-alice', { title: `Burst edit ${i}` });
    unsubscribe();

    const handler = rig.newHandler();
    const calls = (id: string) => rig.sim.simulator.stats().connections.find((c) => c.connectionId === id)?.calls ?? 0;
    await runUntil(rig, handler, () => calls(alice.simConnectionId) >= 1 && calls(bob.simConnectionId) >= 1);

    expect(calls(alice.simConnectionId)).toBe(1);
    expect(calls(bob.simConnectionId)).toBe(1);
    expect(JSON.stringify(rig.sim.simulator.lastPayload(uri))).toContain('Burst edit 12');
    expect(rig.events.filter((e) => e.event === 'window_opened')).toHaveLength(1);
    expect(rig.events.filter((e) => e.event === 'coalesced')).toHaveLength(11);
    const sub = await subscriptionStore(rig.config).get('task:1', 'conn-alice', uri);
    expect(sub?.contentHash).toMatch(/^v1:/);
    expect(sub?.lastPushedAt).toBeDefined();
  }, 25_000);

  it("renders with each subscriber's own access rights", async () => {
    // A task of the demo product's seed data that only some demo users may see.
    const task = rig.product.store.list().find((t) => t.visibleTo !== 'everyone' && !t.archived);
    if (!task || task.visibleTo === 'everyone') throw new Error('the seed data has no restricted task');
    const visibleTo = task.visibleTo;
    const id = task.id;
    const uri = rig.taskUrl(id);
    const allowed = visibleTo[0] as string;
    const a = await rig.connect('conn-allowed', allowed, [uri]);
    const denied = ['u-alice', 'u-bob', 'u-carol'].find((s) => !visibleTo.includes(s)) as string;
    const b = await rig.connect('conn-denied', denied, [uri]);
    await rig.subscribe(`task:${id}`, 'conn-allowed', uri);
    await rig.subscribe(`task:${id}`, 'conn-denied', uri);
    const publisher = createQueuePublisher({ queueUrl: rig.env.UPDATE_QUEUE_URL as string, sqs: rig.emulators.sqs });
    await rig.product.editTask(id, allowed, { title: 'Secret plan, revised' });
    await publisher.publish({ resource: `task:${id}` });

    const handler = rig.newHandler();
    const stats = () => rig.sim.simulator.stats().connections;
    await runUntil(
      rig,
      handler,
      () =>
        stats().filter((c) => [a.simConnectionId, b.simConnectionId].includes(c.connectionId) && c.calls > 0).length ===
        2,
    );
    const preview = (simId: string) =>
      rig.sim.simulator
        .session(rig.sim.simulator.connection(simId)?.sessionId ?? '')
        ?.previews.find((p) => p.uri === uri);
    expect(JSON.stringify(preview(a.simConnectionId)?.card)).toContain('Secret plan, revised');
    expect(preview(b.simConnectionId)?.error).toMatchObject({ status: 403 });
    expect(JSON.stringify(preview(b.simConnectionId))).not.toContain('Secret plan');
  }, 25_000);

  it('a subscription written in the instant its connection ended is removed when a change reaches it (ADR 0114)', async () => {
    const uri = rig.taskUrl('3');
    await rig.connect('conn-ended', 'u-alice', [uri]);
    await rig.connect('conn-live', 'u-bob', [uri]);
    await connectionStore(rig.config).end('conn-ended', { status: 'revoked', reason: 'revoked', now: Date.now() });
    // The unfurl that raced the end wrote its subscription after the end removed the others.
    await rig.subscribe('task:3', 'conn-ended', uri);
    await rig.subscribe('task:3', 'conn-live', uri);
    await rig.product.editTask('3', 'u-bob', { title: 'Seen by the live connection only' });
    await publishChange(rig, 'task:3');

    await runUntil(
      rig,
      rig.newHandler(),
      async () => (await subscriptionStore(rig.config).get('task:3', 'conn-ended', uri)) === undefined,
    );
    expect(await subscriptionStore(rig.config).listByConnection('conn-ended')).toEqual([]);
    expect(await subscriptionStore(rig.config).get('task:3', 'conn-live', uri)).toBeDefined();
    expect(rig.events.filter((e) => e.event === 'subscription_dropped').map((e) => e.data)).toContainEqual(
      expect.objectContaining({ connectionId: 'conn-ended', code: 'connection_ended' }),
    );
  }, 25_000);

  it('401 from Notion disconnects the connection and removes its subscriptions; 404 drops one subscription', async () => {
    const uri = rig.taskUrl('2');
    const gone = await rig.connect('conn-revoked', 'u-alice', [uri]);
    const kept = await rig.connect('conn-kept', 'u-bob', [uri]);
    await rig.subscribe('task:2', 'conn-revoked', uri);
    await rig.subscribe('task:4', 'conn-revoked', rig.taskUrl('4'));
    await rig.subscribe('task:2', 'conn-kept', uri);
    await rig.subscribe('task:2', 'conn-kept', `${uri}?view=full`);
    rig.sim.simulator.revokeConnection(gone.simConnectionId);
    // conn-kept has a preview of `uri` but not of `uri?view=full`: that one answers 404.
    await rig.product.editTask('2', 'u-alice', { title: 'Changed for clean-up' });
    await publishChange(rig, 'task:2');

    const handler = rig.newHandler();
    await runUntil(
      rig,
      handler,
      async () =>
        (await connectionStore(rig.config).get('conn-revoked'))?.status === 'disconnected' &&
        (await subscriptionStore(rig.config).get('task:2', 'conn-kept', `${uri}?view=full`)) === undefined,
    );

    const revoked = await connectionStore(rig.config).get('conn-revoked');
    expect(revoked?.status).toBe('disconnected');
    expect(revoked?.notionTokenCiphertext).toBeUndefined();
    expect(await subscriptionStore(rig.config).listByConnection('conn-revoked')).toEqual([]);
    expect(await subscriptionStore(rig.config).get('task:2', 'conn-kept', uri)).toBeDefined();
    expect(JSON.stringify(rig.sim.simulator.lastPayload(uri))).toContain('Changed for clean-up');
    expect(kept.connection.status).toBe('active');
  }, 25_000);
});
