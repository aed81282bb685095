/**
 * Faults on real local parts: Notion's 429 with Retry-After, 5xx until the
 * subscription is dead-lettered, poison messages, and `npm run redrive`.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { subscriptionStore } from '#adapters/dynamo/factory.js';
import { redriveDeadLetters } from '../../../scripts/redrive.js';
import { drainDeadLetters, publishChange, type Rig, runUntil, sendRaw, startRig } from './rig.js';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig({ env: { COALESCE_WINDOW_SECONDS: '1' } });
}, 20_000);

afterAll(async () => {
  await rig?.stop();
});

describe('faults (fauxqs + dynalite + Notion simulator)', () => {
  it("honours Notion's Retry-After: after a 429 the connection sends nothing until it has passed", async () => {
    const uris = Array.from({ length: 6 }, (_, i) => `${rig.taskUrl('5')}?copy=${i}`);
    const { simConnectionId } = await rig.connect('conn-429', 'u-alice', uris);
    for (const uri of uris) await rig.subscribe('task:5', 'conn-429', uri);
    rig.sim.simulator.configure({ api: { rateLimit: 3, rateWindowSeconds: 2 } });
    rig.sim.simulator.log.clear();
    try {
      // Our own bucket is far above Notion's budget here, so Notion's 429 is what paces the pushes.
      const handler = rig.newHandler({ ratePerMinute: 100_000, concurrency: 1 });
      await publishChange(rig, 'task:5');
      const stats = () => rig.sim.simulator.stats().connections.find((c) => c.connectionId === simConnectionId);
      await runUntil(rig, handler, () => (stats()?.byStatus[200] ?? 0) >= 6);

      const entries = rig.sim.simulator.log
        .all()
        .filter((e) => e.direction === 'to-notion' && e.url === '/notion/v1/external/object' && e.status !== undefined)
        .filter((e) => JSON.stringify(e.request?.body ?? '').includes('copy='));
      const limited = entries.filter((e) => e.status === 429);
      expect(limited.length).toBeGreaterThanOrEqual(1);
      for (const entry of limited) {
        const retryAfterMs = Number(entry.response?.headers?.['retry-after']) * 1000;
        expect(retryAfterMs).toBeGreaterThan(0);
        const next = entries.find((e) => e.seq > entry.seq);
        if (next) expect(Date.parse(next.at) - Date.parse(entry.at)).toBeGreaterThanOrEqual(retryAfterMs - 50);
      }
      expect(stats()?.byStatus[200]).toBe(6);
      expect(rig.events.some((e) => e.event === 'push_rate_limited' && e.data.connectionId === 'conn-429')).toBe(true);
    } finally {
      rig.sim.simulator.configure({ api: { rateLimit: 180, rateWindowSeconds: 60 } });
    }
  }, 25_000);

  it('a poison message and a subscription Notion keeps failing reach the DLQ with their reasons; redrive replays them', async () => {
    const uri = rig.taskUrl('6');
    const { simConnectionId } = await rig.connect('conn-503', 'u-alice', [uri]);
    await rig.subscribe('task:6', 'conn-503', uri);
    rig.sim.simulator.configure({ api: { faults: { unavailableRate: 1 } } });
    const handler = rig.newHandler({ maxAttempts: 3, backoffBaseMs: 200 });
    await sendRaw(rig, '{"type":"change","id":"no-target","changed_at":"2026-01-15T12:00:00Z"}');
    await publishChange(rig, 'task:6');
    await runUntil(rig, handler, () => true);

    const letters = (await drainDeadLetters(rig)) as Array<{
      type: string;
      reason: string;
      detail: string;
      message: unknown;
    }>;
    const reasons = letters.map((l) => l.reason).sort();
    expect(reasons).toEqual(['invalid_message', 'notion_unavailable']);
    expect(letters.find((l) => l.reason === 'invalid_message')?.detail).toContain('"uri" or "resource"');
    expect(letters.find((l) => l.reason === 'notion_unavailable')).toMatchObject({
      type: 'dead-letter',
      detail: 'service_unavailable',
      message: { type: 'push', resource: 'task:6', targets: [{ connectionId: 'conn-503', uri }] },
    });
    const calls = rig.sim.simulator.stats().connections.find((c) => c.connectionId === simConnectionId);
    expect(calls?.byStatus[503]).toBe(3);

    // Back into the DLQ as they were, fix Notion, replay: the push goes through; the poison message is dead-lettered again.
    for (const letter of letters) {
      await rig.emulators.sqs.send(
        new SendMessageCommand({ QueueUrl: rig.env.UPDATE_DLQ_URL as string, MessageBody: JSON.stringify(letter) }),
      );
    }
    rig.sim.simulator.configure({ api: { faults: { unavailableRate: 0 } } });
    const report = await redriveDeadLetters({
      sqs: rig.emulators.sqs,
      deadLetterQueueUrl: rig.env.UPDATE_DLQ_URL as string,
      queueUrl: rig.env.UPDATE_QUEUE_URL as string,
    });
    expect(report).toEqual({
      replayed: 2,
      reasons: { invalid_message: 1, notion_unavailable: 1 },
      inFlight: 0,
      kept: 0,
    });
    await runUntil(
      rig,
      handler,
      async () => (await subscriptionStore(rig.config).get('task:6', 'conn-503', uri))?.contentHash !== undefined,
    );
    expect(rig.sim.simulator.stats().connections.find((c) => c.connectionId === simConnectionId)?.byStatus[200]).toBe(
      1,
    );
    const again = (await drainDeadLetters(rig)) as Array<{ reason: string }>;
    expect(again.map((l) => l.reason)).toEqual(['invalid_message']);
  }, 25_000);
});
