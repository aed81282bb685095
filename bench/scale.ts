/**
 * `scale`: one change to many subscribers spread over many connections (10,000
 * over 1,000 by default: 10 each), on one fake clock shared by the worker, its
 * token buckets and Notion's rate windows (as bench/worker.ts), but with the
 * worker's real DynamoDB stores (dynalite, through the local system's
 * configuration) so the DynamoDB requests it takes are counted
 * (bench/aws-count.ts).
 *
 * The worker is the production one (`workerFromConfig` of
 * functions/handlers/update-worker.ts) with four parts replaced: the clock
 * (fake), the update queue (in memory; a delayed message becomes visible when
 * the clock reaches it), Notion (a simulator on the same fake clock) and the
 * renderer (fixed attributes, as in bench/worker.ts: the product's time is not
 * the worker's). Visible messages are handed over in batches of up to 10, as
 * the stack's event source mapping does (batchSize 10), each batch one
 * invocation, its records processed concurrently (as Powertools' batch
 * processor does).
 *
 * The floor: each connection may push `ratePerMinute` a minute, so at that
 * steady rate its subscribers take subscribersPerConnection / rate minutes;
 * the slowest connection sets the floor for all. Notion lets a connection
 * spend its minute's budget at any pace, and the worker's bucket starts with
 * a burst (3 % of the rate, functions/core/updates/policy.ts), so with few
 * subscribers per connection the time can be under the floor.
 */
import { tokenCipherFromConfig } from '#adapters/crypto/token-cipher.js';
import { connectionStore, subscriptionStore } from '#adapters/dynamo/factory.js';
import { createMemoryStores } from '#adapters/memory/index.js';
import { createExternalObjectClient } from '#adapters/notion/external-object.js';
import type { ExternalObjectApi, Rendered, Renderer } from '#core/updates/ports.js';
import { ManualClock } from '#local/notion-simulator/clock.js';
import { startLocalSystem } from '#local/system.js';
import { getConfig } from '#shared/config.js';
import { workerFromConfig } from '../functions/handlers/update-worker.js';
import { serviceTotals } from './aws-count.js';
import { countAwsRequests } from './cost.js';
import { benchConnection, startRateLimitedSimulator } from './fixtures.js';
import { round } from './stats.js';

export interface ScaleFigures {
  readonly subscribers: number;
  readonly connections: number;
  readonly subscribersPerConnection: number;
  readonly ratePerMinute: number;
  readonly pushesAccepted: number;
  readonly subscribersNotifiedOnce: number;
  readonly patchCalls: number;
  readonly rateLimited: number;
  /** Simulated, from the end of the coalescing window to the last accepted push. */
  readonly timeToNotifyMs: number;
  /** subscribersPerConnection / rate: the slowest connection's least time. */
  readonly floorMs: number;
  readonly timeToFloorRatio: number;
  /** Batches handed to the worker (Lambda invocations at batch size 10) and the queue records in them. */
  readonly workerInvocations: number;
  readonly queueRecords: number;
  /** Messages the worker sent to the update queue (work items, deferrals). */
  readonly messagesSent: number;
  readonly dynamoRequests: number;
  readonly dynamoRequestsByOperation: Readonly<Record<string, number>>;
  readonly dynamoRequestsPerSubscriber: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  /** Wall time of the run (seeding excluded), seconds. */
  readonly wallSeconds: number;
}

const RESOURCE = 'task:1';
const BATCH = 10;

export const measureScale = async (options: {
  readonly subscribers: number;
  readonly connections: number;
  readonly ratePerMinute: number;
}): Promise<ScaleFigures> => {
  const counter = countAwsRequests();
  const perConnection = Math.ceil(options.subscribers / options.connections);
  const clock = new ManualClock(Date.UTC(2026, 0, 15, 12, 0, 0));
  const system = await startLocalSystem({
    port: 0,
    workerLoop: false,
    mounts: false,
    env: { LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true' },
    log: (level, message) => {
      if (level === 'error') process.stderr.write(`local system: ${message}\n`);
    },
  });
  const sim = await startRateLimitedSimulator(clock, options.ratePerMinute);
  try {
    const config = getConfig();
    const cipher = tokenCipherFromConfig(config);
    const queue = createMemoryStores().updateQueue;
    const http = createExternalObjectClient({ baseUrl: sim.apiBaseUrl, notionVersion: '2021-08-16' });
    const pushesByUri = new Map<string, number>();
    let lastAcceptedAt = 0;
    const notion: ExternalObjectApi = {
      async patch(token, update) {
        const answer = await http.patch(token, update);
        if (answer.kind === 'response' && answer.status === 200) {
          pushesByUri.set(update.uri, (pushesByUri.get(update.uri) ?? 0) + 1);
          lastAcceptedAt = Math.max(lastAcceptedAt, clock.now());
        }
        return answer;
      },
    };
    const renderer: Renderer = {
      async render(): Promise<Rendered> {
        return {
          kind: 'attributes',
          attributes: [
            { id: 'title', name: 'Title', type: 'inline', inline: { title: { value: 'Task 1 v2', section: 'title' } } },
            {
              id: 'dev',
              name: 'Developer Name',
              type: 'inline',
              inline: { plain_text: { value: 'Bench', section: 'secondary' } },
            },
          ],
        };
      },
    };
    const worker = workerFromConfig(config, {
      clock,
      queue,
      notion,
      renderer,
      deadLetters: {
        send: async (letters) => {
          throw new Error(`unexpected dead letter: ${letters.map((l) => l.reason).join(', ')}`);
        },
      },
      events: { record: () => undefined },
      settings: { ratePerMinute: options.ratePerMinute },
    });

    // --- Seeding (not counted): connections at Notion and here, subscriptions.
    const connections = connectionStore(config);
    const subscriptions = subscriptionStore(config);
    let seeded = 0;
    for (let c = 0; c < options.connections && seeded < options.subscribers; c++) {
      const made = sim.simulator.createConnection({ key: `scale-${c}` });
      const id = `scale-${c}`;
      const now = clock.now();
      const connection = await benchConnection({
        id,
        key: `scale-${c}`,
        subject: `u-scale-${c}`,
        displayName: `scale ${c}`,
        clientId: 'notion-local',
        made,
        cipher,
        now,
      });
      await connections.create(connection);
      const writes: Promise<unknown>[] = [];
      for (let s = 0; s < perConnection && seeded < options.subscribers; s++, seeded++) {
        const uri = `http://127.0.0.1:3000/demo/tasks/1?c=${c}&s=${s}`;
        sim.simulator.addPreview(made.connectionId, uri);
        writes.push(
          subscriptions.upsert({ resourceKey: RESOURCE, connectionId: id, uri, createdAt: now, updatedAt: now }),
        );
      }
      await Promise.all(writes);
    }

    // --- The run.
    const scheduled: Array<{ body: string; visibleAt: number; receiveCount: number; id: number }> = [];
    let seq = 0;
    let messagesSent = 0;
    const collect = () => {
      for (const m of queue.drain()) {
        messagesSent++;
        scheduled.push({ body: m.body, visibleAt: clock.now() + m.delaySeconds * 1000, receiveCount: 0, id: ++seq });
      }
    };
    let invocations = 0;
    let records = 0;
    const started = performance.now();
    const before = counter.snapshot();
    await queue.send([
      { type: 'change', id: 'scale-change-1', resource: RESOURCE, changed_at: new Date(clock.now()).toISOString() },
    ]);
    const windowEnd = clock.now() + worker.settings.coalesceWindowSeconds * 1000;
    lastAcceptedAt = windowEnd;
    const deadline = Date.now() + 20 * 60_000;
    for (;;) {
      collect();
      if (scheduled.length === 0) break;
      if (Date.now() > deadline) throw new Error('scale: the worker did not finish within 20 minutes');
      scheduled.sort((a, b) => a.visibleAt - b.visibleAt || a.id - b.id);
      const first = scheduled[0] as (typeof scheduled)[number];
      if (first.visibleAt > clock.now()) clock.set(first.visibleAt);
      const batch = scheduled.splice(0, Math.min(BATCH, scheduled.filter((m) => m.visibleAt <= clock.now()).length));
      invocations++;
      records += batch.length;
      await Promise.all(
        batch.map(async (m) => {
          m.receiveCount++;
          try {
            await worker.processRecord(m.body, { messageId: `m-${m.id}`, receiveCount: m.receiveCount });
          } catch {
            m.visibleAt = clock.now() + 30_000; // the visibility timeout
            scheduled.push(m);
          }
        }),
      );
    }
    const used = counter.since(before);
    const wallSeconds = round((performance.now() - started) / 1000, 1);
    const dynamo = serviceTotals(used, 'DynamoDB');
    const counters = sim.simulator.stats();
    const floorMs = (perConnection / options.ratePerMinute) * 60_000;
    const timeToNotifyMs = lastAcceptedAt - windowEnd;
    const pushesAccepted = [...pushesByUri.values()].reduce((a, b) => a + b, 0);
    return {
      subscribers: seeded,
      connections: Math.ceil(seeded / perConnection),
      subscribersPerConnection: perConnection,
      ratePerMinute: options.ratePerMinute,
      pushesAccepted,
      subscribersNotifiedOnce: [...pushesByUri.values()].filter((n) => n === 1).length,
      patchCalls: counters.patchCalls,
      rateLimited: counters.rateLimited,
      timeToNotifyMs,
      floorMs: round(floorMs, 0),
      timeToFloorRatio: round(timeToNotifyMs / floorMs, 4),
      workerInvocations: invocations,
      queueRecords: records,
      messagesSent,
      dynamoRequests: dynamo.requests,
      dynamoRequestsByOperation: Object.fromEntries(
        Object.entries(used)
          .filter(([k]) => k.startsWith('DynamoDB.'))
          .map(([k, v]) => [k.slice('DynamoDB.'.length), v.requests]),
      ),
      dynamoRequestsPerSubscriber: round(dynamo.requests / Math.max(1, seeded), 3),
      readUnits: round(dynamo.readUnits, 1),
      writeUnits: round(dynamo.writeUnits, 1),
      wallSeconds,
    };
  } finally {
    await sim.stop();
    await system.stop();
  }
};
