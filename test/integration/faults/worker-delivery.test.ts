/**
 * Delivery faults around the update worker on real local parts (dynalite,
 * fauxqs, the Notion simulator, the demo product): SQS delivering a batch to
 * two workers at once (so the conditional writes race for real), and an
 * invocation that crashes after its work but before acknowledging. Every change ends delivered (or dead-lettered with a
 * reason); nothing is lost and no uri gets the same content twice.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Config, parseConfig } from '#shared/config.js';
import { drainDeadLetters, publishChange, type Rig, startRig } from '../updates/rig.js';
import { allRecorded, deliverUntil, expectEachPushedOnce, subscribers } from './support.js';

let rig: Rig;
/** The test's own reads go through a client of their own, which no fault touches. */
let observer: Config;

beforeAll(async () => {
  rig = await startRig({ env: { COALESCE_WINDOW_SECONDS: '1' }, visibilityTimeoutSeconds: 1, maxReceiveCount: 10 });
  observer = parseConfig(rig.env);
}, 20_000);

afterAll(async () => {
  await rig?.stop();
});

describe('update worker under delivery faults', () => {
  it('SQS hands every batch to two workers at once: conditional writes decide, each subscriber is pushed once', async () => {
    const { sims } = await subscribers(rig, 'dup', '3', 5);
    expect(
      (await rig.product.editTask('3', 'u-alice', { title: 'Delivered twice at once' })).changed.length,
    ).toBeGreaterThan(0);
    await publishChange(rig, 'task:3');
    const a = rig.newHandler();
    const b = rig.newHandler();
    await deliverUntil(rig, [a, b], allRecorded(observer, '3', 5, new Map()), { copies: 2 });
    expectEachPushedOnce(rig, sims, 'Delivered twice at once');
    expect(await drainDeadLetters(rig)).toEqual([]);
  }, 25_000);

  it('an invocation that crashes after its work but before acknowledging: the redelivered batch pushes nothing again', async () => {
    const { sims } = await subscribers(rig, 'crash', '1', 4);
    expect(
      (await rig.product.editTask('1', 'u-alice', { title: 'Crashed before the ack' })).changed.length,
    ).toBeGreaterThan(0);
    await publishChange(rig, 'task:1');
    const real = rig.newHandler();
    let crashes = 0;
    // Every second invocation does the whole batch, then dies before reporting (Lambda: runtime error, nothing deleted).
    const crashing: typeof real = async (event, context) => {
      const result = await real(event, context);
      crashes += 1;
      if (crashes % 2 === 1) throw new Error('worker crashed after the batch');
      return result;
    };
    const run = await deliverUntil(rig, [crashing], allRecorded(observer, '1', 4, new Map()));
    expect(run.crashes).toBeGreaterThan(0);
    expectEachPushedOnce(rig, sims, 'Crashed before the ack');
    expect(await drainDeadLetters(rig)).toEqual([]);
  }, 25_000);
});
