/**
 * The real worker (as Lambda builds it from its settings) writes the delivery
 * log while pushing to the Notion simulator, and `npm run deliveries` shows it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { onMetric } from '#shared/observability.js';
import { main } from '../../../scripts/deliveries.js';
import { publishChange, type Rig, runUntil, startRig } from '../updates/rig.js';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig({ env: { COALESCE_WINDOW_SECONDS: '1' } });
}, 20_000);

afterAll(async () => {
  await rig?.stop();
});

describe('delivery log in the update pipeline', () => {
  it("each PATCH to Notion is logged for its connection with Notion's answer, and counted", async () => {
    const uri = rig.taskUrl('1');
    const alice = await rig.connect('conn-log-alice', 'u-alice', [uri]);
    await rig.subscribe('task:1', 'conn-log-alice', uri);
    await rig.product.editTask('1', 'u-alice', { title: 'Logged edit' });
    await publishChange(rig, 'task:1');
    const seen: string[] = [];
    const off = onMetric((name, dimensions) => seen.push(`${name} ${JSON.stringify(dimensions)}`));
    const calls = () =>
      rig.sim.simulator.stats().connections.find((c) => c.connectionId === alice.simConnectionId)?.calls ?? 0;
    await runUntil(rig, rig.newHandler(), () => calls() >= 1).finally(off);
    // Notion's answer, counted by status (the rig records the worker's other events itself).
    expect(seen).toEqual(['NotionResponse {"operation":"patch_external_object","status":"200"}']);

    const lines: string[] = [];
    const code = await main(['conn-log-alice', '--endpoint', rig.emulators.dynamodbEndpoint, '--json'], rig.env, (t) =>
      lines.push(t),
    );
    expect(code).toBe(0);
    const log = JSON.parse(lines.join('')) as Array<Record<string, unknown>>;
    expect(log).toHaveLength(calls());
    expect(log[0]).toMatchObject({
      connectionId: 'conn-log-alice',
      resource: 'task:1',
      uri,
      status: 200,
      action: 'done',
    });
  }, 30_000);
});
