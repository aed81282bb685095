/**
 * What the worker does with Notion's other answers, against the simulator (docs/protocol.md#decisions):
 * the workspace-wide 429 pauses every connection of the workspace; `public_api_request_blocked` and
 * a 400 are recorded and not retried.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseConfig } from '#shared/config.js';
import { lambdaContext } from '#test/helpers/factories.js';
import { createWorkerHandler, workerFromConfig } from '../../../functions/handlers/update-worker.js';
import { drainDeadLetters, publishChange, type Rig, receive, runUntil, startRig, toRecord } from './rig.js';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig({ env: { COALESCE_WINDOW_SECONDS: '1' } });
}, 20_000);

afterAll(async () => {
  await rig?.stop();
});

const patches = (marker: string) =>
  rig.sim.simulator.log
    .all()
    .filter((e) => e.direction === 'to-notion' && e.url === '/notion/v1/external/object' && e.status !== undefined)
    .filter((e) => JSON.stringify(e.request?.body ?? '').includes(marker));

describe("Notion's answers to a push (fauxqs + dynalite + Notion simulator)", () => {
  it('a workspace-wide 429 pauses every connection of the workspace until Retry-After has passed', async () => {
    const uris = (who: string) => Array.from({ length: 3 }, (_, i) => `${rig.taskUrl('7')}?ws=${who}${i}`);
    const a = await rig.connect('conn-ws-a', 'u-alice', uris('a'));
    const b = await rig.connect('conn-ws-b', 'u-alice', uris('b'));
    expect(a.connection.notion.workspaceId).toBe(b.connection.notion.workspaceId);
    for (const uri of uris('a')) await rig.subscribe('task:7', 'conn-ws-a', uri);
    for (const uri of uris('b')) await rig.subscribe('task:7', 'conn-ws-b', uri);
    rig.sim.simulator.configure({ api: { workspaceRateLimit: 2, workspaceRateWindowSeconds: 2 } });
    try {
      const handler = rig.newHandler({ ratePerMinute: 100_000, concurrency: 1 });
      await publishChange(rig, 'task:7');
      const ok = () => patches('ws=').filter((e) => e.status === 200).length;
      await runUntil(rig, handler, () => ok() >= 6);

      const entries = patches('ws=');
      const limited = entries.filter((e) => e.status === 429);
      expect(limited.length).toBeGreaterThanOrEqual(1);
      for (const entry of limited) {
        expect(entry.response?.body).toMatchObject({
          additional_data: { rate_limit_reason: 'public_api_space_request_rate_limit' },
        });
        const retryAfterMs = Number(entry.response?.headers?.['retry-after']) * 1000;
        // No connection of the workspace sends anything before Retry-After, not only the one refused.
        const next = entries.find((e) => e.seq > entry.seq);
        if (next) expect(Date.parse(next.at) - Date.parse(entry.at)).toBeGreaterThanOrEqual(retryAfterMs - 50);
      }
      expect(ok()).toBe(6);
      expect(rig.events.some((e) => e.event === 'push_rate_limited' && e.data.scope === 'workspace')).toBe(true);
    } finally {
      rig.sim.simulator.configure({ api: { workspaceRateLimit: 0, workspaceRateWindowSeconds: 60 } });
    }
  }, 25_000);

  it('public_api_request_blocked is recorded and not retried', async () => {
    const uri = `${rig.taskUrl('8')}?blocked=1`;
    const { simConnectionId } = await rig.connect('conn-blocked', 'u-alice', [uri]);
    await rig.subscribe('task:8', 'conn-blocked', uri);
    rig.sim.simulator.configure({ api: { faults: { blocked: true } } });
    try {
      const handler = rig.newHandler({ maxAttempts: 3, backoffBaseMs: 200 });
      await publishChange(rig, 'task:8');
      await runUntil(rig, handler, () => patches('blocked=1').length >= 1);
      const calls = rig.sim.simulator.stats().connections.find((c) => c.connectionId === simConnectionId);
      expect(calls?.byStatus).toEqual({ 429: 1 });
      expect(rig.events.some((e) => e.event === 'push_blocked' && e.data.connectionId === 'conn-blocked')).toBe(true);
      expect(await drainDeadLetters(rig)).toEqual([]);
    } finally {
      rig.sim.simulator.configure({ api: { faults: { blocked: false } } });
    }
  }, 25_000);

  it('a Notion that does not answer never keeps an invocation past its deadline: what does not fit is deferred', async () => {
    // Scaled down from a deployment (30 s invocation, 10 s Notion timeout, 2 s source deadline, 5 s reserve).
    const uris = Array.from({ length: 5 }, (_, i) => `${rig.taskUrl('9')}?slow=${i}`);
    for (const [i, uri] of uris.entries()) {
      await rig.connect(`conn-slow-${i}`, 'u-alice', [uri]);
      await rig.subscribe('task:9', `conn-slow-${i}`, uri);
    }
    const config = parseConfig({ ...rig.env, NOTION_TIMEOUT_MS: '1000', UNFURL_DEADLINE_MS: '500' });
    const handler = createWorkerHandler(() =>
      workerFromConfig(config, { settings: { concurrency: 1, reserveMs: 500 } }),
    );
    rig.sim.simulator.configure({ api: { faults: { slowRate: 1, slowMs: 3_000 } } });
    try {
      const flush = JSON.stringify({ type: 'flush', resource: 'task:9', window: 'w-slow', until: Date.now() });
      const deadline = Date.now() + 4_000;
      const res = await handler(
        { Records: [toRecord({ MessageId: 'slow-1', Body: flush })] },
        lambdaContext({ getRemainingTimeInMillis: () => deadline - Date.now() }),
      );
      // The record ended with the reserve left, so nothing of the batch is lost to a Lambda timeout.
      expect(deadline - Date.now()).toBeGreaterThanOrEqual(500);
      expect(res.batchItemFailures).toEqual([]);
      // Timed-out pushes back off; those not started are deferred at once, with no failed attempt counted.
      const pushes = (await receive(rig))
        .map((m) => JSON.parse(m.Body ?? '{}') as { type: string; targets?: Array<{ attempt?: number }> })
        .filter((m) => m.type === 'push');
      const targets = pushes.flatMap((m) => m.targets ?? []);
      expect(targets.filter((t) => t.attempt === undefined).length).toBeGreaterThan(0);
    } finally {
      rig.sim.simulator.configure({ api: { faults: { slowRate: 0, slowMs: 0 } } });
    }
  }, 25_000);
});
