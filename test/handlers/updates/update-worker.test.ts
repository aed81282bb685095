import { describe, expect, it, jest } from '@jest/globals';
import type { NotionTokenRefresher } from '#core/oauth/ports.js';
import { LEASE_CLOCK_SKEW_MS, pushLeaseMs } from '#core/updates/deps.js';
import { UNFINISHED_CLAIM_HORIZON_MS } from '#core/updates/lease.js';
import { PUSHED_MARKER_TTL_MS } from '#core/updates/markers.js';
import { UPDATE_QUEUE } from '#lib/data-model.js';
import { needsOf } from '#lib/functions.js';
import { parseConfig } from '#shared/config.js';
import { ConfigError } from '#shared/errors.js';
import { logger } from '#shared/observability.js';
import { lambdaContext, sqsEvent, sqsRecord } from '#test/helpers/factories.js';
import { completeFunctionEnv } from '#test/helpers/function-env.js';
import { change, Harness, ok } from '#test/unit/updates/harness.js';
import { createWorkerHandler, recordWorkerEvent, workerFromConfig } from '../../../functions/handlers/update-worker.js';

describe('update-worker handler (Powertools batch)', () => {
  it('reports only the failing records, and dead-letters a poison record instead of failing it', async () => {
    const h = new Harness();
    h.product.set('task:1', 1);
    await h.connection('c0');
    await h.subscribe('task:1', 'c0', 'https://tasks.example.com/tasks/1');
    const original = h.stores.subscriptions.listByResource.bind(h.stores.subscriptions);
    h.stores.subscriptions.listByResource = async (resource, page) => {
      if (resource === 'task:broken') throw new Error('boom');
      return original(resource, page);
    };
    const handler = createWorkerHandler(() => h.worker);
    const now = h.clock.now();
    const res = await handler(
      sqsEvent([
        sqsRecord(change('task:1'), { messageId: 'ok-1' }),
        sqsRecord({ type: 'flush', resource: 'task:broken', window: 'w', until: now }, { messageId: 'bad-1' }),
        sqsRecord('this is not json', { messageId: 'poison-1' }),
        sqsRecord({ type: 'flush', resource: 'task:1', window: 'w', until: now }, { messageId: 'ok-2' }),
      ]),
      lambdaContext(),
    );
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'bad-1' }]);
    expect(h.deadLetters.map((d) => d.reason)).toEqual(['invalid_message']);
    expect(h.calls).toHaveLength(1);
  });

  it('logs each failed attempt of a record, with its message id, receive count and error', async () => {
    const h = new Harness();
    h.stores.subscriptions.listByResource = async () => {
      throw new Error('table down');
    };
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    try {
      const res = await createWorkerHandler(() => h.worker)(
        sqsEvent([
          sqsRecord({ type: 'flush', resource: 'a', window: 'w', until: h.clock.now() }, { messageId: 'm1' }),
          sqsRecord(change('task:1'), { messageId: 'ok' }),
        ]),
        lambdaContext(),
      );
      expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
      const failed = warn.mock.calls.filter(([message]) => message === 'worker.record_failed');
      expect(failed).toHaveLength(1);
      expect(failed[0]?.[1]).toMatchObject({ messageId: 'm1', receiveCount: 1, error: new Error('table down') });
    } finally {
      warn.mockRestore();
    }
  });

  it('a fully failed batch is reported record by record, not thrown', async () => {
    const h = new Harness();
    h.stores.subscriptions.listByResource = async () => {
      throw new Error('table down');
    };
    const handler = createWorkerHandler(() => h.worker);
    const now = h.clock.now();
    const res = await handler(
      sqsEvent([
        sqsRecord({ type: 'flush', resource: 'a', window: 'w', until: now }, { messageId: 'm1' }),
        sqsRecord({ type: 'flush', resource: 'b', window: 'w', until: now }, { messageId: 'm2' }),
      ]),
      lambdaContext(),
    );
    expect(res.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['m1', 'm2']);
  });

  it('on the last receive a failing record goes to the DLQ with its reason instead of failing', async () => {
    const h = new Harness({ settings: { maxReceiveCount: 5 } });
    h.stores.subscriptions.listByResource = async () => {
      throw new Error('table down');
    };
    const handler = createWorkerHandler(() => h.worker);
    const record = sqsRecord({ type: 'flush', resource: 'a', window: 'w', until: h.clock.now() }, { messageId: 'm1' });
    const res = await handler(
      sqsEvent([{ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '5' } }]),
      lambdaContext(),
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(h.deadLetters[0]).toMatchObject({
      reason: 'failed_repeatedly',
      receiveCount: 5,
      message: { type: 'flush', resource: 'a' },
    });
    expect(h.deadLetters[0]?.detail).toContain('table down');
  });
});

describe('update-worker composition', () => {
  const env = (extra: Record<string, string> = {}) =>
    parseConfig({
      ...completeFunctionEnv(),
      ...extra,
    });

  it("a push may take the source's deadline and one Notion request: the worker starts none with less left", () => {
    expect(workerFromConfig(env()).settings.pushMs).toBe(2_000 + 10_000);
    expect(workerFromConfig(env({ NOTION_TIMEOUT_MS: '4000', UNFURL_DEADLINE_MS: '1500' })).settings.pushMs).toBe(
      5_500,
    );
  });

  it("a push lease outlasts the worker's invocation as the stack declares its timeout, with a margin for clock skew", () => {
    const { settings } = workerFromConfig(env());
    const timeoutMs = (needsOf('update-worker').timeoutSeconds ?? 0) * 1000;
    expect(settings.invocationMs).toBe(timeoutMs);
    expect(pushLeaseMs(settings)).toBe(timeoutMs + LEASE_CLOCK_SKEW_MS);
    expect(LEASE_CLOCK_SKEW_MS).toBeGreaterThanOrEqual(1_000);
  });

  it("a delivery's markers outlive every redelivery of its message: longer than the update queue keeps it", () => {
    // A message can come back as late as the queue keeps it (an event source paused for days); a marker gone by
    // then would let that redelivery repeat its pushes, its next page or its dead letters.
    expect(PUSHED_MARKER_TTL_MS).toBeGreaterThan(UPDATE_QUEUE.retentionSeconds * 1000);
    // A claim older than the horizon counts as pushed without a read: its holder's marker must still be there.
    expect(UNFINISHED_CLAIM_HORIZON_MS).toBeLessThan(PUSHED_MARKER_TTL_MS / 2);
  });

  it('settings under which no push fits in the worker’s invocation fail its init, naming them', () => {
    const build = () => workerFromConfig(env({ NOTION_TIMEOUT_MS: '9000', UNFURL_DEADLINE_MS: '12000' }));
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(/NOTION_TIMEOUT_MS \(9000\) \+ UNFURL_DEADLINE_MS \(12000\) must be at most 20000 ms/);
    // A refresh after a 401 and the push after it are two Notion requests.
    expect(() => workerFromConfig(env({ NOTION_TIMEOUT_MS: '12000' }))).toThrow(
      /NOTION_TIMEOUT_MS \(12000\) must be at most 10000 ms: a refresh/,
    );
  });

  it.each([
    ['the longest Notion timeout', 'NOTION_TIMEOUT_MS', { UNFURL_DEADLINE_MS: '1000' }],
    ['the longest source deadline', 'UNFURL_DEADLINE_MS', { NOTION_TIMEOUT_MS: '1000' }],
  ])(
    'under %s the init accepts, a record that spent its reserve before its first push still pushes, and refreshes after a 401',
    async (_, name, others) => {
      // The largest value the init accepts, in steps of 100 ms (above it, init refuses: never a loop of deferrals).
      let value = 60_000;
      const accepted = (v: number) => {
        try {
          return workerFromConfig(env({ ...others, [name]: String(v) })).settings;
        } catch (error) {
          if (error instanceof ConfigError) return undefined;
          throw error;
        }
      };
      let settings = accepted(value);
      while (!settings && value > 100) {
        value -= 100;
        settings = accepted(value);
      }
      expect(settings).toBeDefined();
      const { invocationMs, reserveMs, pushMs } = settings as NonNullable<typeof settings>;
      const requestMs = name === 'NOTION_TIMEOUT_MS' ? value : 1_000;
      const presented: string[] = [];
      const notionRefresher: NotionTokenRefresher = {
        refresh: async (refreshToken) => {
          presented.push(refreshToken);
          return { outcome: 'refreshed', accessToken: 'access-1', refreshToken: 'refresh-1' };
        },
      };
      // Each record has already spent the reserve (its page Query, its read-ahead) when it comes to its pushes.
      const h = new Harness({
        settings: { invocationMs, reserveMs, pushMs },
        notionRefresher,
        notionRequestTimeoutMs: requestMs,
        remainingMs: () => invocationMs - reserveMs,
      });
      // The stored access token has expired: Notion answers 401 until the refreshed one is sent.
      h.answer = (call) => (call.token === 'access-1' ? ok : { kind: 'response', status: 401, code: 'unauthorized' });
      await h.connection('c0', 'ws-1', 'active', 'refresh-0');
      h.product.set('task:1', 1);
      await h.subscribe('task:1', 'c0', 'https://tasks.example.com/tasks/1');
      await h.publish(change('task:1'));
      await h.drain(50);
      expect(presented).toEqual(['refresh-0']);
      expect(h.eventsNamed('pushed')).toHaveLength(1);
    },
  );
});

describe('update-worker events', () => {
  it('what degrades the work without failing it is a WARN line, routine outcomes stay DEBUG', () => {
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const debug = jest.spyOn(logger, 'debug').mockImplementation(() => undefined);
    try {
      for (const event of ['delivery_log_failed', 'pushed_marker_failed', 'page_marker_failed', 'read_ahead_failed'])
        recordWorkerEvent(event, { detail: 'ProvisionedThroughputExceededException: throttled' });
      recordWorkerEvent('push_unchanged', { resource: 'task:1' });
      expect(warn.mock.calls.map(([message]) => message)).toEqual([
        'delivery_log_failed',
        'pushed_marker_failed',
        'page_marker_failed',
        'read_ahead_failed',
      ]);
      expect(debug.mock.calls.map(([message]) => message)).toEqual(['push_unchanged']);
    } finally {
      warn.mockRestore();
      debug.mockRestore();
    }
  });
});
