/**
 * Helpers of the fault suites: a push ledger read from the Notion simulator's
 * protocol log, subscribers and push checks for the worker suites, and an
 * event source mapping stand-in that survives handler crashes and can deliver
 * each batch to two workers at once.
 */
import { DeleteMessageBatchCommand, type Message } from '@aws-sdk/client-sqs';
import { expect } from '@jest/globals';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { subscriptionStore } from '#adapters/dynamo/factory.js';
import type { Config } from '#shared/config.js';
import { lambdaContext } from '#test/helpers/factories.js';
import { queueDepth, type Rig, receive, toRecord } from '../updates/rig.js';

type Handler = (event: SQSEvent, context: ReturnType<typeof lambdaContext>) => Promise<SQSBatchResponse>;

/** Accepted PATCHes (status 200) per uri and exact payload. */
export const pushLedger = (rig: Rig): Map<string, number> => {
  const ledger = new Map<string, number>();
  for (const e of rig.sim.simulator.log.all()) {
    if (e.direction !== 'to-notion' || e.method !== 'PATCH' || !e.url?.endsWith('/v1/external/object')) continue;
    if (e.status !== 200) continue;
    const key = JSON.stringify(e.request?.body ?? null);
    ledger.set(key, (ledger.get(key) ?? 0) + 1);
  }
  return ledger;
};

/** Accepted PATCHes per simulator connection. */
export const acceptedBy = (rig: Rig, simConnectionId: string): number =>
  rig.sim.simulator.stats().connections.find((c) => c.connectionId === simConnectionId)?.byStatus[200] ?? 0;

/** n connections of ours, each previewing the task in a Notion connection of its own. */
export const subscribers = async (rig: Rig, prefix: string, task: string, n: number) => {
  const uri = rig.taskUrl(task);
  const sims: string[] = [];
  for (let i = 0; i < n; i++) {
    const { simConnectionId } = await rig.connect(`${prefix}-${i}`, 'u-alice', [uri]);
    sims.push(simConnectionId);
    await rig.subscribe(`task:${task}`, `${prefix}-${i}`, uri);
  }
  return { uri, sims };
};

/**
 * Holds once all n subscriptions of the task record a content hash other than
 * the one they had before; reads through `observer`, a client no fault touches.
 */
export const allRecorded =
  (observer: Config, task: string, n: number, hashesBefore: ReadonlyMap<string, string | undefined>) => async () => {
    const subs = (await subscriptionStore(observer).listByResource(`task:${task}`)).items;
    return (
      subs.length === n &&
      subs.every((s) => s.contentHash !== undefined && s.contentHash !== hashesBefore.get(s.connectionId))
    );
  };

/** Each simulator connection accepted exactly one push, and no payload with `title` went out more often than once per subscriber. */
export const expectEachPushedOnce = (rig: Rig, sims: readonly string[], title: string) => {
  for (const sim of sims) expect(acceptedBy(rig, sim)).toBe(1);
  const ledger = pushLedger(rig);
  const withTitle = [...ledger.entries()].filter(([payload]) => payload.includes(title));
  if (withTitle.length === 0)
    throw new Error(`no push carried "${title}": ${[...ledger.keys()].slice(-3).join(' | ').slice(0, 1500)}`);
  for (const [, count] of withTitle) expect(count).toBeLessThanOrEqual(sims.length);
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const remove = async (rig: Rig, messages: readonly Message[]): Promise<void> => {
  if (messages.length === 0) return;
  await rig.emulators.sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: rig.env.UPDATE_QUEUE_URL as string,
      Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
    }),
  );
};

export interface DeliveryOptions {
  /** Hand every batch to this many workers at once (a redelivery while the first is still working). */
  readonly copies?: number;
  readonly timeoutMs?: number;
}

/**
 * Polls until `done()` holds and the queue is empty. A handler that throws
 * acknowledges nothing (its whole batch comes back after the visibility
 * timeout), as with Lambda's event source mapping.
 */
export const deliverUntil = async (
  rig: Rig,
  handlers: readonly Handler[],
  done: () => boolean | Promise<boolean>,
  options: DeliveryOptions = {},
): Promise<{ crashes: number; batches: number }> => {
  const deadline = Date.now() + (options.timeoutMs ?? 18_000);
  let crashes = 0;
  let batches = 0;
  let turn = 0;
  while (Date.now() < deadline) {
    const messages = await receive(rig);
    if (messages.length === 0) {
      if ((await done()) && (await queueDepth(rig)) === 0) return { crashes, batches };
      await sleep(100);
      continue;
    }
    batches += 1;
    const event: SQSEvent = { Records: messages.map(toRecord) };
    const copies = Math.max(1, options.copies ?? 1);
    const runs = await Promise.allSettled(
      Array.from({ length: copies }, (_, i) => {
        const h = handlers[(turn + i) % handlers.length] as Handler;
        return h(event, lambdaContext());
      }),
    );
    turn += 1;
    const succeeded = new Set<string>();
    for (const run of runs) {
      if (run.status === 'rejected') {
        crashes += 1;
        continue;
      }
      const failed = new Set(run.value.batchItemFailures.map((f) => f.itemIdentifier));
      for (const m of messages) if (!failed.has(m.MessageId ?? '')) succeeded.add(m.MessageId ?? '');
    }
    await remove(
      rig,
      messages.filter((m) => succeeded.has(m.MessageId ?? '')),
    );
  }
  throw new Error(`the pipeline did not settle (queue depth ${await queueDepth(rig)})`);
};
