/**
 * DynamoDB faults around the update worker on real local parts (dynalite,
 * fauxqs, the Notion simulator, the demo product), injected by an AWS SDK
 * middleware: throttling mid-pipeline, and throttling of the one write that
 * records a push Notion already accepted. Every change ends delivered (or dead-lettered with a
 * reason); nothing is lost and no uri gets the same content twice.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { documentClient } from '#adapters/dynamo/factory.js';
import { type Config, parseConfig } from '#shared/config.js';
import { drainDeadLetters, publishChange, type Rig, startRig } from '../updates/rig.js';
import { type DynamoCall, everyNth, type FaultInjector, injectDynamoFaults } from './inject.js';
import { acceptedBy, allRecorded, deliverUntil, expectEachPushedOnce, pushLedger, subscribers } from './support.js';

const SEED = Number.parseInt(process.env.FUZZ_SEED ?? '', 10) || 20260115;
let rig: Rig;
let faults: FaultInjector;
/** The test's own reads go through a client of their own, which no fault touches. */
let observer: Config;

beforeAll(async () => {
  rig = await startRig({ env: { COALESCE_WINDOW_SECONDS: '1' }, visibilityTimeoutSeconds: 1, maxReceiveCount: 10 });
  faults = injectDynamoFaults(documentClient(rig.config));
  observer = parseConfig(rig.env);
}, 20_000);

afterEach(() => {
  faults.rule = () => undefined;
});

afterAll(async () => {
  faults?.remove();
  await rig?.stop();
});

/** The write that records a push Notion accepted (SubscriptionStore.recordPush). */
const isPushRecord = (call: DynamoCall): boolean =>
  call.table === rig.config.tables.subscriptions && /^Update/.test(call.command);

describe('update worker under DynamoDB faults', () => {
  it('DynamoDB throttling mid-pipeline: every subscriber gets the edit exactly once, nothing dead-lettered', async () => {
    const { sims } = await subscribers(rig, 'thr', '2', 6);
    expect(
      (await rig.product.editTask('2', 'u-alice', { title: 'Edited under throttling' })).changed.length,
    ).toBeGreaterThan(0);
    const pick = everyNth(SEED, 0.3);
    // A burst of throttling (about 30 % of calls, after the SDK's retries) that ends after 15 faults; every call
    // may fail except the one write that records a push Notion has already accepted (the next test's window).
    faults.rule = (call) => (faults.injected.length < 15 && pick(call) && !isPushRecord(call) ? 'throttle' : undefined);
    await publishChange(rig, 'task:2');
    const handler = rig.newHandler();
    const run = await deliverUntil(rig, [handler], allRecorded(observer, '2', 6, new Map()));
    expect(faults.injected.length).toBeGreaterThan(0);
    expect(run.batches).toBeGreaterThan(1);
    expectEachPushedOnce(rig, sims, 'Edited under throttling');
    expect(await drainDeadLetters(rig)).toEqual([]);
  }, 25_000);

  it('the record of an accepted push throttled: the push is repeated at most once, with the identical payload, then recorded', async () => {
    const { uri, sims } = await subscribers(rig, 'rec', '6', 3);
    expect(
      (await rig.product.editTask('6', 'u-alice', { title: 'Record write throttled' })).changed.length,
    ).toBeGreaterThan(0);
    let hits = 0;
    faults.rule = (call) => (isPushRecord(call) && hits++ < 3 ? 'throttle' : undefined);
    await publishChange(rig, 'task:6');
    await deliverUntil(rig, [rig.newHandler()], allRecorded(observer, '6', 3, new Map()));
    expect(hits).toBeGreaterThanOrEqual(3);
    for (const sim of sims) expect(acceptedBy(rig, sim)).toBeLessThanOrEqual(2);
    const payloads = [...pushLedger(rig).entries()].filter(([p]) => p.includes('Record write throttled'));
    // One distinct payload for the uri: a repeat is the same full replace, harmless to Notion (docs/adr/0073).
    expect(payloads.filter(([p]) => p.includes(uri))).toHaveLength(1);
    expect(await drainDeadLetters(rig)).toEqual([]);
  }, 25_000);

  it('throttling that never ends: the work is dead-lettered with its reason on the last receive, nothing pushed', async () => {
    const { sims } = await subscribers(rig, 'dead', '6', 2);
    expect(
      (await rig.product.editTask('6', 'u-alice', { title: 'Never gets through' })).changed.length,
    ).toBeGreaterThan(0);
    faults.rule = (call) =>
      call.table === rig.config.tables.subscriptions && /^Query/.test(call.command) ? 'throttle' : undefined;
    await publishChange(rig, 'task:6');
    const letters: Array<{
      type: string;
      reason: string;
      detail: string;
      message: { type?: string; resource?: string };
    }> = [];
    await deliverUntil(rig, [rig.newHandler({ maxReceiveCount: 3 })], async () => {
      letters.push(...((await drainDeadLetters(rig)) as typeof letters));
      return letters.length > 0;
    });
    expect(letters).toEqual([
      expect.objectContaining({
        type: 'dead-letter',
        reason: 'failed_repeatedly',
        detail: expect.stringContaining('ProvisionedThroughputExceededException'),
        message: expect.objectContaining({ resource: 'task:6' }),
      }),
    ]);
    for (const sim of sims) expect(acceptedBy(rig, sim)).toBe(0);
  }, 25_000);
});
