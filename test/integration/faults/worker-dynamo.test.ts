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
  // A store failure before a push backs off that subscription alone (docs/adr/0176): on the deployed schedule
  // (5 s, doubling) a subscription throttled twice would wait past the test's window, so the base is short here.
  rig = await startRig({
    env: { COALESCE_WINDOW_SECONDS: '1' },
    visibilityTimeoutSeconds: 1,
    maxReceiveCount: 10,
    settings: { backoffBaseMs: 200 },
  });
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

/**
 * The write that records the pushes Notion accepted: since docs/adr/0118, the `pushed:<messageId>#<receiveCount>`
 * marker a delivery writes when its work item is done. (The UpdateItem on the subscription is the claim, written
 * before the PATCH, or its release; neither records an accepted push.)
 */
const isPushRecord = (call: DynamoCall): boolean =>
  call.table === rig.config.tables.authState &&
  /^Put/.test(call.command) &&
  String(call.key?.pk ?? '').startsWith('marker#pushed:');

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

  it('the record of an accepted push throttled and its delivery redelivered: the push is repeated at most once, with the identical payload, then recorded', async () => {
    const { uri, sims } = await subscribers(rig, 'rec', '6', 3);
    expect(
      (await rig.product.editTask('6', 'u-alice', { title: 'Record write throttled' })).changed.length,
    ).toBeGreaterThan(0);
    const eventsBefore = rig.events.length;
    let hits = 0;
    faults.rule = (call) => (isPushRecord(call) && hits++ < 1 ? 'throttle' : undefined);
    await publishChange(rig, 'task:6');
    const real = rig.newHandler();
    let crashed = false;
    // A lost record matters only when the message comes back: the invocation that lost it dies before acknowledging.
    const crashing: typeof real = async (event, context) => {
      const result = await real(event, context);
      if (hits > 0 && !crashed) {
        crashed = true;
        throw new Error('worker crashed after the batch');
      }
      return result;
    };
    const run = await deliverUntil(rig, [crashing], allRecorded(observer, '6', 3, new Map()));
    expect(run.crashes).toBe(1);
    expect(faults.injected.filter(isPushRecord)).toHaveLength(1);
    // Without the record the redelivery could not tell the pushes done, so it took them over; then it wrote its record.
    expect(rig.events.slice(eventsBefore).filter((e) => e.event === 'push_lease_taken_over').length).toBeGreaterThan(0);
    expect(hits).toBeGreaterThanOrEqual(2);
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
