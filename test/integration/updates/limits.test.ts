/**
 * The per-connection token bucket lives in DynamoDB, so it holds across
 * concurrent worker invocations: two independent workers fanning out the same
 * connection's subscriptions together stay within one bucket's budget.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { notionBucketPolicy } from '#core/updates/policy.js';
import { pollOnce, publishChange, type Rig, startRig } from './rig.js';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig({ env: { COALESCE_WINDOW_SECONDS: '1' } });
}, 20_000);

afterAll(async () => {
  await rig?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('rate limit across concurrent invocations (dynalite bucket)', () => {
  it('two workers together never exceed the bucket: burst + sustained rate × elapsed time', async () => {
    const RATE = 120;
    const policy = notionBucketPolicy(RATE);
    const uris = Array.from({ length: 40 }, (_, i) => `${rig.taskUrl('1')}?n=${i}`);
    const { simConnectionId } = await rig.connect('conn-busy', 'u-alice', uris);
    for (const uri of uris) await rig.subscribe('task:1', 'conn-busy', uri);
    // Small pages so that both workers get work items of the same connection at once.
    const settings = { ratePerMinute: RATE, pageSize: 5 };
    const workers = [rig.newHandler(settings), rig.newHandler(settings)];
    await publishChange(rig, 'task:1');

    const calls = () =>
      rig.sim.simulator.stats().connections.find((c) => c.connectionId === simConnectionId)?.calls ?? 0;
    let firstCallAt: number | undefined;
    let stop = false;
    const loop = async (handler: (typeof workers)[number]) => {
      while (!stop) {
        if ((await pollOnce(rig, handler)) === 0) await sleep(50);
        if (firstCallAt === undefined && calls() > 0) firstCallAt = Date.now();
      }
    };
    const running = workers.map(loop);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (firstCallAt === undefined || Date.now() - firstCallAt < 6_000)) await sleep(100);
    stop = true;
    await Promise.all(running);

    // The span between the first and the last PATCH as Notion saw them.
    const session = rig.sim.simulator.connection(simConnectionId)?.sessionId;
    const times = rig.sim.simulator.log
      .all()
      .filter((e) => e.direction === 'to-notion' && e.url === '/notion/v1/external/object' && e.sessionId === session)
      .map((e) => Date.parse(e.at));
    const spanMs = Math.max(...times) - Math.min(...times);
    const sent = calls();
    expect(times).toHaveLength(sent);
    const allowed = policy.capacity + (spanMs * policy.capacity) / policy.periodMs + 1;
    expect(sent).toBeGreaterThan(policy.capacity);
    expect(sent).toBeLessThanOrEqual(allowed);
    expect(sent).toBeLessThan(uris.length);
    expect(rig.sim.simulator.stats().connections.find((c) => c.connectionId === simConnectionId)?.rateLimited).toBe(0);
    expect(rig.events.filter((e) => e.event === 'push_throttled').length).toBeGreaterThan(0);
  }, 25_000);
});
