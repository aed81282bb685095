/**
 * The update worker's figures against the Notion simulator, on one fake clock
 * shared by the worker, its token bucket and Notion's rate windows:
 *
 * - fan-out: 1,000 subscribers of one connection after one change. Share of
 *   Notion's allowed rate used, share of calls answered 429, simulated time to
 *   notify everyone against the floor 1000 / rate, and the worker's own time
 *   per queue record (wall time of `processRecord` minus the time a PATCH was
 *   in flight and the time spent rendering);
 * - coalescing: 100 changes to one resource within one window → pushes per
 *   subscriber.
 *
 * The worker core (functions/core/updates) runs with the in-memory stores
 * (which follow the DynamoDB ones' contract), the real AES token cipher and
 * the real PATCH adapter over HTTP to the simulator on 127.0.0.1. Delayed
 * queue messages become visible when the fake clock reaches them; the clock
 * jumps to the next visible message, so minutes of Notion time take seconds.
 */
import { performance } from 'node:perf_hooks';
import { decodeLocalKey, LocalTokenCipher } from '#adapters/crypto/token-cipher.js';
import { createMemoryStores } from '#adapters/memory/index.js';
import { createExternalObjectClient } from '#adapters/notion/external-object.js';
import type { ExternalObjectApi, Rendered, Renderer } from '#core/updates/ports.js';
import { createUpdateWorker } from '#core/updates/worker.js';
import { ENV } from '#lib/env-names.js';
import { localDefaults } from '#local/defaults.js';
import { ManualClock } from '#local/notion-simulator/clock.js';
import { systemRandom } from '#shared/crypto.js';
import { benchConnection, startRateLimitedSimulator } from './fixtures.js';
import { round } from './stats.js';

export interface WorkerFigures {
  readonly ratePerMinute: number;
  readonly fanOut: {
    readonly subscribers: number;
    readonly pushesAccepted: number;
    readonly patchCalls: number;
    readonly rateLimited: number;
    /** rateLimited / patchCalls. */
    readonly rateLimitedShare: number;
    /** Accepted pushes per minute over the fan-out ÷ Notion's limit per minute. */
    readonly rateShareUsed: number;
    /** From the end of the coalescing window to the last accepted push, simulated. */
    readonly timeToNotifyMs: number;
    /** subscribers / rate, the least time Notion's limit allows. */
    readonly floorMs: number;
    readonly timeToFloorRatio: number;
    readonly subscribersNotifiedOnce: number;
  };
  readonly coalescing: {
    readonly changes: number;
    readonly windowSeconds: number;
    readonly subscribers: number;
    readonly maxPushesPerSubscriber: number;
    readonly minPushesPerSubscriber: number;
  };
  readonly overhead: {
    readonly records: number;
    readonly pushes: number;
    /** Worker time per queue record, without Notion's and the renderer's time. */
    readonly perRecordMs: number;
    readonly perPushMs: number;
    /** Mean PATCH round trip to the simulator over loopback. */
    readonly patchRoundTripMs: number;
  };
}

const RESOURCE = 'task:1';
const attributes = (version: number): readonly unknown[] => [
  { id: 'title', name: 'Title', type: 'inline', inline: { title: { value: `Task 1 v${version}`, section: 'title' } } },
  {
    id: 'dev',
    name: 'Developer Name',
    type: 'inline',
    inline: { plain_text: { value: 'Bench', section: 'secondary' } },
  },
];

export const measureWorker = async (options: {
  readonly subscribers: number;
  readonly ratePerMinute: number;
}): Promise<WorkerFigures> => {
  const clock = new ManualClock(Date.UTC(2026, 0, 15, 12, 0, 0));
  const defaults = localDefaults(3000);
  const sim = await startRateLimitedSimulator(clock, options.ratePerMinute);
  try {
    const cipher = new LocalTokenCipher(decodeLocalKey(defaults[ENV.NOTION_TOKEN_ENCRYPTION_KEY] as string));
    const http = createExternalObjectClient({ baseUrl: sim.apiBaseUrl, notionVersion: '2021-08-16' });
    // Time with at least one PATCH in flight, and pushes per uri.
    let inFlight = 0;
    let busySince = 0;
    let busyMs = 0;
    let patchMs = 0;
    let patches = 0;
    const pushesByUri = new Map<string, number>();
    let lastAcceptedAt = 0;
    const notion: ExternalObjectApi = {
      async patch(token, update) {
        const start = performance.now();
        if (inFlight++ === 0) busySince = start;
        try {
          const answer = await http.patch(token, update);
          if (answer.kind === 'response' && answer.status === 200) {
            pushesByUri.set(update.uri, (pushesByUri.get(update.uri) ?? 0) + 1);
            lastAcceptedAt = Math.max(lastAcceptedAt, clock.now());
          }
          return answer;
        } finally {
          const end = performance.now();
          patchMs += end - start;
          patches++;
          if (--inFlight === 0) busyMs += end - busySince;
        }
      },
    };
    let version = 1;
    let renderMs = 0;
    const renderer: Renderer = {
      async render(): Promise<Rendered> {
        const start = performance.now();
        const rendered: Rendered = { kind: 'attributes', attributes: attributes(version) };
        renderMs += performance.now() - start;
        return rendered;
      },
    };

    const newWorld = () => {
      const stores = createMemoryStores();
      const worker = createUpdateWorker({
        clock,
        random: systemRandom,
        queue: stores.updateQueue,
        deadLetters: {
          send: async (letters) => {
            throw new Error(`unexpected dead letter: ${letters.map((l) => l.reason).join(', ')}`);
          },
        },
        markers: stores.authState,
        subscriptions: stores.subscriptions,
        connections: stores.connections,
        rateLimits: stores.rateLimits,
        cipher,
        notion,
        renderer,
        resolveUri: () => undefined,
        settings: { ratePerMinute: options.ratePerMinute },
      });
      const scheduled: Array<{ body: string; visibleAt: number; receiveCount: number; id: number }> = [];
      let seq = 0;
      let records = 0;
      let recordMs = 0;
      const collect = () => {
        for (const m of stores.updateQueue.drain())
          scheduled.push({ body: m.body, visibleAt: clock.now() + m.delaySeconds * 1000, receiveCount: 0, id: ++seq });
      };
      /** Delivers every message visible up to `until` (all of them when undefined), moving the clock. */
      const run = async (until?: number) => {
        for (;;) {
          collect();
          scheduled.sort((a, b) => a.visibleAt - b.visibleAt || a.id - b.id);
          const next = scheduled[0];
          if (!next || (until !== undefined && next.visibleAt > until)) break;
          scheduled.shift();
          if (next.visibleAt > clock.now()) clock.set(next.visibleAt);
          next.receiveCount++;
          const start = performance.now();
          try {
            await worker.processRecord(next.body, { messageId: `m-${next.id}`, receiveCount: next.receiveCount });
          } catch {
            next.visibleAt = clock.now() + 30_000; // the visibility timeout
            scheduled.push(next);
          }
          recordMs += performance.now() - start;
          records++;
        }
        if (until !== undefined && clock.now() < until) clock.set(until);
      };
      const connect = async (key: string): Promise<{ id: string; simId: string }> => {
        const made = sim.simulator.createConnection({ key });
        const id = `bench-${key}`;
        const now = clock.now();
        const connection = await benchConnection({
          id,
          key,
          subject: `u-${key}`,
          displayName: key,
          clientId: 'notion-local',
          made,
          cipher,
          now,
        });
        await stores.connections.create(connection);
        return { id, simId: made.connectionId };
      };
      const subscribe = async (connection: { id: string; simId: string }, uri: string) => {
        sim.simulator.addPreview(connection.simId, uri);
        const now = clock.now();
        await stores.subscriptions.upsert({
          resourceKey: RESOURCE,
          connectionId: connection.id,
          uri,
          createdAt: now,
          updatedAt: now,
        });
      };
      const change = (id: number) =>
        stores.updateQueue.send([
          {
            type: 'change',
            id: `bench-change-${id}`,
            resource: RESOURCE,
            changed_at: new Date(clock.now()).toISOString(),
          },
        ]);
      return { worker, run, connect, subscribe, change, stats: () => ({ records, recordMs }) };
    };

    // --- Fan-out: one change, N subscribers of one connection.
    sim.simulator.configure({ api: { rateLimit: options.ratePerMinute } }); // fresh rate windows
    sim.simulator.resetStats();
    const fan = newWorld();
    const conn = await fan.connect('fan-out');
    for (let i = 0; i < options.subscribers; i++)
      await fan.subscribe(conn, `http://127.0.0.1:3000/demo/tasks/1?subscriber=${i}`);
    version = 2;
    await fan.change(1);
    await fan.run(clock.now()); // the change opens the window
    const windowEnd = clock.now() + fan.worker.settings.coalesceWindowSeconds * 1000;
    pushesByUri.clear();
    busyMs = 0;
    patchMs = 0;
    patches = 0;
    renderMs = 0;
    lastAcceptedAt = windowEnd;
    const before = fan.stats();
    await fan.run();
    const after = fan.stats();
    const counters = sim.simulator.stats();
    const pushesAccepted = [...pushesByUri.values()].reduce((a, b) => a + b, 0);
    const floorMs = (options.subscribers / options.ratePerMinute) * 60_000;
    const timeToNotifyMs = lastAcceptedAt - windowEnd;
    const records = after.records - before.records;
    const workerMs = after.recordMs - before.recordMs - busyMs - renderMs;
    const fanOut = {
      subscribers: options.subscribers,
      pushesAccepted,
      patchCalls: counters.patchCalls,
      rateLimited: counters.rateLimited,
      rateLimitedShare: round(counters.rateLimited / Math.max(1, counters.patchCalls), 4),
      rateShareUsed: round(pushesAccepted / ((options.ratePerMinute * timeToNotifyMs) / 60_000), 4),
      timeToNotifyMs,
      floorMs: round(floorMs, 0),
      timeToFloorRatio: round(timeToNotifyMs / floorMs, 4),
      subscribersNotifiedOnce: [...pushesByUri.values()].filter((n) => n === 1).length,
    };
    const overhead = {
      records,
      pushes: patches,
      perRecordMs: round(workerMs / Math.max(1, records), 3),
      perPushMs: round(workerMs / Math.max(1, patches), 3),
      patchRoundTripMs: round(patchMs / Math.max(1, patches), 3),
    };

    // --- Coalescing: 100 changes to one resource within one window.
    sim.simulator.configure({ api: { rateLimit: options.ratePerMinute } });
    sim.simulator.resetStats();
    const co = newWorld();
    const windowMs = co.worker.settings.coalesceWindowSeconds * 1000;
    const coUris: string[] = [];
    for (let c = 0; c < 5; c++) {
      const connection = await co.connect(`coalesce-${c}`);
      for (let u = 0; u < 4; u++) {
        const uri = `http://127.0.0.1:3000/demo/tasks/1?c=${c}&u=${u}`;
        coUris.push(uri);
        await co.subscribe(connection, uri);
      }
    }
    pushesByUri.clear();
    const changes = 100;
    const step = Math.floor((windowMs * 0.9) / changes);
    for (let i = 0; i < changes; i++) {
      version = 100 + i;
      await co.change(100 + i);
      await co.run(clock.now());
      clock.advance(step);
    }
    await co.run();
    const perSubscriber = coUris.map((uri) => pushesByUri.get(uri) ?? 0);
    const coalescing = {
      changes,
      windowSeconds: windowMs / 1000,
      subscribers: coUris.length,
      maxPushesPerSubscriber: Math.max(...perSubscriber),
      minPushesPerSubscriber: Math.min(...perSubscriber),
    };
    return { ratePerMinute: options.ratePerMinute, fanOut, coalescing, overhead };
  } finally {
    await sim.stop();
  }
};
