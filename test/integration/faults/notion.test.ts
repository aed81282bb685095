/**
 * Notion misbehaving in every way at once (529 service_overload, 503, answers
 * slower than our timeout), on real local parts: every subscriber ends either
 * delivered or in the dead-letter queue with a reason, nothing is lost, and no
 * uri ever receives two different states for one edit (a repeat after a
 * timeout is the identical full replace). The 429 and all-503 cases are in
 * test/integration/updates/faults.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { subscriptionStore } from '#adapters/dynamo/factory.js';
import { type Config, parseConfig } from '#shared/config.js';
import { drainDeadLetters, publishChange, type Rig, startRig } from '../updates/rig.js';
import { acceptedBy, deliverUntil, pushLedger } from './support.js';

/** Subscribers of the edit: 8 in `npm test`, more with FAULT_SUBSCRIBERS or `npm run faults:long` (60). */
const subscribersWanted = (): number => {
  const n = Number.parseInt(process.env.FAULT_SUBSCRIBERS ?? '', 10);
  if (Number.isFinite(n) && n > 0) return n;
  return process.env.npm_lifecycle_event === 'faults:long' ? 60 : 8;
};
const N = subscribersWanted();
const MAX_ATTEMPTS = 6;
const SETTLE_MS = 18_000 + Math.max(0, N - 8) * 1_000;

let rig: Rig;
let observer: Config;

beforeAll(async () => {
  rig = await startRig({
    env: { COALESCE_WINDOW_SECONDS: '1', NOTION_TIMEOUT_MS: '250' },
    visibilityTimeoutSeconds: 1,
    maxReceiveCount: 10,
  });
  observer = parseConfig(rig.env);
}, 20_000);

afterAll(async () => {
  await rig?.stop();
});

interface DeadLetter {
  readonly type: string;
  readonly reason: string;
  readonly detail?: string;
  readonly message?: { targets?: Array<{ connectionId: string; uri: string }> };
}

describe('Notion overloaded, failing and slow', () => {
  it(
    'every subscriber ends delivered or dead-lettered with a reason; one state per uri',
    async () => {
      const uri = rig.taskUrl('3');
      const sims: string[] = [];
      for (let i = 0; i < N; i++) {
        const { simConnectionId } = await rig.connect(`chaos-${i}`, 'u-alice', [uri]);
        sims.push(simConnectionId);
        await rig.subscribe('task:3', `chaos-${i}`, uri);
      }
      expect(
        (await rig.product.editTask('3', 'u-alice', { title: 'Through the storm' })).changed.length,
      ).toBeGreaterThan(0);
      rig.sim.simulator.configure({
        api: { faults: { overloadRate: 0.3, unavailableRate: 0.2, slowRate: 0.2, slowMs: 600 } },
      });
      await publishChange(rig, 'task:3');
      const letters: DeadLetter[] = [];
      const settled = async () => {
        letters.push(...((await drainDeadLetters(rig)) as DeadLetter[]));
        const dead = new Set(letters.flatMap((l) => (l.message?.targets ?? []).map((t) => t.connectionId)));
        const subs = (await subscriptionStore(observer).listByResource('task:3')).items;
        return subs.every((s) => s.contentHash !== undefined || dead.has(s.connectionId));
      };
      try {
        await deliverUntil(rig, [rig.newHandler({ backoffBaseMs: 100, maxAttempts: MAX_ATTEMPTS })], settled, {
          timeoutMs: SETTLE_MS,
        });
      } catch (error) {
        const subs = (await subscriptionStore(observer).listByResource('task:3')).items;
        throw new Error(
          `${(error as Error).message}; letters ${JSON.stringify(letters.map((l) => l.reason))}; recorded ${subs.filter((s) => s.contentHash).length}/${subs.length}; events ${rig.events
            .slice(-12)
            .map((e) => `${e.event} ${JSON.stringify(e.data)}`)
            .join(' | ')}`,
        );
      } finally {
        rig.sim.simulator.configure({ api: { faults: { overloadRate: 0, unavailableRate: 0, slowRate: 0 } } });
      }

      const statuses = rig.sim.simulator.stats().byStatus;
      expect((statuses[529] ?? 0) + (statuses[503] ?? 0)).toBeGreaterThan(0);
      process.stdout.write(
        `notion faults: PATCH answers ${JSON.stringify(statuses)}, dead letters ${letters.length}\n`,
      );

      // Nothing lost: each subscriber was delivered or named in a dead letter with a reason.
      const subs = (await subscriptionStore(observer).listByResource('task:3')).items;
      expect(subs).toHaveLength(N);
      const dead = new Set(letters.flatMap((l) => (l.message?.targets ?? []).map((t) => t.connectionId)));
      for (const s of subs) expect(s.contentHash !== undefined || dead.has(s.connectionId)).toBe(true);
      for (const l of letters) {
        expect(l.type).toBe('dead-letter');
        expect(l.reason).toMatch(/^[a-z_]+$/);
      }

      // Never two states for one edit. A PATCH whose answer was slower than NOTION_TIMEOUT_MS (250 ms against
      // 600 ms) may still have been applied, so a delivered subscriber got the same full replace at least once
      // and at most once per attempt.
      const accepted = [...pushLedger(rig).keys()].filter((p) => p.includes('Through the storm'));
      expect(accepted).toHaveLength(1);
      for (const s of subs) {
        const sim = sims[Number(s.connectionId.split('-')[1])] as string;
        if (s.contentHash !== undefined) expect(acceptedBy(rig, sim)).toBeGreaterThanOrEqual(1);
        expect(acceptedBy(rig, sim)).toBeLessThanOrEqual(MAX_ATTEMPTS);
      }
      // The faults were felt: pushes were retried.
      expect(rig.events.some((e) => e.event === 'push_retry_scheduled' || e.event === 'push_rate_limited')).toBe(true);
    },
    SETTLE_MS + 7_000,
  );
});
